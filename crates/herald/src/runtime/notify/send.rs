//! Sending one claimed delivery: an email through the pooled SMTP transport, or a POST to a
//! webhook or chat URL that the target guard allows. Returns how it went; never panics and never
//! logs a secret or a full target URL.

use super::links::{signature, Keys};
use super::render::personalise;
use super::Deps;
use super::Prepared;
use crate::runtime::alerting::loggable;
use crate::runtime::notify::netguard::{Guard, GuardError};
use crate::runtime::CancellationToken;
use herald_core::audience::{SubscriberMode, SubscriberState};
use herald_core::notify::NoticeKind;
use herald_core::Id;
use herald_store::delivery::{Claimed, Outcome};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde_json::json;

/// Longest part of a failing response kept with the delivery.
const EXCERPT: usize = 200;

/// `List-Unsubscribe` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

fn failed(state: &Deps, c: &Claimed, error: String) -> Outcome {
    let options = &state.notifier.options;
    if c.attempts >= options.max_attempts {
        Outcome::Dead { error }
    } else {
        let wait = chrono::Duration::from_std(options.backoff(c.attempts))
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        Outcome::Retry {
            at: (state.clock)() + wait,
            error,
        }
    }
}

/// Delivers `c` with the messages of its notification. `None` when `stop` fired before the
/// send began (it waited for a free slot towards its host): nothing was sent.
pub(crate) async fn deliver(
    state: &Deps,
    keys: &Keys,
    c: &Claimed,
    p: &Prepared,
    stop: &CancellationToken,
) -> Option<Outcome> {
    let sub = &c.subscriber;
    let wanted = if p.kind == NoticeKind::Confirm {
        sub.state == SubscriberState::Unconfirmed
    } else {
        sub.state == SubscriberState::Active
    };
    if !wanted {
        return Some(Outcome::Dropped {
            reason: format!("the subscriber is {}", sub.state.as_str()),
        });
    }
    let base = state.site.page_url();
    let (unsubscribe, manage, confirm) = keys.links(&base, &sub.id);
    let result = match sub.mode {
        SubscriberMode::Email => send_mail(state, c, p, &unsubscribe, &manage, &confirm).await,
        mode => {
            let Some(url) = sub.endpoint.as_deref() else {
                return Some(Outcome::Dead {
                    error: "the subscriber has no endpoint".into(),
                });
            };
            let body = match mode {
                SubscriberMode::Webhook => {
                    personalise(&p.messages.webhook, &unsubscribe, &manage, "")
                }
                _ => chat_body(mode, p, &manage).to_string(),
            };
            post(state, c, p, url, body, stop).await
        }
    };
    match result {
        Ok(()) => Some(Outcome::Sent),
        Err(Refusal::Permanent(error)) => Some(Outcome::Dead { error }),
        Err(Refusal::Transient(error)) => Some(failed(state, c, error)),
        Err(Refusal::Stopping) => None,
    }
}

/// A guard's verdict as a delivery outcome: a refused target is not tried again, a name that
/// did not resolve is.
fn refused(e: GuardError) -> Refusal {
    if e.is_transient() {
        Refusal::Transient(e.to_string())
    } else {
        Refusal::Permanent(e.to_string())
    }
}

enum Refusal {
    /// Will not work however often it is tried (refused target, unusable address).
    Permanent(String),
    Transient(String),
    /// Not tried: the runtime was stopping.
    Stopping,
}

fn chat_body(mode: SubscriberMode, p: &Prepared, manage: &str) -> serde_json::Value {
    let m = &p.messages;
    match mode {
        SubscriberMode::Slack => json!({
            "text": format!("{}: {}", m.chat_title, m.link),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": m.chat_title}},
                {"type": "section", "text": {"type": "mrkdwn", "text": m.chat_text}},
                {"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "View on the status page"}, "url": m.link}
                ]},
                {"type": "context", "elements": [
                    {"type": "mrkdwn", "text": format!("<{manage}|Manage this subscription>")}
                ]},
            ],
        }),
        SubscriberMode::Discord => json!({
            "content": m.chat_title,
            "embeds": [{
                "title": m.chat_title,
                "description": m.chat_text,
                "url": m.link,
                "color": m.colour,
            }],
        }),
        _ => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": m.chat_title,
            "themeColor": format!("{:06X}", m.colour),
            "title": m.chat_title,
            "text": m.chat_text,
            "potentialAction": [{
                "@type": "OpenUri",
                "name": "View on the status page",
                "targets": [{"os": "default", "uri": m.link}],
            }],
        }),
    }
}

