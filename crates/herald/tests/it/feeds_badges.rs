//! The history feeds and the badges, read back the way their consumers read them: the feeds
//! with real feed parsers (feed-rs, atom_syndication, rss), the SVG badges with an XML
//! well-formedness check and an HTML/SVG parser, the shields.io JSON with serde_json.

use chrono::{DateTime, Utc};
use herald::render::{build, Branding, Snapshot, SnapshotInput};
use herald_core::datafile::{DataFile, Format};
use herald_core::PageDocument;

use crate::common::EXAMPLE as DRCHRONO;

/// A page of its own with a hostile incident body, awkward names and a maintenance.
const HOSTILE: &str = r#"
version = 1

[page]
id = "hostilepage1"
name = "R&D <Labs>"
url = "https://status.labs.test/"
time_zone = "Europe/Berlin"

[[component_groups]]
id = "westgroup001"
name = "West & Co"

[[components]]
id = "westlab00001"
name = "Lab <West> \"β\""
group = "westgroup001"
status = "partial_outage"

[[components]]
id = "eastlab00001"
name = "East lab"
status = "operational"

[[incidents]]
id = "scriptinc001"
name = "Errors <b>everywhere</b>"
status = "investigating"
impact = "major"
created_at = "2024-06-01T10:00:00Z"
components = ["westlab00001"]

[[incidents.updates]]
id = "scriptupd001"
status = "investigating"
display_at = "2024-06-01T10:00:00Z"
body = "Looking into it <script>alert('owned')</script> **now**."

[[incidents.updates]]
id = "scriptupd002"
status = "investigating"
display_at = "2024-06-01T10:30:00Z"
body = "Still looking."

[[maintenances]]
id = "labmaint0001"
name = "Freezer defrost"
status = "in_progress"
scheduled_for = "2024-06-01T08:00:00Z"
scheduled_until = "2024-06-01T12:00:00Z"
created_at = "2024-05-20T08:00:00Z"
components = ["eastlab00001"]

[[maintenances.updates]]
id = "labmupd00001"
status = "scheduled"
display_at = "2024-05-20T08:00:00Z"
body = "The freezers will be defrosted."

[[maintenances.updates]]
id = "labmupd00002"
status = "in_progress"
display_at = "2024-06-01T08:00:00Z"
body = "Defrosting."
"#;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn document(text: &str) -> PageDocument {
    DataFile::parse(text, Format::Toml)
        .expect("data file parses")
        .into_document(None, t("2024-06-02T00:00:00Z"))
        .expect("data file is valid")
}

fn snapshot(doc: PageDocument) -> Snapshot {
    build(
        &SnapshotInput {
            doc,
            history: vec![],
            now: t("2024-06-02T00:00:00Z"),
            branding: Branding::default(),
            extras: Default::default(),
        },
        None,
    )
}

/// The body and content type served at `path`.
fn served<'a>(snap: &'a Snapshot, path: &str) -> (&'a [u8], &'static str) {
    let entry = snap
        .get(path)
        .unwrap_or_else(|| panic!("nothing at {path}"));
    (entry.identity.as_ref(), entry.content_type)
}

fn text(snap: &Snapshot, path: &str) -> String {
    String::from_utf8(served(snap, path).0.to_vec()).expect("UTF-8")
}

/// Every update of the DrChrono example, newest first: (incident id, entry title).
const DRCHRONO_UPDATES: &[(&str, &str)] = &[
    (
        "countsoff221",
        "Task and message counts are temporarily unavailable - Resolved",
    ),
    (
        "countsoff221",
        "Task and message counts are temporarily unavailable - Identified",
    ),
    (
        "slowness2211",
        "General system slowness on the DrChrono platform - Resolved",
    ),
    (
        "slowness2211",
        "General system slowness on the DrChrono platform - Monitoring",
    ),
    (
        "slowness2211",
        "General system slowness on the DrChrono platform - Update",
    ),
    (
        "slowness2211",
        "General system slowness on the DrChrono platform - Update",
    ),
    (
        "slowness2211",
        "General system slowness on the DrChrono platform - Identified",
    ),
];

