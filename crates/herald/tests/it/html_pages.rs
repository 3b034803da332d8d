//! The public HTML pages end to end: import a data file into a real (SQLite) store, rebuild the
//! snapshot with a fixed clock, fetch pages through the router and read them with an HTML parser.

use crate::common;

use axum::http::StatusCode;
use common::{App, TestApp};
use herald::app::DEMO_FILE;
use herald::render::{Branding, HTML};
use scraper::{ElementRef, Html, Selector};

/// A running site: an app on a store holding one data file, on a fixed clock.
struct Site {
    app: App,
}

/// A fetched page.
struct Page {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Page {
    fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }
}

async fn site(data: &str, now: &str, branding: Branding) -> Site {
    let app = TestApp::new()
        .with_files(&[data])
        .at(now)
        .with_branding(branding)
        .build()
        .await;
    Site { app }
}

async fn drchrono(now: &str) -> Site {
    site(DEMO_FILE, now, Branding::default()).await
}

impl Site {
    async fn get(&self, path: &str) -> Page {
        let reply = self.app.get(path, &[]).await;
        Page {
            status: reply.status,
            content_type: reply.header("content-type").to_string(),
            body: String::from_utf8(reply.body).expect("utf-8"),
        }
    }

    async fn ok(&self, path: &str) -> Html {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.content_type, HTML, "{path}");
        page.html()
    }
}

fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("valid selector")
}

fn all<'a>(root: ElementRef<'a>, css: &str) -> Vec<ElementRef<'a>> {
    root.select(&sel(css)).collect()
}

fn find<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&sel(css)).collect()
}

/// The element's text with runs of whitespace collapsed.
fn text(e: ElementRef) -> String {
    e.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn texts(doc: &Html, css: &str) -> Vec<String> {
    find(doc, css).into_iter().map(text).collect()
}

fn one<'a>(doc: &'a Html, css: &str) -> ElementRef<'a> {
    let found = find(doc, css);
    assert_eq!(found.len(), 1, "exactly one `{css}`");
    found[0]
}

const SLOWNESS: &str = "General system slowness on the DrChrono platform";
const COUNTS: &str = "Task and message counts are temporarily unavailable";

#[tokio::test]
async fn incident_page_follows_the_report() {
    let site = drchrono("2022-11-24T20:00:00Z").await;
    let doc = site.ok("/incidents/slowness2211").await;

    assert_eq!(text(one(&doc, "h1")), SLOWNESS);
    assert_eq!(
        text(one(&doc, ".report__subtitle")),
        "Incident Report for DrChrono"
    );
    assert_eq!(text(one(&doc, "h2.postmortem__title")), "Postmortem");
    assert!(text(one(&doc, ".postmortem__body")).starts_with("On 11/3/ users encountered"));
    assert_eq!(
        text(one(&doc, ".timeline-note")),
        "All times are PST Timezone."
    );

    assert_eq!(
        texts(&doc, "table.timeline thead th"),
        ["Date/Time", "Activity"]
    );
    let rows = find(&doc, "table.timeline tbody tr");
    assert_eq!(rows.len(), 28);
    let first_time = all(rows[0], "td time")[0];
    assert_eq!(text(first_time), "2022-11-02 22:00:00");
    assert_eq!(
        first_time.value().attr("datetime"),
        Some("2022-11-03T05:00:00Z")
    );
    assert_eq!(
        first_time.value().attr("title"),
        Some("2022-11-02 22:00:00 PDT")
    );
    assert!(text(rows[0]).contains("An Amazon Web Services system failure"));
    // After the clocks went back the true zone is PST.
    let after_change = all(rows[26], "td time")[0];
    assert_eq!(text(after_change), "2022-11-06 09:50:00");
    assert_eq!(
        after_change.value().attr("title"),
        Some("2022-11-06 09:50:00 PST")
    );

    let headings = texts(&doc, ".postmortem h3");
    assert_eq!(
        headings,
        [
            "Timeline",
            "Contributing Factor(s)",
            "Stabilization Steps",
            "Impact",
            "Corrective Actions"
        ]
    );
    assert_eq!(
        text(one(&doc, ".postmortem__posted")),
        "Posted Nov 14, 2022 - 11:37 PST"
    );

    assert_eq!(
        texts(&doc, "ol.update-list > li.update .update__label"),
        ["Resolved", "Monitoring", "Update", "Update", "Identified"]
    );
    assert_eq!(
        texts(&doc, "ol.update-list > li.update .update__posted time"),
        [
            "Nov 04, 2022 - 07:01 PDT",
            "Nov 03, 2022 - 14:00 PDT",
            "Nov 03, 2022 - 12:40 PDT",
            "Nov 03, 2022 - 09:12 PDT",
            "Nov 03, 2022 - 05:44 PDT"
        ]
    );
    let first_update = find(&doc, "li.update")[0];
    assert_eq!(
        text(all(first_update, ".update__posted")[0]),
        "Posted Nov 04, 2022 - 07:01 PDT"
    );
    assert!(text(first_update).contains("site slowness have been resolved"));
    assert_eq!(
        text(one(&doc, ".affected")),
        "This incident affected: drchrono.com and drchrono iPad EHR."
    );

    // The report's order: postmortem, then updates, then what was affected.
    let body = &site.get("/incidents/slowness2211").await.body;
    let at = |needle: &str| body.find(needle).expect(needle);
    assert!(at("postmortem__title") < at("class=\"update-list\""));
    assert!(at("class=\"update-list\"") < at("class=\"affected\""));
}

