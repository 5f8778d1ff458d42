//! The bench report: JSON for scripts, markdown for docs/, a table for the terminal.

use std::fmt::Write as _;

use serde::Serialize;

use super::scenarios::Scenario;

#[derive(Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_total_bytes: Option<u64>,
    pub rustc: String,
    pub python: String,
}

#[derive(Serialize)]
pub struct Report {
    /// The command line that produced this report.
    pub command: String,
    pub maou_build: &'static str,
    pub workspace: String,
    /// Variables every command ran with, pointing into the copy's own caches.
    pub sandbox_env: Vec<String>,
    pub runs: usize,
    pub jobs: usize,
    pub mem_limit_bytes: u64,
    /// Why the memory cap was not applied, if it was not.
    pub cgroup_unavailable: Option<String>,
    pub machine: Machine,
    pub started: String,
    pub total_seconds: f64,
    pub interrupted: bool,
    pub scenarios: Vec<Scenario>,
}

fn secs(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x < 10.0 {
        format!("{x:.2} s")
    } else {
        format!("{x:.1} s")
    }
}

fn spread(s: &super::Series) -> String {
    if s.seconds.len() <= 1 {
        secs(s.median)
    } else {
        format!(
            "{} ({}–{})",
            secs(s.median),
            secs(s.min).trim_end_matches(" s"),
            secs(s.max)
        )
    }
}

/// What a scenario without a baseline reports besides its time.
fn summary(s: &Scenario) -> String {
    let mut parts = Vec::new();
    if let Some(peak) = s.facts.get("peak_rss_bytes").and_then(|v| v.as_u64()) {
        let limit = s.facts.get("mem_limit_bytes").and_then(|v| v.as_u64());
        parts.push(match limit {
            Some(l) => format!(
                "peak RSS {} in a {} cap",
                crate::resources::gib(peak),
                crate::resources::gib(l)
            ),
            None => format!("peak RSS {}", crate::resources::gib(peak)),
        });
    }
    if let Some(n) = s.facts.get("rustc_invocations").and_then(|v| v.as_u64()) {
        parts.push(format!("{n} rustc runs"));
    }
    if let Some(v) = s.facts.get("cgroup").and_then(|v| v.as_str()) {
        parts.push(format!("cgroup {v}"));
    }
    parts.join(", ")
}

/// The scenario's ratio to baseline `b`, as text.
fn ratio_to(s: &Scenario, b: &super::Series) -> String {
    s.ratios
        .iter()
        .find(|r| r.baseline == b.label)
        .map(|r| ratio_text(r.ratio))
        .unwrap_or_default()
}

