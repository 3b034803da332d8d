//! The public HTML site: home page, incident, maintenance and component pages, paginated
//! history, the not-found page, and the assets they use (stylesheets, one script, a favicon).
//!
//! Pages are minijinja templates compiled into the binary, fed with view models from [`view`].
//! Every page works without JavaScript and carries no inline script, style or event handler, so
//! a strict Content-Security-Policy can forbid them; the accent colour comes in `/assets/theme.css`.

use super::{RenderContext, Rendered, HTML};
use minijinja::{context, Environment, Value};
use std::sync::OnceLock;

mod text;
pub mod view;

use view::{history_url, Views};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The templates, by name, as compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    (
        "incident.html",
        include_str!("../../templates/incident.html"),
    ),
    (
        "maintenance.html",
        include_str!("../../templates/maintenance.html"),
    ),
    (
        "component.html",
        include_str!("../../templates/component.html"),
    ),
    ("history.html", include_str!("../../templates/history.html")),
    ("404.html", include_str!("../../templates/404.html")),
    (
        "subscribe.html",
        include_str!("../../templates/subscribe.html"),
    ),
];

/// Static assets served under `/assets/`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/assets/herald.css",
        CSS,
        include_str!("../../assets/herald.css"),
    ),
    (
        "/assets/herald.js",
        JS,
        include_str!("../../assets/herald.js"),
    ),
    (
        "/assets/favicon.svg",
        SVG,
        include_str!("../../assets/favicon.svg"),
    ),
];

/// The template environment, built once. Auto-escaping is on for every `.html` template and
/// undefined values are errors, so a missing field fails loudly in tests instead of rendering
/// as nothing.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env
    })
}

/// Renders one page; a template error is logged and the page left out (the server then answers
/// 404 for it), never a panic.
fn page(path: String, template: &str, values: Value) -> Option<Rendered> {
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(values));
    match rendered {
        Ok(body) => Some(Rendered::new(path, HTML, body)),
        Err(e) => {
            tracing::error!(%path, template, error = %e, "page failed to render");
            None
        }
    }
}

/// Whether a configured accent colour is safe to write into a stylesheet: a hex colour or a
/// plain colour keyword.
fn valid_colour(colour: &str) -> bool {
    match colour.strip_prefix('#') {
        Some(hex) => {
            matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => (3..=24).contains(&colour.len()) && colour.bytes().all(|b| b.is_ascii_lowercase()),
    }
}

/// `/assets/theme.css`: the configured accent colour as a custom property.
fn theme_css(accent: Option<&str>) -> String {
    match accent.map(str::trim).filter(|c| valid_colour(c)) {
        Some(colour) => format!(":root {{\n  --accent: {colour};\n}}\n"),
        None => "/* No accent colour configured; herald.css supplies the default. */\n".to_string(),
    }
}

/// Every HTML page and asset of the public site.
pub fn render(ctx: &RenderContext) -> Vec<Rendered> {
    let views = Views::new(ctx);
    let site = views.site();
    let doc = ctx.doc;
    let values = |title: &str, nav: &str, page: Value| {
        context! { site => &site, title => title, nav => nav, page => page }
    };
    let mut out = Vec::new();

    let home = Value::from_serialize(views.home());
    let home_title = format!("{} Status", site.name);
    for path in ["/", "/index.html"] {
        out.extend(page(
            path.to_string(),
            "index.html",
            values(&home_title, "status", home.clone()),
        ));
    }
    for i in &doc.incidents {
        let title = format!("{} - {}", i.name, site.name);
        let view = Value::from_serialize(views.incident(i));
        out.extend(page(
            format!("/incidents/{}", i.id),
            "incident.html",
            values(&title, "", view),
        ));
    }
    for m in &doc.maintenances {
        let title = format!("{} - {}", m.name, site.name);
        let view = Value::from_serialize(views.maintenance(m));
        out.extend(page(
            format!("/maintenance/{}", m.id),
            "maintenance.html",
            values(&title, "", view),
        ));
    }
    for c in &doc.components {
        let title = format!("{} - {}", c.name, site.name);
        let view = Value::from_serialize(views.component(c));
        out.extend(page(
            format!("/components/{}", c.id),
            "component.html",
            values(&title, "", view),
        ));
    }
    for history in views.history() {
        let title = match history.number {
            1 => format!("Incident History - {}", site.name),
            n => format!("Incident History, page {n} - {}", site.name),
        };
        let path = history_url(history.number);
        out.extend(page(
            path,
            "history.html",
            values(&title, "history", Value::from_serialize(history)),
        ));
    }
    let components: Vec<_> = doc
        .components
        .iter()
        .map(|c| context! { id => c.id.as_str(), name => &c.name })
        .collect();
    out.extend(page(
        "/subscribe".to_string(),
        "subscribe.html",
        values(
            &format!("Subscribe - {}", site.name),
            "",
            context! { components => components },
        ),
    ));
    let not_found = format!("Page not found - {}", site.name);
    out.extend(page(
        "/404.html".to_string(),
        "404.html",
        values(&not_found, "", Value::UNDEFINED),
    ));

    for (path, content_type, body) in ASSETS {
        out.push(Rendered::new(*path, content_type, *body));
    }
    out.push(Rendered::new(
        "/assets/theme.css",
        CSS,
        theme_css(ctx.input.branding.accent_color.as_deref()),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Branding, SnapshotInput};
    use chrono::{DateTime, Utc};
    use herald_core::datafile::{DataFile, Format};

    fn input(toml: &str, now: &str) -> SnapshotInput {
        let now: DateTime<Utc> = now.parse().expect("time");
        let doc = DataFile::parse(toml, Format::Toml)
            .expect("parse")
            .into_document(None, now)
            .expect("valid");
        SnapshotInput {
            doc,
            history: Vec::new(),
            now,
            branding: Branding::default(),
            extras: Default::default(),
        }
    }

    fn body<'a>(pages: &'a [Rendered], path: &str) -> &'a str {
        let page = pages
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("no page at {path}"));
        std::str::from_utf8(&page.body).expect("utf-8")
    }

    const HOSTILE: &str = r#"