#[tokio::test]
async fn home_page_shows_status_components_bars_and_past_days() {
    let site = drchrono("2022-11-10T20:00:00Z").await;
    let doc = site.ok("/").await;

    assert_eq!(one(&doc, "html").value().attr("lang"), Some("en"));
    for landmark in ["header", "main", "footer", "nav"] {
        assert!(!find(&doc, landmark).is_empty(), "{landmark}");
    }
    let banner = one(&doc, ".banner");
    assert!(banner.value().classes().any(|c| c == "banner--none"));
    assert_eq!(text(one(&doc, ".banner__text")), "All Systems Operational");

    assert_eq!(
        texts(&doc, ".component .component__name"),
        ["drchrono.com", "drchrono iPad EHR"]
    );
    assert_eq!(
        texts(&doc, ".component .status"),
        ["Operational", "Operational"]
    );
    for component in find(&doc, "li.component") {
        let bar = all(component, ".uptime__bar")[0];
        assert_eq!(bar.value().attr("role"), Some("img"));
        assert!(bar
            .value()
            .attr("aria-label")
            .expect("label")
            .contains("100% uptime"));
        let cells = all(component, ".uptime__day");
        assert_eq!(cells.len(), 90);
        assert_eq!(cells[89].value().attr("data-date"), Some("2022-11-10"));
        assert_eq!(cells[0].value().attr("data-date"), Some("2022-08-13"));
        let nov3 = cells
            .iter()
            .find(|c| c.value().attr("data-date") == Some("2022-11-03"))
            .expect("Nov 3 cell");
        assert!(nov3.value().classes().any(|c| c == "uptime__day--degraded"));
        let title = nov3.value().attr("title").expect("title");
        assert!(
            title.starts_with("Nov 3, 2022 — No downtime recorded, degraded performance"),
            "{title}"
        );
        assert!(title.ends_with(&format!("Related: {SLOWNESS}")), "{title}");
        let quiet = cells[80].value();
        assert!(quiet.classes().any(|c| c == "uptime__day--ok"));
        assert_eq!(
            quiet.attr("title"),
            Some("Nov 1, 2022 — No downtime recorded")
        );
        assert_eq!(text(all(component, ".uptime__percent")[0]), "100% uptime");
    }

    let days = find(&doc, "section.day");
    assert_eq!(days.len(), 15);
    let headings = texts(&doc, ".day__date");
    assert_eq!(headings.first().map(String::as_str), Some("Nov 10, 2022"));
    assert_eq!(headings.get(6).map(String::as_str), Some("Nov 4, 2022"));
    assert_eq!(headings.get(7).map(String::as_str), Some("Nov 3, 2022"));
    assert_eq!(headings.last().map(String::as_str), Some("Oct 27, 2022"));
    for (n, day) in days.iter().enumerate() {
        let names: Vec<String> = all(*day, ".entry__name").into_iter().map(text).collect();
        let empty: Vec<String> = all(*day, ".day__empty").into_iter().map(text).collect();
        match n {
            6 => assert_eq!(names, [COUNTS]),
            7 => assert_eq!(names, [SLOWNESS]),
            _ => {
                assert!(names.is_empty(), "{}", headings[n]);
                assert_eq!(empty, ["No incidents reported."]);
            }
        }
    }
    let nov3 = days[7];
    assert_eq!(
        all(nov3, ".entry__name a")[0].value().attr("href"),
        Some("/incidents/slowness2211")
    );
    assert_eq!(text(all(nov3, ".update__label")[0]), "Resolved");

    let links: Vec<&str> = find(&doc, "a")
        .into_iter()
        .filter_map(|a| a.value().attr("href"))
        .collect();
    for href in ["/history", "/history.atom", "/history.rss"] {
        assert!(links.contains(&href), "{href}");
    }

    let index = site.get("/index.html").await;
    assert_eq!(index.body, site.get("/").await.body);
}

