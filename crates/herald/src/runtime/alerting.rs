//! Team alerts: telling the people who run the service (not the public) that a monitor changed
//! state or that Herald drafted or opened an incident. Channels are email addresses and
//! incoming webhooks (generic JSON, Slack, Discord, Microsoft Teams), each in its own format.
//!
//! Sending is best effort and in the background: a few quick retries, then a warning in the
//! log. Webhook URLs carry their secret in the path, so logs name only scheme and host.

use crate::runtime::notify::netguard::{Guard, TargetPolicy};
use chrono::{DateTime, Utc};
use herald_core::monitor::{AlertChannel, ChannelKind};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How serious a team alert is; sets colours and wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertLevel {
    Down,
    Degraded,
    Up,
    Draft,
}

impl AlertLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Down => "down",
            AlertLevel::Degraded => "degraded",
            AlertLevel::Up => "up",
            AlertLevel::Draft => "draft",
        }
    }

    /// A colour for chat cards, as RGB.
    fn colour(self) -> u32 {
        match self {
            AlertLevel::Down => 0xcf222e,
            AlertLevel::Degraded => 0xbf8700,
            AlertLevel::Up => 0x1a7f37,
            AlertLevel::Draft => 0x0969da,
        }
    }
}

/// One thing the team should know.
#[derive(Clone, Debug, PartialEq)]
pub struct TeamAlert {
    pub title: String,
    pub text: String,
    pub level: AlertLevel,
    pub link: Option<String>,
    pub at: DateTime<Utc>,
}

/// The JSON body a webhook-kind channel receives; `None` for email.
pub fn webhook_body(kind: ChannelKind, alert: &TeamAlert) -> Option<Value> {
    let link_line = alert
        .link
        .as_ref()
        .map(|l| format!("\n{l}"))
        .unwrap_or_default();
    let body = match kind {
        ChannelKind::Email => return None,
        ChannelKind::Webhook => json!({
            "event": "herald.team_alert",
            "level": alert.level.as_str(),
            "title": alert.title,
            "text": alert.text,
            "link": alert.link,
            "at": alert.at.to_rfc3339(),
        }),
        ChannelKind::Slack => {
            let mut blocks = vec![
                json!({"type": "header", "text": {"type": "plain_text", "text": alert.title}}),
                json!({"type": "section", "text": {"type": "mrkdwn", "text": alert.text}}),
            ];
            if let Some(link) = &alert.link {
                blocks.push(json!({"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in Herald"}, "url": link}
                ]}));
            }
            json!({"text": format!("{}: {}{link_line}", alert.title, alert.text), "blocks": blocks})
        }
        ChannelKind::Discord => json!({
            "content": alert.title,
            "embeds": [{
                "title": alert.title,
                "description": alert.text,
                "url": alert.link,
                "color": alert.level.colour(),
                "timestamp": alert.at.to_rfc3339(),
            }],
        }),
        ChannelKind::Teams => {
            let mut card = json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": alert.title,
                "themeColor": format!("{:06X}", alert.level.colour()),
                "title": alert.title,
                "text": alert.text,
            });
            if let Some(link) = &alert.link {
                card["potentialAction"] = json!([{
                    "@type": "OpenUri",
                    "name": "Open in Herald",
                    "targets": [{"os": "default", "uri": link}],
                }]);
            }
            card
        }
    };
    Some(body)
}

/// Scheme and host of a URL, for logs.
pub fn loggable(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => "an invalid URL".into(),
    }
}

/// Why a channel could not be told.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("{0}")]
    Failed(String),
}

/// Why one try failed.
enum Failure {
    /// The target guard refused the target: trying again changes nothing.
    Refused(String),
    Other(String),
}

/// Sends team alerts. Cheap to share.
#[derive(Clone)]
pub struct Alerter {
    /// Connects only where `guard` allows; `None` only in the placeholder a state starts with
    /// when not even that client could be built.
    http: Option<reqwest::Client>,
    guard: Guard,
    mail: Option<Arc<crate::runtime::notify::mail::Mailer>>,
    attempts: u32,
}

impl Alerter {
    /// Fails when the HTTP client cannot be built: sending without the guard is not an option.
    pub fn new(
        mail: Option<Arc<crate::runtime::notify::mail::Mailer>>,
        timeout: Duration,
        guard: Guard,
    ) -> Result<Alerter, reqwest::Error> {
        let http = guard.client(Alerter::client_settings(timeout))?;
        Ok(Alerter {
            http: Some(http),
            guard,
            mail,
            attempts: 3,
        })
    }

    /// What a state holds until `app::prepare` puts the configured one in: no mail, no
    /// allow-list. If even its client cannot be built it sends no webhooks.
    pub fn unconfigured() -> Alerter {
        let guard = Guard::new(TargetPolicy::default());
        let http = guard
            .client(Alerter::client_settings(Duration::from_secs(10)))
            .map_err(|e| tracing::error!(error = %e, "cannot build the team alerts' HTTP client"))
            .ok();
        Alerter {
            http,
            guard,
            mail: None,
            attempts: 3,
        }
    }