version = 1
[page]
id = "hostilepage1"
name = "Acme <b>Status</b>"
url = "https://status.example.com"
time_zone = "Europe/Berlin"

[[components]]
id = "hostilecomp1"
name = "API <img src=x onerror=alert(1)>"

[[incidents]]
id = "hostileinc01"
name = "Outage <script>alert('name')</script>"
status = "investigating"
impact = "major"
created_at = "2024-05-01T10:00:00Z"
components = ["hostilecomp1"]

[[incidents.updates]]
id = "hostileupd01"
status = "investigating"
display_at = "2024-05-01T10:00:00Z"
body = "Looking into it <script>alert(1)</script> and [x](javascript:alert(1))"
"#;

    #[test]
    fn scripts_in_names_and_bodies_render_inert() {
        let input = input(HOSTILE, "2024-05-01T12:00:00Z");
        let pages = render(&RenderContext::new(&input));
        for path in [
            "/",
            "/incidents/hostileinc01",
            "/components/hostilecomp1",
            "/history",
        ] {
            let html = body(&pages, path);
            let lower = html.to_lowercase();
            assert_eq!(
                lower.matches("<script").count(),
                1,
                "{path}: only the herald.js tag may appear"
            );
            assert!(lower.contains("<script src=\"/assets/herald.js\" defer></script>"));
            assert!(!lower.contains("javascript:"), "{path}");
            assert!(!lower.contains("<img src=x"), "{path}");
            assert!(!lower.contains("<b>status</b>"), "{path}");
        }
        let incident = body(&pages, "/incidents/hostileinc01");
        assert!(incident.contains("Outage &lt;script&gt;"), "{incident}");
        assert!(incident.contains("Looking into it"));
    }

    #[test]
    fn no_inline_styles_or_handlers() {
        let input = input(HOSTILE, "2024-05-01T12:00:00Z");
        let pages = render(&RenderContext::new(&input));
        let all = scraper::Selector::parse("*").expect("selector");
        let mut checked = 0;
        for page in pages.iter().filter(|p| p.content_type == HTML) {
            let html =
                scraper::Html::parse_document(std::str::from_utf8(&page.body).expect("utf-8"));
            for element in html.select(&all) {
                let name = element.value().name();
                assert_ne!(name, "style", "{}", page.path);
                for (attribute, _) in element.value().attrs() {
                    assert!(
                        attribute != "style" && !attribute.starts_with("on"),
                        "{}: <{name} {attribute}>",
                        page.path
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "pages were rendered");
    }

    #[test]
    fn accent_colour_goes_into_theme_css_only_when_safe() {
        assert_eq!(
            theme_css(Some("#1a2b3c")),
            ":root {\n  --accent: #1a2b3c;\n}\n"
        );
        assert!(theme_css(Some("rebeccapurple")).contains("--accent: rebeccapurple;"));
        for bad in ["red; } body { display: none", "#12", "url(x)", ""] {
            assert!(!theme_css(Some(bad)).contains("--accent"), "{bad}");
        }
        assert!(!theme_css(None).contains("--accent"));
    }

    #[test]
    fn every_template_compiles() {
        let env = environment();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