#[tokio::test]
async fn history_groups_by_month_and_paginates() {
    let site = drchrono("2022-11-24T20:00:00Z").await;
    let doc = site.ok("/history").await;
    assert_eq!(
        texts(&doc, ".month__title"),
        ["November 2022", "October 2022", "September 2022"]
    );
    let november = find(&doc, "section.month")[0];
    let names: Vec<String> = all(november, ".entry__name")
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(names, [COUNTS, SLOWNESS]);
    assert!(find(&doc, ".pagination").is_empty());

    // Four months on, November 2022 is on the second page.
    let later = drchrono("2023-03-15T12:00:00Z").await;
    let first = later.ok("/history").await;
    assert_eq!(
        texts(&first, ".month__title"),
        ["March 2023", "February 2023", "January 2023"]
    );
    assert_eq!(
        one(&first, ".pagination__older").value().attr("href"),
        Some("/history/page/2")
    );
    assert!(find(&first, ".pagination__newer").is_empty());
    let second = later.ok("/history/page/2").await;
    assert_eq!(
        texts(&second, ".month__title"),
        ["December 2022", "November 2022", "October 2022"]
    );
    assert_eq!(
        texts(&second, ".month__empty"),
        [
            "No incidents reported this month.",
            "No incidents reported this month."
        ]
    );
    assert!(text(one(&second, "main")).contains(SLOWNESS));
    assert_eq!(
        one(&second, ".pagination__newer").value().attr("href"),
        Some("/history")
    );
    assert!(find(&second, ".pagination__older").is_empty());
    assert_eq!(
        later.get("/history/page/3").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page() {
    let site = drchrono("2022-11-24T20:00:00Z").await;
    for path in ["/nope", "/incidents/aaaaaaaaaaaa", "/history/page/99"] {
        let page = site.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.content_type, HTML);
        let doc = page.html();
        assert_eq!(text(one(&doc, "h1")), "Page not found");
        assert!(find(&doc, "a[href='/']").len() >= 2);
    }
}

/// Checks every HTML page of a site: the one deferred script and nothing inline, one h1 first,
/// headings that never skip a level going down. Returns the paths checked.
fn check_every_page(site: &Site) -> Vec<String> {
    let snapshot = site.app.state.site.snapshot.load_full();
    let html_paths: Vec<&str> = snapshot
        .paths()
        .into_iter()
        .filter(|p| snapshot.get(p).is_some_and(|e| e.content_type == HTML))
        .collect();
    for path in &html_paths {
        let entry = snapshot.get(path).expect("entry");
        let doc = Html::parse_document(std::str::from_utf8(&entry.identity).expect("utf-8"));
        let scripts = find(&doc, "script");
        assert_eq!(scripts.len(), 1, "{path}");
        let script = scripts[0].value();
        assert_eq!(script.attr("src"), Some("/assets/herald.js"), "{path}");
        assert!(script.attr("defer").is_some(), "{path}");
        assert_eq!(text(scripts[0]), "", "{path}");
        assert!(find(&doc, "style, [style]").is_empty(), "{path}");
        // One h1 first, and headings never skip a level going down.
        let levels: Vec<u8> = find(&doc, "h1, h2, h3, h4, h5, h6")
            .into_iter()
            .map(|h| h.value().name()[1..].parse().expect("heading level"))
            .collect();
        assert_eq!(levels.first(), Some(&1), "{path}");
        assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1, "{path}");
        assert!(
            levels.windows(2).all(|w| w[1] <= w[0] + 1),
            "{path}: {levels:?}"
        );
    }
    html_paths.into_iter().map(String::from).collect()
}

