//! Turns a notice into the messages each kind of subscriber gets, once per notification: the
//! Statuspage webhook body, an email (subject, text, HTML) and a chat message. Per-subscriber
//! parts (unsubscribe, preferences and confirmation links) are left as placeholders that
//! [`personalise`] fills in at delivery time.

use crate::render::charts::escape;
use crate::render::{markdown, webhook, Branding, RenderContext, SnapshotInput};
use chrono::{DateTime, Utc};
use herald_core::notify::{email_subject, Notice, NoticeKind, NoticeSubject};
use herald_core::{ComponentStatus, PageDocument};
use serde::{Deserialize, Serialize};

pub const UNSUBSCRIBE: &str = "__HERALD_UNSUBSCRIBE__";
pub const MANAGE: &str = "__HERALD_MANAGE__";
pub const CONFIRM: &str = "__HERALD_CONFIRM__";

/// Everything sent for one notification, before personalisation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Messages {
    /// The webhook body as JSON text (empty for confirmations).
    pub webhook: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub chat_title: String,
    pub chat_text: String,
    /// Where the incident or maintenance is shown.
    pub link: String,
    /// 0xRRGGBB for chat accents.
    pub colour: u32,
}

/// Fills in one subscriber's links.
pub fn personalise(template: &str, unsubscribe: &str, manage: &str, confirm: &str) -> String {
    if !template.contains("__HERALD_") {
        return template.to_string();
    }
    template
        .replace(UNSUBSCRIBE, unsubscribe)
        .replace(MANAGE, manage)
        .replace(CONFIRM, confirm)
}

fn status_label(kind: NoticeKind, status: &str) -> String {
    if kind == NoticeKind::PostmortemPublished {
        return "Postmortem".into();
    }
    let mut label = status.replace('_', " ");
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    label
}

