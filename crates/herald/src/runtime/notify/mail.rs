//! Sending email over SMTP with lettre: one pooled transport per process, built from `[smtp]`.

use crate::config::{SmtpConfig, SmtpSecurity};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Why mail could not be sent or the settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp.{field}: {message}")]
    Config {
        field: &'static str,
        message: String,
    },
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the SMTP server refused or did not answer: {0}")]
    Send(String),
}

/// A configured SMTP sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when no SMTP host is configured.
    pub fn from_config(c: &SmtpConfig) -> Result<Option<Mailer>, MailError> {
        Self::with_connections(c, 4)
    }

    /// Like [`Mailer::from_config`], keeping up to `connections` SMTP connections open for reuse.
    pub fn with_connections(c: &SmtpConfig, connections: u32) -> Result<Option<Mailer>, MailError> {
        let Some(host) = c.host.as_deref().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let from = c
            .from
            .as_deref()
            .ok_or(MailError::Config {
                field: "from",
                message: "is required when smtp.host is set".into(),
            })?
            .parse::<Mailbox>()
            .map_err(|e| MailError::Config {
                field: "from",
                message: format!("is not an address: {e}"),
            })?;
        let security = c.security.unwrap_or(SmtpSecurity::Starttls);
        let mut builder = match security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailError::Config {
                    field: "host",
                    message: e.to_string(),
                })?,
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| {
                    MailError::Config {
                        field: "host",
                        message: e.to_string(),
                    }
                })?
            }
        };
        let port = c.port.unwrap_or(match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        });
        builder = builder
            .port(port)
            .pool_config(PoolConfig::new().max_size(connections.max(1)))
            .timeout(Some(Duration::from_secs(u64::from(
                c.timeout_seconds.unwrap_or(10),
            ))));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    /// The sender every message carries.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Sends a message built by the caller.
    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }

    /// Sends a plain-text message.
    pub async fn send_text(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Build(format!("`{to}` is not an address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}
