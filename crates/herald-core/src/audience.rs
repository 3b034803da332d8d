//! Who hears about incidents: subscribers (email, webhook, chat) with their state and the
//! components they follow, and incident templates — the reusable wording teams post from.
//! Delivery lives elsewhere; here are the rules for what a subscription may be.

use crate::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a subscriber is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberMode {
    Email,
    Webhook,
    Slack,
    Discord,
    Teams,
}

impl SubscriberMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberMode::Email => "email",
            SubscriberMode::Webhook => "webhook",
            SubscriberMode::Slack => "slack",
            SubscriberMode::Discord => "discord",
            SubscriberMode::Teams => "teams",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(SubscriberMode::Email),
            "webhook" => Some(SubscriberMode::Webhook),
            "slack" => Some(SubscriberMode::Slack),
            "discord" => Some(SubscriberMode::Discord),
            "teams" => Some(SubscriberMode::Teams),
            _ => None,
        }
    }
}

/// Where a subscription stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberState {
    /// Email not yet confirmed: gets no incident mail.
    Unconfirmed,
    Active,
    /// Deliveries keep failing; paused.
    Quarantined,
    Unsubscribed,
}

impl SubscriberState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberState::Unconfirmed => "unconfirmed",
            SubscriberState::Active => "active",
            SubscriberState::Quarantined => "quarantined",
            SubscriberState::Unsubscribed => "unsubscribed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unconfirmed" => Some(SubscriberState::Unconfirmed),
            "active" => Some(SubscriberState::Active),
            "quarantined" => Some(SubscriberState::Quarantined),
            "unsubscribed" => Some(SubscriberState::Unsubscribed),
            _ => None,
        }
    }
}

/// One subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: Id,
    pub mode: SubscriberMode,
    /// The address mail goes to; for webhooks, where failure notices go.
    pub email: Option<String>,
    /// The URL a webhook or chat message is posted to.
    pub endpoint: Option<String>,
    /// Followed components; empty means the whole page.
    pub component_ids: Vec<Id>,
    /// Set for a subscription to one incident only.
    pub incident_id: Option<Id>,
    pub state: SubscriberState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A request to subscribe, before checks.
#[derive(Clone, Debug, Default)]
pub struct NewSubscriber {
    pub mode: Option<SubscriberMode>,
    pub email: Option<String>,
    pub endpoint: Option<String>,
    pub component_ids: Vec<Id>,
    pub incident_id: Option<Id>,
    /// Email subscribers start active instead of waiting for confirmation.
    pub skip_confirmation: bool,
}

/// Why a subscription request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SubscriberError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> SubscriberError {
    SubscriberError {
        field,
        message: message.into(),
    }
}

/// A plausible email address: one `@`, something on each side, a dot in the domain, no spaces.
pub fn check_email(raw: &str) -> Result<String, SubscriberError> {
    crate::text::line("email", raw).map_err(|e| refuse("email", e.message))?;
    let email = raw.trim().to_ascii_lowercase();
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if ok {
        Ok(email)
    } else {
        Err(refuse("email", format!("`{raw}` is not an email address")))
    }
}

/// An http(s) URL without spaces.
pub fn check_endpoint(raw: &str) -> Result<String, SubscriberError> {
    crate::text::line("endpoint", raw).map_err(|e| refuse("endpoint", e.message))?;
    let url = raw.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.contains(char::is_whitespace)
        && url
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if ok {
        Ok(url.to_string())
    } else {
        Err(refuse("endpoint", format!("`{raw}` is not an http(s) URL")))
    }
}

