//! What every handler can reach: the service (for writes, and the store for reads), the
//! runtimes' read handles, and the HTTP layer's own limits and caches.

use crate::render::Branding;
use crate::runtime::alerting::{Alerter, TeamAlert};
use crate::runtime::mirror::Target;
use crate::runtime::monitoring::{self, Monitoring};
use crate::runtime::notify::{self, Notifier};
use crate::service::{Clock, Service};
use herald_store::Store;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// How often maintenance windows are checked for automatic moves.
    pub maintenance_tick: Duration,
    /// Failed sign-ins per client address and per address and account.
    pub login_limit: Arc<crate::http::session::Guard>,
    /// The monitoring runtime (probes, results, automatic statuses).
    pub monitoring: Monitoring,
    /// Response-time and metric charts drawn lately.
    pub charts: Arc<crate::http::charts::ChartCache>,
    /// Sends team alerts.
    pub alerter: Alerter,
    /// Whether this instance probes (configuration `monitoring.enabled`).
    pub probing: bool,
    /// Delivers notifications to subscribers.
    pub notifier: Notifier,
    /// Subscribe attempts per client address and per email.
    pub subscribe_limit: Arc<crate::http::limit::RateLimiter>,
    /// Confirmation mails sent again to one unconfirmed subscriber: one per window.
    pub resend_limit: Arc<crate::http::subscriptions::Resends>,
    /// Where the static mirror is kept (a folder, a bucket, both or nowhere).
    pub mirrors: Vec<Target>,
}

impl std::ops::Deref for AppState {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, branding: Branding, clock: Clock) -> Self {
        let service = Service::new(store, branding, clock);
        let notifier = Notifier::unconfigured().waking_on(service.signals.deliveries.clone());
        AppState {
            service,
            maintenance_tick: Duration::from_secs(5),
            login_limit: Arc::default(),
            monitoring: Monitoring::new(Default::default()),
            charts: Arc::default(),
            alerter: Alerter::unconfigured(),
            probing: true,
            notifier,
            subscribe_limit: Arc::new(crate::http::limit::RateLimiter::new(
                10,
                Duration::from_secs(600),
            )),
            resend_limit: Arc::default(),
            mirrors: Vec::new(),
        }
    }

    /// [`Service::write`] with its error in HTTP terms, for handlers that match on it.
    pub async fn write(
        &self,
        caller: &crate::service::Caller,
        command: herald_core::commands::Command,
    ) -> Result<herald_store::Applied, crate::http::error::AppError> {
        Ok(self.service.write(caller, command).await?)
    }

    /// Puts in the notifier (it wakes on the service's delivery signal).
    pub fn set_notifier(&mut self, notifier: Notifier) {
        self.notifier = notifier.waking_on(self.service.signals.deliveries.clone());
    }

    /// The handle the monitoring runtime runs on.
    pub fn monitoring_deps(&self) -> monitoring::Deps {
        monitoring::Deps {
            service: self.service.clone(),
            alerter: self.alerter.clone(),
            probing: self.probing,
        }
    }

    /// The handle the delivery runtime runs on (its one-step functions take it).
    pub fn deliveries(&self) -> notify::Deps {
        notify::Deps {
            service: self.service.clone(),
            notifier: self.notifier.clone(),
        }
    }

    /// Sends a team alert to every enabled channel, in the background.
    pub fn alert_team(&self, alert: TeamAlert) {
        self.alerter.alert_team(self.service.store.clone(), alert);
    }
}
