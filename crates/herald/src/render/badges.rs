//! Status badges: `/badge.svg` for the page and `/components/{id}/badge.svg` for each component
//! (groups included, with their worst status), plus the same as shields.io "endpoint" JSON at
//! `badge.json`, for people who style their badges through shields.io.

use super::feeds::xml_safe;
use super::{RenderContext, Rendered, JSON};
use herald_core::{ComponentStatus, Indicator};
use serde::Serialize;

/// Content type of the SVG badges.
pub const SVG: &str = "image/svg+xml; charset=utf-8";

/// The colours a badge can take, named as shields.io names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Colour {
    Green,
    Yellow,
    Orange,
    Red,
    Blue,
}

impl Colour {
    /// The shields.io colour name.
    fn name(self) -> &'static str {
        match self {
            Colour::Green => "brightgreen",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Red => "red",
            Colour::Blue => "blue",
        }
    }

    fn hex(self) -> &'static str {
        match self {
            Colour::Green => "#44cc11",
            Colour::Yellow => "#dfb317",
            Colour::Orange => "#fe7d37",
            Colour::Red => "#e05d44",
            Colour::Blue => "#007ec6",
        }
    }

    fn of_indicator(i: Indicator) -> Colour {
        match i {
            Indicator::None => Colour::Green,
            Indicator::Minor => Colour::Yellow,
            Indicator::Major => Colour::Orange,
            Indicator::Critical => Colour::Red,
            Indicator::Maintenance => Colour::Blue,
        }
    }

    fn of_status(s: ComponentStatus) -> Colour {
        match s {
            ComponentStatus::Operational => Colour::Green,
            ComponentStatus::DegradedPerformance => Colour::Yellow,
            ComponentStatus::PartialOutage => Colour::Orange,
            ComponentStatus::MajorOutage => Colour::Red,
            ComponentStatus::UnderMaintenance => Colour::Blue,
        }
    }
}

/// What one badge says.
struct Badge<'a> {
    label: &'a str,
    message: &'a str,
    colour: Colour,
}

/// The shields.io endpoint schema.
#[derive(Serialize)]
struct Endpoint<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u8,
    label: &'a str,
    message: &'a str,
    color: &'static str,
}

/// Renders the page badge and one badge per component and group, in both forms.
pub fn render(ctx: &RenderContext) -> Vec<Rendered> {
    let status = ctx.doc.status();
    let mut out = Vec::with_capacity(2 * (1 + ctx.doc.components.len() + ctx.doc.groups.len()));
    push(
        &mut out,
        "",
        &Badge {
            label: "status",
            message: status.description,
            colour: Colour::of_indicator(status.indicator),
        },
    );
    for c in &ctx.doc.components {
        push(
            &mut out,
            &format!("/components/{}", c.id),
            &Badge {
                label: &c.name,
                message: c.status.label(),
                colour: Colour::of_status(c.status),
            },
        );
    }
    for g in &ctx.doc.groups {
        let worst = ComponentStatus::worst(
            ctx.doc
                .components
                .iter()
                .filter(|c| c.group_id.as_ref() == Some(&g.id))
                .map(|c| c.status),
        );
        push(
            &mut out,
            &format!("/components/{}", g.id),
            &Badge {
                label: &g.name,
                message: worst.label(),
                colour: Colour::of_status(worst),
            },
        );
    }
    out
}

/// Adds `{prefix}/badge.svg` and `{prefix}/badge.json`.
fn push(out: &mut Vec<Rendered>, prefix: &str, badge: &Badge) {
    out.push(Rendered::new(
        format!("{prefix}/badge.svg"),
        SVG,
        svg(badge),
    ));
    let endpoint = Endpoint {
        schema_version: 1,
        label: badge.label,
        message: badge.message,
        color: badge.colour.name(),
    };
    // A struct of strings and a number: serialising cannot fail.
    let body = serde_json::to_vec(&endpoint).expect("badge JSON always serialises");
    out.push(Rendered::new(format!("{prefix}/badge.json"), JSON, body));
}

/// Escapes text for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in xml_safe(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// Estimated width in pixels of `text` in 11px Verdana, by classes of characters.
fn text_width(text: &str) -> u32 {
    let tenths: u32 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | 'I' | '!' | '.' | ',' | ':' | ';' | '\'' | '|' => 32,
            ' ' | 'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 45,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 105,
            'A'..='Z' => 78,
            '0'..='9' => 70,
            c if c.is_ascii() => 68,
            // CJK and other wide scripts.
            c if c >= '\u{1100}' => 110,
            _ => 75,
        })
        .sum();
    tenths.div_ceil(10)
}

/// Horizontal padding on each side of a badge's text.
const PAD: u32 = 6;

/// A flat, rounded two-part badge: grey label on the left, coloured message on the right.
fn svg(badge: &Badge) -> String {
    let label = escape(badge.label);
    let message = escape(badge.message);
    let lw = text_width(badge.label) + 2 * PAD;
    let mw = text_width(badge.message) + 2 * PAD;
    let w = lw + mw;
    let colour = badge.colour.hex();
    // The text is drawn ten times larger and scaled down, so centres on half pixels stay exact.
    let lx = lw * 5;
    let mx = lw * 10 + mw * 5;
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{label}: {message}">"##,
            r##"<title>{label}: {message}</title>"##,
            r##"<linearGradient id="shine" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            r##"<clipPath id="round"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#round)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{colour}"/><rect width="{w}" height="20" fill="url(#shine)"/></g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110" transform="scale(.1)">"##,
            r##"<text x="{lx}" y="150" fill="#010101" fill-opacity=".3">{label}</text><text x="{lx}" y="140">{label}</text>"##,
            r##"<text x="{mx}" y="150" fill="#010101" fill-opacity=".3">{message}</text><text x="{mx}" y="140">{message}</text>"##,
            "</g></svg>\n"
        ),
        w = w,
        lw = lw,
        mw = mw,
        colour = colour,
        label = label,
        message = message,
        lx = lx,
        mx = mx,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_drops_control_characters() {
        assert_eq!(
            escape("R&D <\"x\"> 'y'\u{1}"),
            "R&amp;D &lt;&quot;x&quot;&gt; &apos;y&apos;"
        );
    }

    #[test]
    fn wider_text_gets_a_wider_badge() {
        assert!(text_width("MMMM") > text_width("iiii"));
        assert_eq!(text_width(""), 0);
        let width = |message: &str| {
            let out = svg(&Badge {
                label: "status",
                message,
                colour: Colour::Green,
            });
            let start = out.find("width=\"").expect("width") + 7;
            let len = out[start..].find('"').expect("quote");
            out[start..start + len].parse::<u32>().expect("number")
        };
        assert!(width("All Systems Operational") > width("ok") + 100);
    }
}
