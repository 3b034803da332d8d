//! Markdown to safe HTML: pulldown-cmark renders, ammonia keeps only harmless tags, attributes
//! and URL schemes, so no script can reach a page through an incident body.

use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown to sanitised HTML.
pub fn to_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_renders() {
        assert_eq!(
            to_html("**Fixed** in `v2`"),
            "<p><strong>Fixed</strong> in <code>v2</code></p>\n"
        );
    }

    #[test]
    fn scripts_and_javascript_links_are_inert() {
        let out = to_html(
            "Hi <script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=alert(3)> \
             <a href=\"JaVaScRiPt:alert(4)\">x</a> <iframe src=\"https://evil.test\"></iframe>",
        );
        let lower = out.to_lowercase();
        assert!(!lower.contains("<script"), "{out}");
        assert!(!lower.contains("javascript:"), "{out}");
        assert!(!lower.contains("onerror"), "{out}");
        assert!(!lower.contains("<iframe"), "{out}");
        assert!(out.contains("click"), "{out}");
    }
}