#[test]
fn drchrono_feeds_carry_one_entry_per_update_newest_first() {
    let snap = snapshot(document(DRCHRONO));

    let (atom_body, atom_type) = served(&snap, "/history.atom");
    assert_eq!(atom_type, "application/atom+xml; charset=utf-8");
    let parsed = feed_rs::parser::parse(atom_body).expect("feed-rs reads the Atom feed");
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(
        parsed.title.as_ref().map(|t| t.content.as_str()),
        Some("DrChrono Status - Incident History")
    );
    assert_eq!(parsed.entries.len(), DRCHRONO_UPDATES.len());
    for (entry, (incident, title)) in parsed.entries.iter().zip(DRCHRONO_UPDATES) {
        assert_eq!(
            entry.title.as_ref().map(|t| t.content.as_str()),
            Some(*title)
        );
        let links: Vec<&str> = entry.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(
            links,
            [format!("http://127.0.0.1:8080/incidents/{incident}")]
        );
    }
    let published: Vec<DateTime<Utc>> = parsed
        .entries
        .iter()
        .map(|e| e.published.expect("published"))
        .collect();
    assert!(published.windows(2).all(|w| w[0] >= w[1]), "{published:?}");
    assert_eq!(published.last(), Some(&t("2022-11-03T12:44:00Z")));
    let mut ids: Vec<&str> = parsed.entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), DRCHRONO_UPDATES.len(), "entry ids are unique");

    // The oldest entry: the first update, with its time in the page's zone.
    let first = parsed.entries.last().expect("entries");
    let body = &first
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .expect("content");
    assert!(body.contains("Nov 03, 2022 - 05:44 PDT"), "{body}");
    assert!(body.contains("<strong>Identified</strong>"), "{body}");
    assert!(
        body.contains("<p>Our team has identified an issue"),
        "{body}"
    );

    // The same feed through atom_syndication.
    let atom = atom_syndication::Feed::read_from(atom_body).expect("atom_syndication reads it");
    assert_eq!(atom.entries().len(), DRCHRONO_UPDATES.len());
    assert!(atom
        .links()
        .iter()
        .any(|l| l.rel() == "self" && l.href() == "http://127.0.0.1:8080/history.atom"));
    assert_eq!(atom.updated(), &t("2022-11-07T14:33:00Z"));
    assert!(!atom.authors().is_empty());

    // RSS says the same, in the page's zone.
    let (rss_body, rss_type) = served(&snap, "/history.rss");
    assert_eq!(rss_type, "application/rss+xml; charset=utf-8");
    let channel = rss::Channel::read_from(rss_body).expect("rss reads the RSS feed");
    assert_eq!(channel.title(), "DrChrono Status - Incident History");
    assert_eq!(channel.link(), "http://127.0.0.1:8080");
    let items = channel.items();
    assert_eq!(items.len(), DRCHRONO_UPDATES.len());
    for (item, (incident, title)) in items.iter().zip(DRCHRONO_UPDATES) {
        assert_eq!(item.title(), Some(*title));
        assert_eq!(
            item.link(),
            Some(format!("http://127.0.0.1:8080/incidents/{incident}").as_str())
        );
        let guid = item.guid().expect("guid");
        assert!(!guid.is_permalink());
    }
    assert_eq!(
        items.last().and_then(|i| i.pub_date()),
        Some("Thu, 3 Nov 2022 05:44:00 -0700")
    );
    let guids: std::collections::HashSet<&str> = items
        .iter()
        .filter_map(|i| i.guid().map(|g| g.value()))
        .collect();
    assert_eq!(guids.len(), items.len());
    let by_feed_rs = feed_rs::parser::parse(rss_body).expect("feed-rs reads the RSS feed");
    assert_eq!(by_feed_rs.entries.len(), DRCHRONO_UPDATES.len());

    // Ids do not change when the page is rendered again later.
    let again = snapshot(document(DRCHRONO));
    let atom_again = atom_syndication::Feed::read_from(served(&again, "/history.atom").0)
        .expect("atom_syndication reads it");
    let ids_of = |f: &atom_syndication::Feed| -> Vec<String> {
        f.entries().iter().map(|e| e.id().to_string()).collect()
    };
    assert_eq!(ids_of(&atom_again), ids_of(&atom));
}

