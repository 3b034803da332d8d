//! The history feeds `/history.atom` (RFC 4287) and `/history.rss` (RSS 2.0): one entry per
//! incident or maintenance update, newest first, at most [`MAX_ENTRIES`]. Also owns the
//! clean-up that keeps any text of ours valid inside XML.

use super::{RenderContext, Rendered};
use crate::render::markdown::to_html;
use atom_syndication as atom;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use herald_core::timefmt::posted;
use herald_core::{Maintenance, Update};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The most entries either feed carries.
pub const MAX_ENTRIES: usize = 50;
/// Content type of `/history.atom`.
pub const ATOM: &str = "application/atom+xml; charset=utf-8";
/// Content type of `/history.rss`.
pub const RSS: &str = "application/rss+xml; charset=utf-8";

/// Removes the characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF); escaping
/// is left to the writer.
pub(crate) fn xml_safe(text: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| allowed(*c)).collect())
    }
}

/// One feed entry, independent of the feed format.
struct Item {
    /// Stable and unique per update: a `tag:` URI.
    id: String,
    title: String,
    link: String,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// Sanitised HTML.
    html: String,
}

/// Renders both feeds.
pub fn render(ctx: &RenderContext) -> Vec<Rendered> {
    let items = items(ctx);
    let updated = items
        .iter()
        .map(|i| i.updated)
        .max()
        .or_else(|| ctx.doc.updated_at())
        .unwrap_or(ctx.now);
    let mut out = Vec::with_capacity(2);
    match atom_feed(ctx, &items, updated).write_to(Vec::new()) {
        Ok(body) => out.push(Rendered::new("/history.atom", ATOM, body)),
        Err(e) => tracing::error!(error = %e, "cannot write the Atom feed"),
    }
    match rss_channel(ctx, &items, updated).write_to(Vec::new()) {
        Ok(body) => out.push(Rendered::new("/history.rss", RSS, body)),
        Err(e) => tracing::error!(error = %e, "cannot write the RSS feed"),
    }
    out
}

/// The host part of the page URL, for `tag:` URIs; `localhost` when there is none usable.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = host_port.rsplit('@').next().unwrap_or("");
    let host = host_port
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let usable = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if usable {
        host
    } else {
        "localhost".to_string()
    }
}

/// Every update of every incident and maintenance as an entry, newest first, capped.
fn items(ctx: &RenderContext) -> Vec<Item> {
    let base = ctx.base_url();
    let host = authority(base);
    let mut items = Vec::new();
    for incident in &ctx.doc.incidents {
        let link = format!("{base}/incidents/{}", incident.id);
        let source = Source {
            tag: format!("tag:{host},2005:Incident/{}", incident.id),
            name: &incident.name,
            link: &link,
            preamble: String::new(),
        };
        push_updates(ctx, &source, &incident.updates, |s| s.label(), &mut items);
    }
    for maintenance in &ctx.doc.maintenances {
        let link = format!("{base}/maintenance/{}", maintenance.id);
        let source = Source {
            tag: format!("tag:{host},2005:Maintenance/{}", maintenance.id),
            name: &maintenance.name,
            link: &link,
            preamble: format!(
                "<p><strong>THIS IS A SCHEDULED EVENT {}</strong></p>",
                window(maintenance, ctx.tz)
            ),
        };
        push_updates(
            ctx,
            &source,
            &maintenance.updates,
            |s| s.label(),
            &mut items,
        );
    }
    items.sort_by(|a, b| (b.published, b.updated, &b.id).cmp(&(a.published, a.updated, &a.id)));
    items.truncate(MAX_ENTRIES);
    items
}

/// What the entries of one incident or maintenance share.
struct Source<'a> {
    tag: String,
    name: &'a str,
    link: &'a str,
    /// HTML put before every entry's body (the maintenance window).
    preamble: String,
}

fn push_updates<S: Copy + PartialEq>(
    ctx: &RenderContext,
    source: &Source,
    updates: &[Update<S>],
    label: impl Fn(S) -> &'static str,
    items: &mut Vec<Item>,
) {
    // Updates are newest first: the one after each is the one before it in time.
    let previous = updates.iter().skip(1).map(Some).chain([None]);
    for (update, before) in updates.iter().zip(previous) {
        let label = match before {
            Some(b) if b.status == update.status => "Update",
            _ => label(update.status),
        };
        let html = format!(
            "{}<p><small>{}</small><br><strong>{label}</strong></p>{}",
            source.preamble,
            posted(update.display_at, ctx.tz),
            to_html(&update.body),
        );
        items.push(Item {
            id: format!("{}/Update/{}", source.tag, update.id),
            title: xml_safe(&format!("{} - {label}", source.name)).into_owned(),
            link: source.link.to_string(),
            published: update.display_at,
            updated: update.display_at.max(update.updated_at),
            html: xml_safe(&html).into_owned(),
        });
    }
}

