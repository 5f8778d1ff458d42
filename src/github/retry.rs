//! When to retry: what GitHub documents as transient (5xx, 429, a 403 with rate-limit
//! headers), and how long to wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest backoff between two attempts when the server gave no hint.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The headers GitHub uses to say when to come back.
#[derive(Clone, Default)]
pub(super) struct RetryHints {
    pub(super) retry_after: Option<String>,
    pub(super) remaining: Option<String>,
    pub(super) reset: Option<String>,
}

impl RetryHints {
    pub(super) fn rate_limited(&self) -> bool {
        self.remaining.as_deref() == Some("0") || self.retry_after.is_some()
    }
}

/// A wait before a retry, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wait {
    pub(super) duration: Duration,
    /// GitHub asked for it (Retry-After, x-ratelimit-reset); else it is our own backoff.
    pub(super) asked: bool,
}

impl Wait {
    fn asked(duration: Duration) -> Wait {
        Wait {
            duration,
            asked: true,
        }
    }

    pub(super) fn backoff(attempt: u32) -> Wait {
        Wait {
            duration: backoff(attempt),
            asked: false,
        }
    }
}

/// Seconds until `x-ratelimit-reset` when `x-ratelimit-remaining` is below `needed`.
pub(super) fn until_reset(hints: &RetryHints, needed: u64) -> Option<Duration> {
    let remaining: u64 = hints.remaining.as_deref()?.trim().parse().ok()?;
    if remaining >= needed {
        return None;
    }
    let reset: u64 = hints.reset.as_deref()?.trim().parse().ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

/// How long to wait before retrying an answer with `status`, or None if it must not be
/// retried. GitHub's documented rules: honour `Retry-After`; when
/// `x-ratelimit-remaining` is 0, wait until `x-ratelimit-reset`; else back off
/// exponentially. 403 is retried only when it is a rate limit, never as a permission error.
pub(super) fn retry_wait(status: u16, hints: &RetryHints, attempt: u32) -> Option<Wait> {
    let retryable = status >= 500 || status == 429 || (status == 403 && hints.rate_limited());
    if !retryable {
        return None;
    }
    if let Some(secs) = hints
        .retry_after
        .as_deref()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Wait::asked(Duration::from_secs(secs)));
    }
    if let Some(wait) = until_reset(hints, 1) {
        return Some(Wait::asked(wait));
    }
    Some(Wait::backoff(attempt))
}

/// 1 s, 2 s, 4 s, ... up to a minute.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_githubs_rules() {
        let none = RetryHints::default();
        assert_eq!(retry_wait(404, &none, 1).map(|w| w.duration), None);
        assert_eq!(retry_wait(422, &none, 1).map(|w| w.duration), None);
        assert_eq!(
            retry_wait(403, &none, 1).map(|w| w.duration),
            None,
            "a permission error"
        );
        assert_eq!(retry_wait(500, &none, 1), Some(Wait::backoff(1)));
        assert!(!Wait::backoff(1).asked);
        assert_eq!(
            retry_wait(502, &none, 3).map(|w| w.duration),
            Some(Duration::from_secs(4))
        );
        let after = RetryHints {
            retry_after: Some("7".into()),
            ..RetryHints::default()
        };
        assert_eq!(
            retry_wait(403, &after, 1),
            Some(Wait::asked(Duration::from_secs(7)))
        );
        assert_eq!(
            retry_wait(429, &after, 1),
            Some(Wait::asked(Duration::from_secs(7)))
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let reset = RetryHints {
            remaining: Some("0".into()),
            reset: Some((now + 30).to_string()),
            ..RetryHints::default()
        };
        let wait = retry_wait(403, &reset, 1).unwrap().duration.as_secs();
        assert_eq!(
            until_reset(&reset, 3).map(|w| w.as_secs() >= 30),
            Some(true)
        );
        assert_eq!(
            until_reset(
                &RetryHints {
                    remaining: Some("5".into()),
                    ..reset.clone()
                },
                3
            ),
            None
        );
        assert!((30..=31).contains(&wait), "{wait}");
        assert_eq!(backoff(20), MAX_BACKOFF);
    }
}
