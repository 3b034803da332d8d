//! Line charts as self-contained SVG: response times and system metrics, drawn on the server so
//! the page needs no script to show them. Colours follow `currentColor` and the reader's colour
//! scheme; the chart describes itself in words for screen readers.

use chrono::{DateTime, TimeDelta, Utc};
use std::fmt::Write;

/// How a chart is drawn.
#[derive(Clone, Debug)]
pub struct ChartOptions {
    pub title: String,
    /// Unit after values, e.g. ` ms`.
    pub suffix: String,
    pub decimal_places: u8,
    pub y_min: Option<f64>,
    pub y_max: Option<f64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub width: u32,
    pub height: u32,
}

const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 28.0;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64, decimals: u8) -> String {
    format!("{:.*}", usize::from(decimals), v)
}

/// Averages `points` into `buckets` equal slices of `[from, to)`; empty slices are left out, so a
/// gap in the data stays a gap.
pub fn bucket(
    points: &[(DateTime<Utc>, f64)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buckets: usize,
) -> Vec<(DateTime<Utc>, f64)> {
    let span = (to - from).num_milliseconds();
    if buckets == 0 || span <= 0 {
        return Vec::new();
    }
    let mut sums = vec![(0.0f64, 0u32); buckets];
    for (at, v) in points {
        if *at < from || *at >= to || !v.is_finite() {
            continue;
        }
        let offset = (*at - from).num_milliseconds();
        let i = usize::try_from(offset.saturating_mul(buckets as i64) / span).unwrap_or(0);
        if let Some(slot) = sums.get_mut(i.min(buckets - 1)) {
            slot.0 += v;
            slot.1 += 1;
        }
    }
    let width = span / buckets as i64;
    sums.iter()
        .enumerate()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(i, (sum, n))| {
            let start = from + TimeDelta::milliseconds(width * i as i64 + width / 2);
            (start, sum / f64::from(*n))
        })
        .collect()
}