pub fn ratio_text(r: f64) -> String {
    if r < 0.01 {
        let text = format!("{r:.4}");
        format!("{}×", text.trim_end_matches('0'))
    } else if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

/// One line per scenario and baseline, for the terminal.
pub fn table(report: &Report) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "scenario".into(),
        "median (min–max)".into(),
        "baseline".into(),
        "baseline median".into(),
        "ratio".into(),
    ]];
    for s in &report.scenarios {
        let name = s.id.name().to_owned();
        if let Some(e) = &s.error {
            rows.push([
                name,
                format!("FAILED at {}", e.step),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        }
        if let Some(why) = &s.skipped {
            rows.push([
                name,
                format!("skipped: {why}"),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        }
        let Some(subject) = &s.subject else { continue };
        if s.baselines.is_empty() {
            rows.push([
                name.clone(),
                spread(subject),
                summary(s),
                String::new(),
                String::new(),
            ]);
        }
        for (i, b) in s.baselines.iter().enumerate() {
            let ratio = ratio_to(s, b);
            rows.push([
                if i == 0 { name.clone() } else { String::new() },
                if i == 0 {
                    spread(subject)
                } else {
                    String::new()
                },
                b.label.clone(),
                spread(b),
                ratio,
            ]);
        }
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for s in &report.scenarios {
        for c in &s.checks {
            let _ = writeln!(
                out,
                "{}: {} {}",
                s.id.name(),
                if c.ok { "ok:" } else { "FAILED:" },
                c.what
            );
        }
    }
    out
}

/// The markdown report: how it was made, the results, each command, the chart.
pub fn markdown(report: &Report, svg_name: Option<&str>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# maou-build bench\n");
    let _ = writeln!(
        md,
        "Produced by `{}` (maou-build {}), on a copy of `{}` in a temporary directory with \
         caches of its own: every command below ran in the copy with {} pointing there. Each \
         time is wall-clock, {} run(s) per series: the median, with min–max. A ratio is the \
         scenario's median over the baseline's median, both measured in this run.\n",
        report.command,
        report.maou_build,
        report.workspace,
        report
            .sandbox_env
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        report.runs
    );
    let _ = writeln!(
        md,
        "Machine: {} cores, {} memory, {}, CPython {}. develop's jobs: {}. Started {}; the \
         whole run took {:.0} s.{}\n",
        report.machine.cores,
        report
            .machine
            .memory_total_bytes
            .map_or("unknown".into(), crate::resources::gib),
        report.machine.rustc,
        report.machine.python,
        report.jobs,
        report.started,
        report.total_seconds,
        if report.interrupted {
            " **Interrupted: the results are partial.**"
        } else {
            ""
        }
    );
    if let Some(why) = &report.cgroup_unavailable {
        let _ = writeln!(md, "No memory cap was applied: {why}.\n");
    }
    if let Some(svg) = svg_name {
        let _ = writeln!(md, "![ratios of each scenario to its baseline]({svg})\n");
    }
    results_table(&mut md, report);
    details_section(&mut md, report);
    md
}

/// The table of results: each scenario's median against each baseline's, with the ratio.
fn results_table(md: &mut String, report: &Report) {
    let _ = writeln!(
        md,
        "| scenario | median (min–max) | baseline | baseline median (min–max) | ratio |\n|---|---|---|---|---|"
    );
    for s in &report.scenarios {
        let name = format!("`{}`: {}", s.id.name(), s.title);
        if let Some(e) = &s.error {
            let _ = writeln!(md, "| {name} | **failed** at {} | | | |", e.step);
            continue;
        }
        if let Some(why) = &s.skipped {
            let _ = writeln!(md, "| {name} | skipped: {why} | | | |");
            continue;
        }
        let Some(subject) = &s.subject else { continue };
        if s.baselines.is_empty() {
            let _ = writeln!(md, "| {name} | {} | {} | | |", spread(subject), summary(s));
        }
        for (i, b) in s.baselines.iter().enumerate() {
            let ratio = ratio_to(s, b);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {ratio} |",
                if i == 0 { name.as_str() } else { "" },
                if i == 0 {
                    spread(subject)
                } else {
                    String::new()
                },
                b.label,
                spread(b)
            );
        }
    }
}

/// Each scenario's series with their times and commands, facts and checks.
fn details_section(md: &mut String, report: &Report) {
    let _ = writeln!(md, "\n## Details\n");
    for s in &report.scenarios {
        let _ = writeln!(md, "### `{}`: {}\n", s.id.name(), s.title);
        if let Some(e) = &s.error {
            let _ = writeln!(
                md,
                "Failed at {}: `{}`\n\n```\n{}\n```\n",
                e.step,
                e.command,
                super::tail(&e.output, 40)
            );
            continue;
        }
        for series in s.subject.iter().chain(&s.baselines) {
            let times: Vec<String> = series.seconds.iter().map(|t| format!("{t:.2}")).collect();
            let _ = writeln!(
                md,
                "- {}: {} s\n  ```sh\n  {}\n  ```",
                series.label,
                times.join(", "),
                series.command
            );
        }
        for (k, v) in &s.facts {
            let _ = writeln!(md, "- {k}: {}", fact(k, v));
        }
        for c in &s.checks {
            let _ = writeln!(
                md,
                "- check: {} — {}",
                c.what,
                if c.ok { "ok" } else { "**failed**" }
            );
        }
        let _ = writeln!(md);
    }
}

fn fact(key: &str, v: &serde_json::Value) -> String {
    match v {
        // Memory (peaks, limits) in GiB.
        serde_json::Value::Number(n)
            if key.ends_with("_bytes") && (key.starts_with("peak_") || key.starts_with("mem_")) =>
        {
            n.as_u64().map_or(n.to_string(), crate::resources::gib)
        }
        // Files (the extension, a wheel): in MB (10^6 bytes), the unit the extension's
        // size goal is stated in.
        serde_json::Value::Number(n) if key.ends_with("_bytes") => n
            .as_u64()
            .map_or(n.to_string(), |b| format!("{:.1} MB", b as f64 / 1e6)),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The ci-chain replay as text: per scenario, each step's seconds and what it compiled.
pub fn replay_table(r: &crate::replay::Report) -> String {
    let mut out = String::new();
    for s in &r.scenarios {
        out.push_str(&format!("{} ({}): {:.0} s\n", s.name, s.title, s.seconds));
        for step in &s.steps {
            let what = if !step.built {
                "unchanged, from the store".to_owned()
            } else if step.compiled.is_empty() {
                "built, compiled nothing".to_owned()
            } else {
                let mut shown: Vec<&str> =
                    step.compiled.iter().map(String::as_str).take(12).collect();
                if step.compiled.len() > 12 {
                    shown.push("...");
                }
                format!(
                    "compiled {} crates: {}",
                    step.compiled.len(),
                    shown.join(" ")
                )
            };
            out.push_str(&format!(
                "  {:<12} {:>7.1} s  {what}\n",
                step.name, step.seconds
            ));
        }
    }
    for l in &r.lead_times {
        out.push_str(&format!(
            "lead time, {}: {:.0} s on {} cores; estimate for 4 cores: {:.0} s\n",
            l.scenario, l.seconds, r.cores, l.four_core_estimate_seconds
        ));
    }
    if let Some(Err(why)) = &r.wheel_check {
        out.push_str(&format!(
            "wheels not compared with `maou-build wheel`'s: {why}\n"
        ));
    }
    if let Some(Ok(c)) = &r.wheel_check {
        out.push_str(&format!(
            "wheels against `maou-build wheel` in a separate checkout (SOURCE_DATE_EPOCH={}, {:.0} s): {}\n",
            c.epoch,
            c.seconds,
            if c.identical { "byte-identical" } else { "DIFFERENT" }
        ));
        for w in &c.wheels {
            let sha = |s: &Option<String>| {
                s.as_deref()
                    .map_or("missing", |s| &s[..16.min(s.len())])
                    .to_owned()
            };
            out.push_str(&format!(
                "  {}  chain {}  checkout {}\n",
                w.file,
                sha(&w.chain_sha256),
                sha(&w.checkout_sha256)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_read_at_every_scale() {
        assert_eq!(ratio_text(0.001), "0.001×");
        assert_eq!(ratio_text(0.0021), "0.0021×");
        assert_eq!(ratio_text(0.25), "0.25×");
        assert_eq!(ratio_text(1.0), "1.00×");
        assert_eq!(ratio_text(12.4), "12×");
    }
}