/// Renders `notice` against the page as it is now (names, zone, branding); the incident or
/// maintenance itself is taken from the notice, as it was when the change was made.
pub fn render(
    doc: &PageDocument,
    branding: &Branding,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Messages {
    let mut doc = doc.clone();
    match &notice.subject {
        NoticeSubject::Incident(i) => {
            doc.incidents.retain(|x| x.id != i.id);
            doc.incidents.push((**i).clone());
        }
        NoticeSubject::Maintenance(m) => {
            doc.maintenances.retain(|x| x.id != m.id);
            doc.maintenances.push((**m).clone());
        }
        _ => {}
    }
    let input = SnapshotInput {
        doc,
        history: Vec::new(),
        now,
        branding: branding.clone(),
        extras: Default::default(),
    };
    let ctx = RenderContext::new(&input);
    let base = ctx.base_url().to_string();
    let page = input.doc.page.name.clone();
    let subject = email_subject(&page, notice.kind, &notice.subject);
    let zone = ctx.tz;
    let when = |t: DateTime<Utc>| {
        t.with_timezone(&zone)
            .format("%b %-d, %H:%M %Z")
            .to_string()
    };
    let component_names = |ids: &[herald_core::Id]| {
        ids.iter()
            .filter_map(|id| input.doc.components.iter().find(|c| &c.id == id))
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // (heading, status label, body markdown, posted at, affected, link, colour, webhook)
    let (heading, label, body, at, affected, link, colour, hook) = match &notice.subject {
        NoticeSubject::Incident(i) => {
            let u = i.updates.first();
            let body = match (notice.kind, &i.postmortem) {
                (NoticeKind::PostmortemPublished, Some(pm)) => pm.body.clone(),
                _ => u.map(|u| u.body.clone()).unwrap_or_default(),
            };
            let colour = match i.impact {
                herald_core::Impact::Critical => 0xE74C3C,
                herald_core::Impact::Major => 0xE67E22,
                herald_core::Impact::Minor => 0xF1C40F,
                _ => 0x3498DB,
            };
            let hook = webhook::incident_payload(&ctx, i, UNSUBSCRIBE, now).to_string();
            (
                i.name.clone(),
                status_label(notice.kind, i.status.as_str()),
                body,
                u.map(|u| u.display_at).unwrap_or(i.updated_at),
                component_names(&i.component_ids),
                format!("{base}/incidents/{}", i.id),
                if i.status == herald_core::IncidentStatus::Resolved {
                    0x2ECC71
                } else {
                    colour
                },
                hook,
            )
        }
        NoticeSubject::Maintenance(m) => {
            let u = m.updates.first();
            let mut body = u.map(|u| u.body.clone()).unwrap_or_default();
            let window = format!(
                "Scheduled for {} until {}.",
                when(m.scheduled_for),
                when(m.scheduled_until)
            );
            body = if body.is_empty() {
                window
            } else {
                format!("{body}\n\n{window}")
            };
            let hook = webhook::maintenance_payload(&ctx, m, UNSUBSCRIBE, now).to_string();
            (
                m.name.clone(),
                if notice.kind == NoticeKind::MaintenanceReminder {
                    "Reminder".into()
                } else {
                    status_label(notice.kind, m.status.as_str())
                },
                body,
                u.map(|u| u.display_at).unwrap_or(m.updated_at),
                component_names(&m.component_ids),
                format!("{base}/maintenance/{}", m.id),
                0x3498DB,
                hook,
            )
        }
        NoticeSubject::Component { component, change } => {
            let change_id = herald_core::Id::derive(&format!(
                "{}:{}",
                component.id,
                change.at.timestamp_millis()
            ));
            let hook =
                webhook::component_payload(&ctx, component, change, &change_id, UNSUBSCRIBE, now)
                    .to_string();
            let colour = match change.new_status {
                ComponentStatus::Operational => 0x2ECC71,
                ComponentStatus::DegradedPerformance => 0xF1C40F,
                ComponentStatus::PartialOutage => 0xE67E22,
                ComponentStatus::MajorOutage => 0xE74C3C,
                ComponentStatus::UnderMaintenance => 0x3498DB,
            };
            (
                component.name.clone(),
                status_label(notice.kind, change.new_status.as_str()),
                format!(
                    "{} is now {}.",
                    component.name,
                    change.new_status.as_str().replace('_', " ")
                ),
                change.at,
                component.name.clone(),
                base.clone(),
                colour,
                hook,
            )
        }
        NoticeSubject::Subscription => {
            let text = format!(
                "Someone (hopefully you) asked to receive {page} status updates at this address.\n\n\
                 Confirm the subscription: {CONFIRM}\n\n\
                 If you did not ask, ignore this message: nothing will be sent until you confirm.\n"
            );
            let html = format!(
                "<!doctype html><html><body style=\"font-family:sans-serif\">\
                 <p>Someone (hopefully you) asked to receive {} status updates at this address.</p>\
                 <p><a href=\"{CONFIRM}\">Confirm the subscription</a></p>\
                 <p>If you did not ask, ignore this message: nothing will be sent until you confirm.</p>\
                 </body></html>",
                escape(&page)
            );
            return Messages {
                subject,
                text,
                html,
                link: base,
                ..Messages::default()
            };
        }
    };
    let affected_line = if affected.is_empty() {
        String::new()
    } else {
        format!("\nAffected: {affected}\n")
    };
    let text = format!(
        "{heading}\n\n{label} - {body}\n\n{posted}\n{affected_line}\nView it on the status page: {link}\n\n\
         --\nYou are subscribed to {page} status updates.\nManage your subscription: {MANAGE}\n\
         Unsubscribe: {UNSUBSCRIBE}\n",
        posted = when(at),
    );
    let accent = branding
        .accent_color
        .clone()
        .unwrap_or_else(|| "#1f6feb".into());
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#222\">\
         <div style=\"max-width:600px;margin:0 auto\">\
         <h1 style=\"font-size:18px;border-bottom:3px solid {accent};padding-bottom:8px\">{page_e}</h1>\
         <h2 style=\"font-size:16px\">{heading_e}</h2>\
         <p><strong>{label_e}</strong> &mdash; </p>{body_html}\
         <p style=\"color:#666;font-size:13px\">{posted_e}{affected_e}</p>\
         <p><a href=\"{link_e}\" style=\"color:{accent}\">View it on the status page</a></p>\
         <hr><p style=\"color:#666;font-size:12px\">You are subscribed to {page_e} status updates. \
         <a href=\"{MANAGE}\">Manage your subscription</a> or <a href=\"{UNSUBSCRIBE}\">unsubscribe</a>.</p>\
         </div></body></html>",
        accent = escape(&accent),
        page_e = escape(&page),
        heading_e = escape(&heading),
        label_e = escape(&label),
        body_html = markdown::to_html(&body),
        posted_e = escape(&when(at)),
        affected_e = if affected.is_empty() {
            String::new()
        } else {
            format!("<br>Affected: {}", escape(&affected))
        },
        link_e = escape(&link),
    );
    Messages {
        webhook: hook,
        subject,
        text,
        html,
        chat_title: format!("{heading}: {label}"),
        chat_text: body,
        link,
        colour,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::datafile::{DataFile, Format};

    #[test]
    fn placeholders_are_filled_per_subscriber() {
        let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().expect("time");
        let doc = DataFile::parse(
            include_str!("../../../../../examples/drchrono-2022-11.toml"),
            Format::Toml,
        )
        .expect("parse")
        .into_document(None, now)
        .expect("doc");
        let mut inc = doc.incidents[0].clone();
        inc.backfilled = false;
        let notice = Notice {
            kind: NoticeKind::IncidentUpdated,
            subject_id: inc.id.clone(),
            component_ids: inc.component_ids.clone(),
            subject: NoticeSubject::Incident(Box::new(inc)),
            subscriber_id: None,
        };
        let m = render(&doc, &Branding::default(), &notice, now);
        assert!(m.subject.contains("[Incident update]"), "{}", m.subject);
        assert!(m.text.contains(UNSUBSCRIBE) && m.html.contains(MANAGE));
        let hook = personalise(&m.webhook, "https://u", "https://m", "https://c");
        let v: serde_json::Value = serde_json::from_str(&hook).expect("json");
        assert_eq!(v["meta"]["unsubscribe"], "https://u");
        assert!(!personalise(&m.text, "U", "M", "C").contains("__HERALD_"));
    }
}