#[test]
fn hostile_text_is_inert_and_maintenance_is_included() {
    let snap = snapshot(document(HOSTILE));
    let parsed =
        feed_rs::parser::parse(served(&snap, "/history.atom").0).expect("feed-rs reads it");
    assert_eq!(
        parsed.title.as_ref().map(|t| t.content.as_str()),
        Some("R&D <Labs> Status - Incident History")
    );
    let titles: Vec<&str> = parsed
        .entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            "Errors <b>everywhere</b> - Update",
            "Errors <b>everywhere</b> - Investigating",
            "Freezer defrost - In progress",
            "Freezer defrost - Scheduled",
        ]
    );
    let links: Vec<&str> = parsed
        .entries
        .iter()
        .flat_map(|e| e.links.iter().map(|l| l.href.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            "https://status.labs.test/incidents/scriptinc001",
            "https://status.labs.test/incidents/scriptinc001",
            "https://status.labs.test/maintenance/labmaint0001",
            "https://status.labs.test/maintenance/labmaint0001",
        ]
    );
    let bodies: Vec<String> = parsed
        .entries
        .iter()
        .map(|e| {
            e.content
                .as_ref()
                .and_then(|c| c.body.clone())
                .expect("content")
        })
        .collect();
    let scripted = bodies.get(1).expect("second entry");
    assert!(scripted.contains("Looking into it"), "{scripted}");
    assert!(scripted.contains("<strong>now</strong>"), "{scripted}");
    // 10:00 UTC in Berlin summer time.
    assert!(scripted.contains("Jun 01, 2024 - 12:00 CEST"), "{scripted}");
    for body in &bodies {
        let lower = body.to_lowercase();
        assert!(!lower.contains("<script"), "{body}");
        assert!(!lower.contains("alert("), "{body}");
    }
    let window = bodies.get(2).expect("maintenance entry");
    assert!(
        window.contains("Jun 01, 2024 10:00 - 14:00 CEST"),
        "{window}"
    );

    let channel = rss::Channel::read_from(served(&snap, "/history.rss").0).expect("rss reads it");
    assert_eq!(channel.items().len(), 4);
    for item in channel.items() {
        let description = item.description().expect("description").to_lowercase();
        assert!(!description.contains("<script"), "{description}");
    }
    assert_eq!(
        channel.items().first().and_then(|i| i.title()),
        Some("Errors <b>everywhere</b> - Update")
    );
}

#[test]
fn feeds_keep_the_fifty_newest_updates() {
    let mut text = String::from(
        "version = 1\n[page]\nid = \"busypage0001\"\nname = \"Busy\"\n\
         url = \"https://status.busy.test\"\ntime_zone = \"Etc/UTC\"\n",
    );
    for k in 0..30 {
        text.push_str(&format!(
            "[[incidents]]\nid = \"busyinc{k:05}\"\nname = \"Incident {k}\"\n\
             status = \"resolved\"\nimpact = \"minor\"\ncreated_at = \"2024-01-{d:02}T00:00:00Z\"\n\
             [[incidents.updates]]\nid = \"busyupa{k:05}\"\nstatus = \"investigating\"\n\
             display_at = \"2024-01-{d:02}T00:00:00Z\"\nbody = \"Looking.\"\n\
             [[incidents.updates]]\nid = \"busyupb{k:05}\"\nstatus = \"resolved\"\n\
             display_at = \"2024-01-{d:02}T01:00:00Z\"\nbody = \"Fixed.\"\n",
            d = k + 1
        ));
    }
    let snap = snapshot(document(&text));
    let atom = atom_syndication::Feed::read_from(served(&snap, "/history.atom").0)
        .expect("atom_syndication reads it");
    assert_eq!(atom.entries().len(), 50);
    let first = atom.entries().first().expect("entries");
    assert_eq!(first.title().as_str(), "Incident 29 - Resolved");
    let last = atom.entries().last().expect("entries");
    // 60 updates, the 10 oldest (incidents 0 to 4) dropped.
    assert_eq!(last.title().as_str(), "Incident 5 - Investigating");
    let channel = rss::Channel::read_from(served(&snap, "/history.rss").0).expect("rss reads it");
    assert_eq!(channel.items().len(), 50);
}

#[test]
fn an_empty_page_still_has_valid_feeds() {
    let snap = snapshot(document(
        "version = 1\n[page]\nid = \"emptypage001\"\nname = \"Quiet\"\n\
         url = \"https://status.quiet.test\"\ntime_zone = \"Etc/UTC\"\n",
    ));
    let atom = atom_syndication::Feed::read_from(served(&snap, "/history.atom").0)
        .expect("atom_syndication reads it");
    assert!(atom.entries().is_empty());
    assert_eq!(atom.title().as_str(), "Quiet Status - Incident History");
    feed_rs::parser::parse(served(&snap, "/history.rss").0).expect("feed-rs reads it");
}

// ---------------------------------------------------------------------------------------------
// Badges.

