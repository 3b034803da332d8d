//! Incident and postmortem text: any input renders, and no tag in the output can run script —
//! no `<script>` or `<iframe>`, no `on…` handler attribute and no `javascript:` address in an
//! `href` or `src`. (Text may say these words: the renderer escapes `<` in text and quotes in
//! attribute values, so they cannot form a tag or an attribute.)
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Each tag's name and its attributes (name, value), from HTML the renderer wrote: values are
/// always double-quoted.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for rest in html.split('<').skip(1) {
        let inner = rest.split('>').next().unwrap_or(rest);
        let mut chars = inner.trim_start_matches('/').chars().peekable();
        let name: String = chars
            .by_ref()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let mut attributes = Vec::new();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace() || *c == '/') {
                chars.next();
            }
            let attr: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
            if attr.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.next_if_eq(&'=').is_some() && chars.next_if_eq(&'"').is_some() {
                value = chars.by_ref().take_while(|c| *c != '"').collect();
            }
            attributes.push((attr.to_ascii_lowercase(), value));
        }
        out.push((name.to_ascii_lowercase(), attributes));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = herald::render::markdown::to_html(text);
    for (name, attributes) in tags(&html) {
        assert!(
            !matches!(name.as_str(), "script" | "iframe" | "object" | "embed" | "style"),
            "a <{name}> tag survived: {html}"
        );
        for (attr, value) in attributes {
            assert!(!attr.starts_with("on"), "an event handler `{attr}` survived: {html}");
            if attr == "href" || attr == "src" {
                let scheme: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .take(11)
                    .collect::<String>()
                    .to_ascii_lowercase();
                assert!(!scheme.starts_with("javascript:"), "a javascript: address survived: {html}");
            }
        }
    }
});