/// The maintenance window in the page's zone: "Mar 09, 2024 02:00 - 04:00 UTC" within one day,
/// both ends in full otherwise.
fn window(m: &Maintenance, tz: Tz) -> String {
    let from = m.scheduled_for.with_timezone(&tz);
    let until = m.scheduled_until.with_timezone(&tz);
    if from.date_naive() == until.date_naive() {
        format!(
            "{} - {}",
            from.format("%b %d, %Y %H:%M"),
            until.format("%H:%M %Z")
        )
    } else {
        format!(
            "{} - {}",
            from.format("%b %d, %Y %H:%M %Z"),
            until.format("%b %d, %Y %H:%M %Z")
        )
    }
}

fn feed_title(ctx: &RenderContext) -> String {
    xml_safe(&format!("{} Status - Incident History", ctx.doc.page.name)).into_owned()
}

fn atom_feed(ctx: &RenderContext, items: &[Item], updated: DateTime<Utc>) -> atom::Feed {
    let base = ctx.base_url();
    let link = |href: String, rel: &str, mime: &str| atom::Link {
        href,
        rel: rel.to_string(),
        mime_type: Some(mime.to_string()),
        ..Default::default()
    };
    let entries = items
        .iter()
        .map(|i| atom::Entry {
            id: i.id.clone(),
            title: atom::Text::plain(i.title.clone()),
            updated: i.updated.fixed_offset(),
            published: Some(i.published.fixed_offset()),
            links: vec![link(i.link.clone(), "alternate", "text/html")],
            content: Some(atom::Content {
                value: Some(i.html.clone()),
                content_type: Some("html".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let mut feed = atom::Feed {
        id: format!("tag:{},2005:/history", authority(base)),
        title: atom::Text::plain(feed_title(ctx)),
        updated: updated.fixed_offset(),
        authors: vec![atom::Person {
            name: xml_safe(&ctx.doc.page.name).into_owned(),
            ..Default::default()
        }],
        links: vec![
            link(base.to_string(), "alternate", "text/html"),
            link(
                format!("{base}/history.atom"),
                "self",
                "application/atom+xml",
            ),
        ],
        entries,
        ..Default::default()
    };
    feed.set_lang("en-US".to_string());
    feed
}

/// RFC 2822 date in the page's zone, as RSS wants it.
fn rfc822(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).to_rfc2822()
}

fn rss_channel(ctx: &RenderContext, items: &[Item], updated: DateTime<Utc>) -> rss::Channel {
    let base = ctx.base_url();
    let self_link = rss::extension::Extension {
        name: "atom:link".to_string(),
        attrs: BTreeMap::from([
            ("href".to_string(), format!("{base}/history.rss")),
            ("rel".to_string(), "self".to_string()),
            ("type".to_string(), "application/rss+xml".to_string()),
        ]),
        ..Default::default()
    };
    rss::Channel {
        title: feed_title(ctx),
        link: base.to_string(),
        description: xml_safe(&format!(
            "Incidents and maintenance of {}",
            ctx.doc.page.name
        ))
        .into_owned(),
        language: Some("en-us".to_string()),
        pub_date: Some(rfc822(updated, ctx.tz)),
        last_build_date: Some(rfc822(updated, ctx.tz)),
        namespaces: BTreeMap::from([(
            "atom".to_string(),
            "http://www.w3.org/2005/Atom".to_string(),
        )]),
        extensions: BTreeMap::from([(
            "atom".to_string(),
            BTreeMap::from([("link".to_string(), vec![self_link])]),
        )]),
        items: items
            .iter()
            .map(|i| rss::Item {
                title: Some(i.title.clone()),
                link: Some(i.link.clone()),
                description: Some(i.html.clone()),
                guid: Some(rss::Guid {
                    value: i.id.clone(),
                    permalink: false,
                }),
                pub_date: Some(rfc822(i.published, ctx.tz)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_is_the_bare_host() {
        assert_eq!(authority("https://status.acme.test"), "status.acme.test");
        assert_eq!(authority("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(
            authority("https://user@Status.Acme.test:443/x?y#z"),
            "status.acme.test"
        );
        assert_eq!(authority("http://[::1]:8080"), "localhost");
        assert_eq!(authority(""), "localhost");
    }

    #[test]
    fn xml_safe_drops_only_what_xml_forbids() {
        assert_eq!(xml_safe("a\u{1}b\u{ffff}c"), "abc");
        assert!(matches!(xml_safe("tab\tline\n<&>é"), Cow::Borrowed(_)));
    }
}