/// Checks that `xml` is well-formed XML: one root, balanced and properly nested tags, quoted
/// and unique attributes, only the five named entities or character references, no raw `<` or
/// `&` in text or attribute values, no characters XML forbids.
fn well_formed(xml: &str) -> Result<(), String> {
    fn name_len(s: &str) -> usize {
        s.char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic()
                    || c == '_'
                    || c == ':'
                    || (i > 0 && (c.is_ascii_digit() || c == '-' || c == '.')))
            })
            .map_or(s.len(), |(i, _)| i)
    }
    fn check_chars_only(s: &str) -> Result<(), String> {
        match s.chars().find(|c| {
            matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
        }) {
            Some(c) => Err(format!("forbidden character {c:?}")),
            None => Ok(()),
        }
    }
    fn check_chars(s: &str) -> Result<(), String> {
        check_chars_only(s)?;
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let end = rest.find(';').ok_or("unterminated entity")?;
            let entity = &rest[..end];
            let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                || entity
                    .strip_prefix("#x")
                    .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
                || entity
                    .strip_prefix('#')
                    .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
            if !ok {
                return Err(format!("bad entity &{entity};"));
            }
        }
        Ok(())
    }

    let mut rest = xml;
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").ok_or("unterminated declaration")? + 2..];
    }
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    loop {
        let lt = rest.find('<').unwrap_or(rest.len());
        let (text, after) = rest.split_at(lt);
        check_chars(text)?;
        if open.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root: {text:?}"));
        }
        if after.is_empty() {
            break;
        }
        if let Some(r) = after.strip_prefix("<!--") {
            rest = &r[r.find("-->").ok_or("unterminated comment")? + 3..];
        } else if let Some(r) = after.strip_prefix("<![CDATA[") {
            if open.is_empty() {
                return Err("CDATA outside the root".into());
            }
            let end = r.find("]]>").ok_or("unterminated CDATA")?;
            check_chars_only(&r[..end])?;
            rest = &r[end + 3..];
        } else if let Some(r) = after.strip_prefix("</") {
            let n = name_len(r);
            let name = &r[..n];
            let r = r[n..].trim_start();
            rest = r.strip_prefix('>').ok_or("bad end tag")?;
            if open.pop() != Some(name) {
                return Err(format!("</{name}> closes nothing open"));
            }
        } else {
            let r = &after[1..];
            let n = name_len(r);
            if n == 0 {
                return Err("a `<` that starts no tag".into());
            }
            let name = &r[..n];
            let mut r = &r[n..];
            let mut seen = Vec::new();
            if open.is_empty() {
                roots += 1;
            }
            loop {
                let trimmed = r.trim_start();
                let had_space = trimmed.len() < r.len();
                r = trimmed;
                if let Some(x) = r.strip_prefix("/>") {
                    r = x;
                    break;
                }
                if let Some(x) = r.strip_prefix('>') {
                    r = x;
                    open.push(name);
                    break;
                }
                if !had_space {
                    return Err(format!("attributes of <{name}> need spaces between them"));
                }
                let a = name_len(r);
                if a == 0 {
                    return Err(format!("bad attribute in <{name}>"));
                }
                let attr = &r[..a];
                if seen.contains(&attr) {
                    return Err(format!("attribute {attr} twice in <{name}>"));
                }
                seen.push(attr);
                r = r[a..]
                    .trim_start()
                    .strip_prefix('=')
                    .ok_or("attribute without =")?
                    .trim_start();
                let quote = r.chars().next().filter(|q| *q == '"' || *q == '\'');
                let quote = quote.ok_or("unquoted attribute")?;
                let body = &r[1..];
                let end = body.find(quote).ok_or("unterminated attribute")?;
                let value = &body[..end];
                if value.contains('<') {
                    return Err(format!("`<` in attribute {attr}"));
                }
                check_chars(value)?;
                r = &body[end + 1..];
            }
            rest = r;
        }
    }
    match (open.last(), roots) {
        (Some(name), _) => Err(format!("<{name}> is never closed")),
        (None, 1) => Ok(()),
        (None, n) => Err(format!("{n} root elements")),
    }
}

#[test]
fn the_well_formedness_check_rejects_broken_xml() {
    assert!(
        well_formed(r#"<?xml version="1.0"?><a x="1"><b/>t &amp; u<![CDATA[<&>]]></a>"#).is_ok()
    );
    for broken in [
        "<a><b></a></b>",
        "<a>R&D</a>",
        "<a>1 < 2</a>",
        r#"<a x="1" x="2"/>"#,
        "<a x=1/>",
        r#"<a x="<"/>"#,
        "<a/><b/>",
        "<a>",
        "<a>\u{1}</a>",
        "<a>&bogus;</a>",
        "<a><![CDATA[x</a>",
    ] {
        assert!(well_formed(broken).is_err(), "accepted {broken:?}");
    }
}

/// The text of the first element `selector` finds in an SVG document.
fn svg_text(svg: &str, selector: &str) -> String {
    let html = scraper::Html::parse_fragment(svg);
    let selector = scraper::Selector::parse(selector).expect("selector");
    html.select(&selector)
        .next()
        .map(|e| e.text().collect())
        .unwrap_or_else(|| panic!("nothing matches in {svg}"))
}

/// The shields.io endpoint JSON at `path`, checked for its four keys.
fn shields(snap: &Snapshot, path: &str) -> serde_json::Map<String, serde_json::Value> {
    let (body, content_type) = served(snap, path);
    assert!(content_type.starts_with("application/json"), "{path}");
    let json: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    let map = json.as_object().expect("an object").clone();
    let mut keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["color", "label", "message", "schemaVersion"],
        "{path}"
    );
    assert_eq!(map.get("schemaVersion"), Some(&serde_json::json!(1)));
    map
}