/// Checks a request and builds the subscription it asks for. The mode defaults to email when
/// only an address is given and to webhook when an endpoint is. `known_component` tells which
/// component ids exist on the page.
pub fn new_subscriber(
    req: NewSubscriber,
    id: Id,
    now: DateTime<Utc>,
    known_component: impl Fn(&Id) -> bool,
) -> Result<Subscriber, SubscriberError> {
    let mode = match (req.mode, &req.endpoint) {
        (Some(m), _) => m,
        (None, Some(_)) => SubscriberMode::Webhook,
        (None, None) => SubscriberMode::Email,
    };
    let email = req.email.as_deref().map(check_email).transpose()?;
    let endpoint = req.endpoint.as_deref().map(check_endpoint).transpose()?;
    match mode {
        SubscriberMode::Email if email.is_none() => return Err(refuse("email", "is required")),
        SubscriberMode::Email if endpoint.is_some() => {
            return Err(refuse("endpoint", "an email subscriber has no endpoint"))
        }
        SubscriberMode::Webhook
        | SubscriberMode::Slack
        | SubscriberMode::Discord
        | SubscriberMode::Teams
            if endpoint.is_none() =>
        {
            return Err(refuse("endpoint", "is required"))
        }
        _ => {}
    }
    if let Some(bad) = req.component_ids.iter().find(|c| !known_component(c)) {
        return Err(refuse(
            "component_ids",
            format!("no component has id `{bad}` on this page"),
        ));
    }
    let state = if mode == SubscriberMode::Email && !req.skip_confirmation {
        SubscriberState::Unconfirmed
    } else {
        SubscriberState::Active
    };
    Ok(Subscriber {
        id,
        mode,
        email,
        endpoint,
        component_ids: req.component_ids,
        incident_id: req.incident_id,
        state,
        created_at: now,
        updated_at: now,
    })
}

/// Reusable wording for opening or updating an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentTemplate {
    pub id: Id,
    /// What the team picks it by.
    pub name: String,
    /// The incident name it fills in.
    pub title: String,
    pub body: String,
    pub update_status: Option<crate::IncidentStatus>,
    pub component_ids: Vec<Id>,
    pub should_send_notifications: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().expect("time")
    }

    #[test]
    fn emails_and_endpoints_are_checked() {
        assert_eq!(
            check_email(" Ops@Acme.Test ").as_deref(),
            Ok("ops@acme.test")
        );
        for bad in [
            "",
            "ops",
            "ops@",
            "@acme.test",
            "ops@acme",
            "o ps@acme.test",
            "a@b@c.d",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_endpoint("https://hooks.acme.test/x").is_ok());
        for bad in [
            "ftp://x.test",
            "https://",
            "https:///x",
            "http://a b",
            "hooks.acme.test",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_subscribers_wait_for_confirmation() {
        let known = |_: &Id| true;
        let req = NewSubscriber {
            email: Some("ops@acme.test".into()),
            ..Default::default()
        };
        let s = new_subscriber(req.clone(), Id::derive("s"), now(), known).expect("ok");
        assert_eq!(
            (s.mode, s.state),
            (SubscriberMode::Email, SubscriberState::Unconfirmed)
        );
        let skip = NewSubscriber {
            skip_confirmation: true,
            ..req
        };
        assert_eq!(
            new_subscriber(skip, Id::derive("s"), now(), known).map(|s| s.state),
            Ok(SubscriberState::Active)
        );
        let hook = NewSubscriber {
            endpoint: Some("https://h.test/x".into()),
            ..Default::default()
        };
        let s = new_subscriber(hook, Id::derive("h"), now(), known).expect("ok");
        assert_eq!(
            (s.mode, s.state),
            (SubscriberMode::Webhook, SubscriberState::Active)
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let none = |_: &Id| false;
        let cases = [
            (NewSubscriber::default(), "email"),
            (
                NewSubscriber {
                    mode: Some(SubscriberMode::Slack),
                    ..Default::default()
                },
                "endpoint",
            ),
            (
                NewSubscriber {
                    email: Some("x".into()),
                    ..Default::default()
                },
                "email",
            ),
            (
                NewSubscriber {
                    email: Some("a@b.test".into()),
                    component_ids: vec![Id::derive("c")],
                    ..Default::default()
                },
                "component_ids",
            ),
        ];
        for (req, field) in cases {
            assert_eq!(
                new_subscriber(req, Id::derive("s"), now(), none).map_err(|e| e.field),
                Err(field)
            );
        }
    }
}