    fn client_settings(timeout: Duration) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
    }

    /// The target guard, also applied when channels are created.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Tells one channel, retrying twice with a short pause; a target the guard refuses is
    /// not tried again.
    pub async fn send(&self, channel: &AlertChannel, alert: &TeamAlert) -> Result<(), AlertError> {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
            }
            match self.try_send(channel, alert).await {
                Ok(()) => return Ok(()),
                Err(Failure::Refused(e)) => return Err(AlertError::Failed(e)),
                Err(Failure::Other(e)) => last = e,
            }
        }
        Err(AlertError::Failed(last))
    }

    async fn try_send(&self, channel: &AlertChannel, alert: &TeamAlert) -> Result<(), Failure> {
        match webhook_body(channel.kind, alert) {
            Some(body) => {
                self.guard
                    .check_literal(&channel.target)
                    .map_err(|e| Failure::Refused(e.to_string()))?;
                let http = self.http.as_ref().ok_or_else(|| {
                    Failure::Other("no HTTP client could be built for team alerts".into())
                })?;
                let r = http
                    .post(&channel.target)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| match Guard::refusal(&e) {
                        Some(refusal) if !refusal.is_transient() => {
                            Failure::Refused(refusal.to_string())
                        }
                        _ => Failure::Other(format!("no answer: {}", e.without_url())),
                    })?;
                if r.status().is_success() {
                    Ok(())
                } else {
                    Err(Failure::Other(format!("answered {}", r.status())))
                }
            }
            None => {
                let mailer = self
                    .mail
                    .as_ref()
                    .ok_or_else(|| Failure::Other("no SMTP server is configured".into()))?;
                let mut text = alert.text.clone();
                if let Some(link) = &alert.link {
                    text.push_str("\n\n");
                    text.push_str(link);
                }
                mailer
                    .send_text(&channel.target, &format!("[Herald] {}", alert.title), &text)
                    .await
                    .map_err(|e| Failure::Other(e.to_string()))
            }
        }
    }

    /// Tells every enabled channel, in the background.
    pub fn spawn_send(&self, channels: Vec<AlertChannel>, alert: TeamAlert) {
        for channel in channels.into_iter().filter(|c| c.enabled) {
            let (me, alert) = (self.clone(), alert.clone());
            tokio::spawn(async move {
                if let Err(e) = me.send(&channel, &alert).await {
                    let target = match channel.kind {
                        ChannelKind::Email => "an email address".to_string(),
                        _ => loggable(&channel.target),
                    };
                    tracing::warn!(channel = %channel.name, %target, error = %e, "team alert not delivered");
                }
            });
        }
    }

    /// Reads the channels and tells every enabled one, all in the background.
    pub fn alert_team(&self, store: std::sync::Arc<dyn herald_store::Store>, alert: TeamAlert) {
        let alerter = self.clone();
        tokio::spawn(async move {
            match store.list_alert_channels().await {
                Ok(channels) => alerter.spawn_send(channels, alert),
                Err(e) => tracing::warn!(error = %e, "cannot read alert channels"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> TeamAlert {
        TeamAlert {
            title: "Monitor API is down".into(),
            text: "API went from up to down: connection refused.".into(),
            level: AlertLevel::Down,
            link: Some("http://127.0.0.1/admin/monitors/abc".into()),
            at: DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
        }
    }

    #[test]
    fn each_chat_service_gets_its_own_shape() {
        let a = alert();
        let slack = webhook_body(ChannelKind::Slack, &a).expect("slack");
        assert!(slack["text"]
            .as_str()
            .is_some_and(|t| t.contains("connection refused")));
        assert_eq!(
            slack["blocks"][2]["elements"][0]["url"],
            "http://127.0.0.1/admin/monitors/abc"
        );
        let discord = webhook_body(ChannelKind::Discord, &a).expect("discord");
        assert_eq!(discord["embeds"][0]["color"], 0xcf222e);
        let teams = webhook_body(ChannelKind::Teams, &a).expect("teams");
        assert_eq!(teams["@type"], "MessageCard");
        assert_eq!(
            teams["potentialAction"][0]["targets"][0]["uri"],
            "http://127.0.0.1/admin/monitors/abc"
        );
        let generic = webhook_body(ChannelKind::Webhook, &a).expect("webhook");
        assert_eq!(generic["level"], "down");
        assert!(webhook_body(ChannelKind::Email, &a).is_none());
    }

    #[tokio::test]
    async fn refused_targets_are_not_posted_to_nor_retried() {
        let lookup = crate::runtime::notify::netguard::OverrideLookup::new().then(
            "metadata.alerts.test",
            ["169.254.169.254".parse().expect("ip")],
        );
        let guard = Guard::with_lookup(
            TargetPolicy::default(),
            Arc::new(lookup),
            crate::runtime::notify::netguard::VERDICT_TTL,
        );
        let alerter = Alerter::new(None, Duration::from_secs(2), guard).expect("alerter");
        for target in [
            "http://127.0.0.1:9/hook",
            "http://metadata.alerts.test/hook",
        ] {
            let channel = AlertChannel {
                id: herald_store::random_id(),
                name: "ops".into(),
                kind: ChannelKind::Webhook,
                target: target.into(),
                enabled: true,
            };
            let started = std::time::Instant::now();
            let e = alerter.send(&channel, &alert()).await.expect_err("refused");
            assert!(e.to_string().contains("Herald sends only to public"), "{e}");
            assert!(
                started.elapsed() < Duration::from_millis(400),
                "not retried"
            );
        }
    }

    #[test]
    fn logs_name_only_the_host() {
        assert_eq!(
            loggable("https://hooks.slack.com/services/T000/B000/SECRET"),
            "https://hooks.slack.com"
        );
    }
}