#[tokio::test]
async fn pages_load_only_the_one_script_and_their_assets_exist() {
    let site = drchrono("2022-11-24T20:00:00Z").await;
    let html_paths = check_every_page(&site);
    for expected in [
        "/",
        "/index.html",
        "/404.html",
        "/history",
        "/incidents/slowness2211",
        "/incidents/countsoff221",
        "/components/drchronocom1",
        "/components/drchronoipad",
    ] {
        assert!(html_paths.iter().any(|p| p == expected), "{expected}");
    }
    for (path, content_type) in [
        ("/assets/herald.css", "text/css; charset=utf-8"),
        ("/assets/theme.css", "text/css; charset=utf-8"),
        ("/assets/herald.js", "text/javascript; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let page = site.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.content_type, content_type, "{path}");
        assert!(!page.body.is_empty());
    }
}

#[tokio::test]
async fn component_page_shows_status_bar_and_incidents() {
    let site = drchrono("2022-11-10T20:00:00Z").await;
    let doc = site.ok("/components/drchronocom1").await;
    assert_eq!(text(one(&doc, "h1")), "drchrono.com");
    assert_eq!(
        text(one(&doc, ".component__current")),
        "Current status: Operational"
    );
    assert_eq!(find(&doc, ".uptime__day").len(), 90);
    assert_eq!(
        texts(&doc, ".component-incidents .entry__name"),
        [COUNTS, SLOWNESS]
    );
    // Newest first: every day an incident was open, with what the component went through.
    let notable = texts(&doc, ".notable-days li");
    assert_eq!(notable.len(), 6, "{notable:?}");
    assert!(notable[0].starts_with("Nov 7, 2022: No downtime recorded; Related: "));
    assert_eq!(
        notable[4],
        format!("Nov 3, 2022: No downtime recorded, degraded performance 18 hrs 16 mins; Related: {SLOWNESS}")
    );
}

#[tokio::test]
async fn branding_sets_logo_and_theme() {
    let branding = Branding {
        logo_url: Some("https://cdn.example.com/logo.svg".into()),
        accent_color: Some("#aa3300".into()),
    };
    let site = site(DEMO_FILE, "2022-11-24T20:00:00Z", branding).await;
    let doc = site.ok("/").await;
    let logo = one(&doc, ".brand__logo");
    assert_eq!(
        logo.value().attr("src"),
        Some("https://cdn.example.com/logo.svg")
    );
    assert_eq!(logo.value().attr("alt"), Some("DrChrono"));
    assert!(site
        .get("/assets/theme.css")
        .await
        .body
        .contains("--accent: #aa3300;"));
}

/// A page with a group, a component that shows only when degraded, an unresolved incident
/// putting a component in major outage, maintenance under way and maintenance to come.
const ACME: &str = r#"
version = 1

[page]
id = "acmepage0001"
name = "Acme Cloud"
url = "https://status.acme.test"
time_zone = "Europe/London"

[[component_groups]]
id = "acmegroup001"
name = "Core Platform"
description = "What everything else runs on"

[[components]]
id = "acmeapi00001"
name = "API"
group = "acmegroup001"
status = "major_outage"
created_at = "2024-06-10T08:00:00Z"

[[components]]
id = "acmedb000001"
name = "Database"
group = "acmegroup001"
created_at = "2024-01-01T00:00:00Z"

[[components]]
id = "acmeftp00001"
name = "Legacy FTP"
only_show_if_degraded = true
created_at = "2024-01-01T00:00:00Z"

[[components]]
id = "acmeweb00001"
name = "Website"
status = "under_maintenance"
created_at = "2024-01-01T00:00:00Z"

[[incidents]]
id = "acmeinc00001"
name = "API unavailable"
status = "identified"
impact = "critical"
created_at = "2024-06-10T08:00:00Z"
components = ["acmeapi00001"]

[[incidents.updates]]
id = "acmeupd00001"
status = "investigating"
display_at = "2024-06-10T08:00:00Z"
body = "We are looking into errors from the API. <script>alert(1)</script> [x](javascript:alert(1))"

[[incidents.updates]]
id = "acmeupd00002"
status = "identified"
display_at = "2024-06-10T09:00:00Z"
body = "A failed **load balancer** is the cause."

[[maintenances]]
id = "acmemaint001"
name = "Website upgrade"
status = "in_progress"
scheduled_for = "2024-06-10T09:00:00Z"
scheduled_until = "2024-06-10T11:00:00Z"
created_at = "2024-06-01T00:00:00Z"
components = ["acmeweb00001"]

[[maintenances.updates]]
id = "acmemupd0001"
status = "scheduled"
display_at = "2024-06-01T00:00:00Z"
body = "We will upgrade the website."

[[maintenances.updates]]
id = "acmemupd0002"
status = "in_progress"
display_at = "2024-06-10T09:00:00Z"
body = "The upgrade has begun."

[[maintenances]]
id = "acmemaint002"
name = "Database failover test"
status = "scheduled"
scheduled_for = "2024-06-20T22:00:00Z"
scheduled_until = "2024-06-21T01:00:00Z"
created_at = "2024-06-01T00:00:00Z"
components = ["acmedb000001"]
"#;

#[tokio::test]
async fn outage_groups_and_maintenance_render() {
    let site = site(ACME, "2024-06-10T10:00:00Z", Branding::default()).await;
    let checked = check_every_page(&site);
    assert!(checked.iter().any(|p| p == "/maintenance/acmemaint002"));
    let doc = site.ok("/").await;

    assert_eq!(text(one(&doc, ".banner__text")), "Major System Outage");
    assert!(one(&doc, ".banner")
        .value()
        .classes()
        .any(|c| c == "banner--critical"));

    let group = one(&doc, "li.group");
    assert_eq!(text(all(group, ".group__name")[0]), "Core Platform");
    assert_eq!(text(all(group, ".group__head .status")[0]), "Major Outage");
    assert_eq!(group.value().attr("data-status"), Some("major_outage"));
    let children: Vec<String> = all(group, "li.component .component__name")
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(children, ["API", "Database"]);
    let statuses: Vec<String> = all(group, "li.component .status")
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(statuses, ["Major Outage", "Operational"]);
    // Top level: the group, then the website; the FTP server is operational, so hidden.
    let top: Vec<String> = find(
        &doc,
        "ul.component-list:not(.component-list--children) > li",
    )
    .into_iter()
    .map(|li| {
        all(li, ".group__name, .component__name")
            .first()
            .map(|e| text(*e))
            .unwrap_or_default()
    })
    .collect();
    assert_eq!(top, ["Core Platform", "Website"]);
    assert!(!doc.root_element().html().contains("Legacy FTP"));

    let api_cells = all(group, "li.component")[0];
    let cells = all(api_cells, ".uptime__day");
    assert_eq!(cells.len(), 90);
    assert!(cells[89]
        .value()
        .classes()
        .any(|c| c == "uptime__day--major"));
    assert!(cells[88]
        .value()
        .classes()
        .any(|c| c == "uptime__day--none"));
    assert_eq!(
        cells[88].value().attr("title"),
        Some("Jun 9, 2024 — No data")
    );
    let today = cells[89].value().attr("title").expect("title");
    assert!(
        today.starts_with("Jun 10, 2024 — Major outage 2 hrs; Related: API unavailable"),
        "{today}"
    );

    let incidents = one(&doc, ".notices--incidents");
    assert_eq!(text(all(incidents, ".entry__name")[0]), "API unavailable");
    assert_eq!(text(all(incidents, ".update__label")[0]), "Identified");
    assert_eq!(
        text(all(incidents, ".update__posted")[0]),
        "Posted Jun 10, 2024 - 10:00 BST"
    );
    let active = one(&doc, ".notices--maintenance");
    assert_eq!(text(all(active, ".entry__name")[0]), "Website upgrade");
    assert_eq!(
        text(all(active, ".entry__window")[0]),
        "Scheduled for Jun 10, 10:00 - 12:00 BST"
    );
    let upcoming = one(&doc, ".notices--scheduled");
    assert_eq!(
        text(all(upcoming, ".entry__window")[0]),
        "Scheduled for Jun 20, 23:00 BST - Jun 21, 02:00 BST"
    );

    let incident = site.ok("/incidents/acmeinc00001").await;
    assert_eq!(
        texts(&incident, ".update__label"),
        ["Identified", "Investigating"]
    );
    assert!(find(&incident, ".postmortem").is_empty());
    assert_eq!(find(&incident, "script").len(), 1);
    assert!(find(&incident, "[href^='javascript'], [href^='JAVASCRIPT']").is_empty());
    let first = find(&incident, ".update__body")[1];
    assert!(text(first).starts_with("We are looking into errors from the API."));
    assert!(!first.html().to_lowercase().contains("javascript:"));
    assert_eq!(
        text(one(&incident, ".affected")),
        "This incident affected: API."
    );

    let maintenance = site.ok("/maintenance/acmemaint001").await;
    assert_eq!(text(one(&maintenance, "h1")), "Website upgrade");
    assert_eq!(
        text(one(&maintenance, ".report__window")),
        "Scheduled for Jun 10, 10:00 - 12:00 BST"
    );
    assert_eq!(
        texts(&maintenance, ".update__label"),
        ["In progress", "Scheduled"]
    );
    assert_eq!(
        text(one(&maintenance, ".affected")),
        "This scheduled maintenance affected: Website."
    );
}