async fn post(
    state: &Deps,
    c: &Claimed,
    p: &Prepared,
    url: &str,
    body: String,
    stop: &CancellationToken,
) -> Result<(), Refusal> {
    let n = &state.notifier;
    // Names are judged by the client's resolver as it connects; literal addresses here.
    n.guard.check_literal(url).map_err(refused)?;
    let Some(client) = &n.client else {
        return Err(Refusal::Transient(
            "no HTTP client could be built for webhooks".into(),
        ));
    };
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
        })
        .unwrap_or_default();
    let slot = n.host_slot(&host);
    let _permit = tokio::select! {
        biased;
        permit = slot.acquire() => permit,
        _ = stop.cancelled() => return Err(Refusal::Stopping),
    };
    let id = c.id.to_string();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-herald-delivery", &id)
        .header("idempotency-key", &id)
        .header("x-herald-event", p.kind.as_str());
    if c.subscriber.mode == SubscriberMode::Webhook {
        if let Some(secret) = &c.secret {
            req = req.header("x-herald-signature", signature(secret, body.as_bytes()));
        }
    }
    match req.body(body).send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            let excerpt: String = text.chars().take(EXCERPT).collect();
            Err(Refusal::Transient(format!(
                "{} answered {status}: {excerpt}",
                loggable(url)
            )))
        }
        Err(e) => match Guard::refusal(&e) {
            Some(refusal) => Err(refused(refusal.clone())),
            None if e.is_timeout() => Err(Refusal::Transient(format!(
                "{} did not answer in time",
                loggable(url)
            ))),
            None => Err(Refusal::Transient(format!(
                "{} could not be reached: {}",
                loggable(url),
                e.without_url()
            ))),
        },
    }
}

async fn send_mail(
    state: &Deps,
    c: &Claimed,
    p: &Prepared,
    unsubscribe: &str,
    manage: &str,
    confirm: &str,
) -> Result<(), Refusal> {
    let Some(mailer) = &state.notifier.mailer else {
        return Err(Refusal::Transient("no SMTP server is configured".into()));
    };
    let Some(address) = c.subscriber.email.as_deref() else {
        return Err(Refusal::Permanent(
            "the subscriber has no email address".into(),
        ));
    };
    let to: Mailbox = address
        .parse()
        .map_err(|e| Refusal::Permanent(format!("`{address}` is not an address: {e}")))?;
    let domain = mailer.from().email.domain().to_string();
    let m = &p.messages;
    let text = personalise(&m.text, unsubscribe, manage, confirm);
    let html = personalise(&m.html, unsubscribe, manage, confirm);
    let mut builder = Message::builder()
        .from(mailer.from().clone())
        .to(to)
        .subject(m.subject.clone());
    if p.kind != NoticeKind::Confirm {
        let root = format!("<{}.{}@{domain}>", p.thread, c.subscriber.id);
        let starts_thread = matches!(
            p.kind,
            NoticeKind::IncidentCreated | NoticeKind::MaintenanceScheduled
        );
        builder = if starts_thread {
            builder.message_id(Some(root))
        } else {
            builder
                .message_id(Some(format!("<{}@{domain}>", c.id)))
                .in_reply_to(root.clone())
                .references(root)
        };
        builder = builder
            .header(ListUnsubscribe(format!("<{unsubscribe}>")))
            .header(ListUnsubscribePost);
    } else {
        builder = builder.message_id(Some(format!("<{}@{domain}>", c.id)));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| Refusal::Permanent(format!("the message could not be built: {e}")))?;
    mailer
        .send(message)
        .await
        .map_err(|e| Refusal::Transient(e.to_string()))
}

/// Tells a webhook's contact that Herald stopped posting to it (best effort).
pub(crate) async fn tell_disabled(state: &Deps, id: &Id) {
    let Ok(Some(sub)) = state.store.subscriber(id).await else {
        return;
    };
    tracing::warn!(subscriber = %id, target = %sub.endpoint.as_deref().map(loggable).unwrap_or_default(),
        "deliveries kept failing; the subscriber is disabled");
    let (Some(mailer), Some(contact)) = (&state.notifier.mailer, sub.email.as_deref()) else {
        return;
    };
    let page = match state.store.load().await {
        Ok(Some(doc)) => doc.page.name,
        _ => "the".into(),
    };
    let text = format!(
        "Herald stopped sending {page} status notifications to {} because the last {} deliveries \
         failed. Ask the page's team to re-enable it once the endpoint works again.\n",
        sub.endpoint.as_deref().map(loggable).unwrap_or_default(),
        state.notifier.options.disable_after,
    );
    if let Err(e) = mailer
        .send_text(contact, &format!("[{page} status] Webhook disabled"), &text)
        .await
    {
        tracing::warn!(error = %e, "could not tell a webhook's contact it was disabled");
    }
}
