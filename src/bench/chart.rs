//! The ratios as an SVG bar chart, on a log scale around 1× (same as the baseline): a bar
//! to the left is faster than its baseline, to the right slower.

use std::fmt::Write as _;

use super::report::ratio_text;
use super::scenarios::Scenario;

const ROW: f64 = 26.0;
const LABEL: f64 = 430.0;
const PLOT: f64 = 420.0;
const TOP: f64 = 56.0;
/// The scale: 10^-3 to 10^1.
const LOG_MIN: f64 = -3.0;
const LOG_MAX: f64 = 1.0;

fn x_of(ratio: f64) -> f64 {
    let l = ratio.log10().clamp(LOG_MIN, LOG_MAX);
    LABEL + (l - LOG_MIN) / (LOG_MAX - LOG_MIN) * PLOT
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar per (scenario, baseline) ratio.
pub fn svg(scenarios: &[Scenario], title: &str) -> String {
    let bars: Vec<(String, f64)> = scenarios
        .iter()
        .flat_map(|s| {
            s.ratios
                .iter()
                .map(move |r| (format!("{} vs {}", s.id.name(), r.baseline), r.ratio))
        })
        .collect();
    let height = TOP + ROW * bars.len().max(1) as f64 + 40.0;
    let width = LABEL + PLOT + 90.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
         <text x=\"10\" y=\"40\" fill=\"#555\">median time over the baseline's median, log scale; \
         left of 1× is faster than the baseline</text>",
        escape(title)
    );
    // Grid: one line per decade, 1× emphasised.
    let bottom = TOP + ROW * bars.len().max(1) as f64;
    for decade in (LOG_MIN as i32)..=(LOG_MAX as i32) {
        let r = 10f64.powi(decade);
        let x = x_of(r);
        let (stroke, w) = if decade == 0 {
            ("#333", 1.5)
        } else {
            ("#ccc", 1.0)
        };
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{stroke}\" stroke-width=\"{w}\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            bottom + 16.0,
            ratio_text(r)
        );
    }
    let one = x_of(1.0);
    for (i, (label, ratio)) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let x = x_of(*ratio);
        let (from, to) = if x < one { (x, one) } else { (one, x) };
        let colour = if *ratio <= 1.0 { "#2b8a3e" } else { "#c92a2a" };
        let _ = writeln!(
            out,
            "<g><title>{}: {}</title>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect class=\"bar\" x=\"{from:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            escape(label),
            ratio_text(*ratio),
            LABEL - 8.0,
            y + ROW * 0.65,
            escape(label),
            y + 4.0,
            (to - from).max(1.0),
            ROW - 8.0,
            LABEL + PLOT + 6.0,
            y + ROW * 0.65,
            ratio_text(*ratio)
        );
    }
    out.push_str("</svg>\n");
    out
}