#[test]
fn badges_show_the_status_as_well_formed_svg_and_shields_json() {
    let quiet = snapshot(document(DRCHRONO));
    let (svg, content_type) = served(&quiet, "/badge.svg");
    assert!(content_type.starts_with("image/svg+xml"), "{content_type}");
    let svg = std::str::from_utf8(svg).expect("UTF-8");
    well_formed(svg).expect("well-formed");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg_text(svg, "title"), "status: All Systems Operational");
    let json = shields(&quiet, "/badge.json");
    assert_eq!(json.get("label"), Some(&serde_json::json!("status")));
    assert_eq!(
        json.get("message"),
        Some(&serde_json::json!("All Systems Operational"))
    );
    assert_eq!(json.get("color"), Some(&serde_json::json!("brightgreen")));
    for id in ["drchronocom1", "drchronoipad"] {
        let svg = text(&quiet, &format!("/components/{id}/badge.svg"));
        well_formed(&svg).expect("well-formed");
        assert!(svg_text(&svg, "title").ends_with(": Operational"), "{svg}");
    }

    let troubled = snapshot(document(HOSTILE));
    let svg = text(&troubled, "/badge.svg");
    well_formed(&svg).expect("well-formed");
    assert_eq!(svg_text(&svg, "title"), "status: Partial System Outage");
    let json = shields(&troubled, "/badge.json");
    assert_eq!(
        json.get("message"),
        Some(&serde_json::json!("Partial System Outage"))
    );
    assert_eq!(json.get("color"), Some(&serde_json::json!("orange")));

    // Names with markup are escaped, and read back exactly.
    let svg = text(&troubled, "/components/westlab00001/badge.svg");
    well_formed(&svg).expect("well-formed");
    assert_eq!(svg_text(&svg, "title"), "Lab <West> \"β\": Partial Outage");
    assert!(svg.contains("Partial Outage</text>"), "{svg}");
    let json = shields(&troubled, "/components/westlab00001/badge.json");
    assert_eq!(
        json.get("label"),
        Some(&serde_json::json!("Lab <West> \"β\""))
    );
    assert_eq!(
        json.get("message"),
        Some(&serde_json::json!("Partial Outage"))
    );
    let json = shields(&troubled, "/components/eastlab00001/badge.json");
    assert_eq!(json.get("message"), Some(&serde_json::json!("Operational")));
    assert_eq!(json.get("color"), Some(&serde_json::json!("brightgreen")));

    // A group has a badge too, with its worst child's status.
    let svg = text(&troubled, "/components/westgroup001/badge.svg");
    well_formed(&svg).expect("well-formed");
    assert_eq!(svg_text(&svg, "title"), "West & Co: Partial Outage");

    // A longer message makes a wider badge.
    let width = |svg: &str| -> u32 {
        let start = svg.find("width=\"").expect("width") + 7;
        let len = svg[start..].find('"').expect("end quote");
        svg[start..start + len].parse().expect("a number")
    };
    let short = text(&troubled, "/components/eastlab00001/badge.svg");
    let long = text(&troubled, "/components/westlab00001/badge.svg");
    assert!(width(&long) > width(&short));
}

#[test]
fn control_characters_in_names_do_not_break_the_xml() {
    let mut doc = document(HOSTILE);
    for c in &mut doc.components {
        c.name = format!("Bell\u{7} {}", c.name);
    }
    doc.incidents
        .iter_mut()
        .for_each(|i| i.name = format!("Form\u{c}feed {}", i.name));
    let snap = snapshot(doc);
    well_formed(&text(&snap, "/components/westlab00001/badge.svg")).expect("well-formed");
    atom_syndication::Feed::read_from(served(&snap, "/history.atom").0)
        .expect("atom_syndication reads it");
    rss::Channel::read_from(served(&snap, "/history.rss").0).expect("rss reads it");
    well_formed(&text(&snap, "/history.atom")).expect("the Atom feed is well-formed");
    well_formed(&text(&snap, "/history.rss")).expect("the RSS feed is well-formed");
}