/// A line chart of `points` (oldest first). Points further apart than three times the typical
/// spacing start a new line, so missing data shows as a gap.
pub fn line_chart(points: &[(DateTime<Utc>, f64)], opts: &ChartOptions) -> String {
    let (w, h) = (
        f64::from(opts.width.max(200)),
        f64::from(opts.height.max(100)),
    );
    let plot_w = w - LEFT - RIGHT;
    let plot_h = h - TOP - BOTTOM;
    let values: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    let (min, max, mean) = if values.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max, values.iter().sum::<f64>() / values.len() as f64)
    };
    let y_lo = opts.y_min.unwrap_or(min.min(0.0));
    // Four steps of a round size (1, 2 or 5 times a power of ten) that hold the highest value.
    let step = nice_step(((opts.y_max.unwrap_or(max) - y_lo) / 4.0).max(f64::EPSILON));
    let y_hi = match opts.y_max {
        Some(hi) if hi > y_lo => hi,
        _ => y_lo + step * 4.0,
    };
    // Enough decimals for the step, at least the metric's own.
    let d = opts
        .decimal_places
        .max(if step < 1.0 {
            (-step.log10().floor()) as u8
        } else {
            0
        })
        .min(6);
    let span_ms = (opts.to - opts.from).num_milliseconds().max(1) as f64;
    let x =
        |t: DateTime<Utc>| LEFT + ((t - opts.from).num_milliseconds() as f64 / span_ms) * plot_w;
    let y = |v: f64| TOP + plot_h - ((v.clamp(y_lo, y_hi) - y_lo) / (y_hi - y_lo)) * plot_h;
    let suffix = &opts.suffix;

    let description = if values.is_empty() {
        "No data in this period.".to_string()
    } else {
        format!(
            "{} values; lowest {}{suffix}, mean {}{suffix}, highest {}{suffix}.",
            values.len(),
            number(min, d),
            number(mean, d),
            number(max, d)
        )
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"t d\">\
         <title id=\"t\">{}</title><desc id=\"d\">{}</desc>\
         <style>text{{font:11px system-ui,sans-serif;fill:#57606a}}.grid{{stroke:#d0d7de;stroke-width:1}}\
         .line{{fill:none;stroke:#0969da;stroke-width:2;stroke-linejoin:round}}.head{{font-weight:600;fill:#1f2328}}\
         @media (prefers-color-scheme: dark){{text{{fill:#9ea7b3}}.head{{fill:#e6edf3}}.grid{{stroke:#30363d}}.line{{stroke:#4493f8}}}}</style>",
        escape(&opts.title),
        escape(&description)
    );
    let _ = write!(
        svg,
        "<text class=\"head\" x=\"{LEFT}\" y=\"16\">{}</text>",
        escape(&opts.title)
    );
    // Horizontal grid lines with their values.
    for i in 0..=4 {
        let v = y_lo + (y_hi - y_lo) * f64::from(i) / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>",
            w - RIGHT
        );
        // Values only when there is data to read against them.
        if !values.is_empty() {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{}</text>",
                LEFT - 6.0,
                yy + 4.0,
                number(v, d),
                escape(suffix)
            );
        }
    }
    // Time labels: hours within a day, dates beyond.
    let short = opts.to - opts.from <= TimeDelta::days(1);
    for i in 0..=4 {
        let t = opts.from + TimeDelta::milliseconds((span_ms * f64::from(i) / 4.0) as i64);
        let mut label = if short {
            t.format("%H:%M").to_string()
        } else {
            t.format("%b %-d").to_string()
        };
        if i == 4 {
            label.push_str(" UTC");
        }
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{label}</text>",
            x(t),
            h - 8.0
        );
    }
    if values.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">No data in this period</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    } else {
        for run in runs(points) {
            let mut line = String::new();
            for (t, v) in run {
                let _ = write!(line, "{:.1},{:.1} ", x(*t), y(*v));
            }
            if run.len() == 1 {
                let (t, v) = run[0];
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"currentColor\"/>",
                    x(t),
                    y(v)
                );
            } else {
                let _ = write!(
                    svg,
                    "<polyline class=\"line\" points=\"{}\"/>",
                    line.trim_end()
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let base = 10f64.powf(raw.log10().floor());
    let f = raw / base;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// Splits points into runs without large gaps.
fn runs(points: &[(DateTime<Utc>, f64)]) -> Vec<&[(DateTime<Utc>, f64)]> {
    let points_ok: Vec<usize> = (0..points.len())
        .filter(|i| points[*i].1.is_finite())
        .collect();
    if points_ok.len() != points.len() {
        // Non-finite values split the series like gaps do.
        let mut out = Vec::new();
        let mut start = None;
        for i in 0..=points.len() {
            let ok = i < points.len() && points[i].1.is_finite();
            match (ok, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.extend(runs(&points[s..i]));
                    start = None;
                }
                _ => {}
            }
        }
        return out;
    }
    if points.len() < 2 {
        return if points.is_empty() {
            Vec::new()
        } else {
            vec![points]
        };
    }
    let mut gaps: Vec<i64> = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).num_milliseconds())
        .collect();
    gaps.sort_unstable();
    let typical = gaps[gaps.len() / 2].max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if (points[i].0 - points[i - 1].0).num_milliseconds() > typical * 3 {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out.push(&points[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).expect("time") + TimeDelta::minutes(minutes)
    }

    fn opts(title: &str) -> ChartOptions {
        ChartOptions {
            title: title.into(),
            suffix: " ms".into(),
            decimal_places: 0,
            y_min: Some(0.0),
            y_max: None,
            from: t(0),
            to: t(60),
            width: 720,
            height: 200,
        }
    }

    #[test]
    fn draws_one_line_per_run_and_describes_itself() {
        let mut points: Vec<_> = (0..10).map(|i| (t(i), 100.0 + i as f64)).collect();
        points.extend((40..50).map(|i| (t(i), 200.0)));
        let svg = line_chart(&points, &opts("Response <time> & more"));
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2, "a gap splits the line");
        assert!(svg.contains("Response &lt;time&gt; &amp; more"));
        assert!(svg.contains("lowest 100 ms"));
        assert!(svg.contains("highest 200 ms"));
        assert!(svg.contains("prefers-color-scheme: dark"));
    }

    #[test]
    fn the_axis_uses_round_steps() {
        let points: Vec<_> = (0..10).map(|i| (t(i), 0.3 + i as f64 * 0.05)).collect();
        let svg = line_chart(&points, &opts("Small values"));
        // Up to 0.75: steps of 0.2 up to 0.8, labelled with one decimal.
        assert!(svg.contains(">0.8 ms<"), "{svg}");
        assert!(svg.contains(">0.2 ms<"), "{svg}");
        let big: Vec<_> = (0..10).map(|i| (t(i), 100.0 + i as f64 * 30.0)).collect();
        let svg = line_chart(&big, &opts("Big values"));
        assert!(svg.contains(">400 ms<"), "{svg}");
    }

    #[test]
    fn an_empty_series_says_so() {
        let svg = line_chart(&[], &opts("Nothing"));
        assert!(svg.contains("No data in this period"));
        assert!(!svg.contains("<polyline"));
    }

    #[test]
    fn buckets_average_and_keep_gaps() {
        let points = vec![(t(0), 10.0), (t(1), 20.0), (t(50), 5.0), (t(70), 1.0)];
        let b = bucket(&points, t(0), t(60), 6);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].1, 15.0);
        assert_eq!(b[1].1, 5.0);
        assert!(bucket(&points, t(0), t(0), 6).is_empty());
    }
}
