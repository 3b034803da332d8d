//! The audience: subscribers (added by the team or on the public page, changed by the team or
//! by the subscriber through a signed link), incident templates, and dead deliveries retried
//! by hand. Subscribers are not on the public page, so these writes rebuild nothing; the ones
//! that may queue something wake the delivery runtime.

use super::access::{Actor, Caller};
use super::{Effect, Service, ServiceError, ServiceResult};
use herald_core::audience::{
    new_subscriber, IncidentTemplate, NewSubscriber, Subscriber, SubscriberState,
};
use herald_core::commands::MAX_BODY;
use herald_core::{Id, IncidentStatus, PageDocument};
use herald_store::delivery::DeliveryId;
use herald_store::StoreError;

/// How a subscription from the public page ended. The caller answers all three alike, so
/// nobody learns whether an address was subscribed already.
#[derive(Clone, Debug)]
pub enum Subscribed {
    /// A new subscriber; its confirmation is queued.
    New,
    /// The destination waits for confirmation already, as this subscriber.
    Waiting(Subscriber),
    /// The destination is subscribed and confirmed already.
    Confirmed,
}

/// What an incident template is made from, as a caller sent it.
#[derive(Clone, Debug, Default)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// An incident status by name.
    pub update_status: Option<String>,
    pub component_ids: Vec<Id>,
    pub should_send_notifications: Option<bool>,
}

/// The page, or `NotFound` before one was set up.
async fn page(service: &Service) -> ServiceResult<PageDocument> {
    service.store.load().await?.ok_or(ServiceError::NotFound)
}

/// Refuses component ids the page does not have.
fn known_components(doc: &PageDocument, ids: &[Id]) -> ServiceResult<()> {
    match ids.iter().find(|c| doc.component(c).is_none()) {
        Some(bad) => Err(ServiceError::invalid(
            "component_ids",
            format!("no component has id `{bad}` on this page"),
        )),
        None => Ok(()),
    }
}

/// Checks a template's fields and builds it.
fn template(
    input: TemplateInput,
    doc: &PageDocument,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<IncidentTemplate> {
    let name = input.name.map(|n| n.trim().to_string()).unwrap_or_default();
    herald_core::text::line_opt("title", input.title.as_deref())
        .and(herald_core::text::line("name", &name))
        .and(herald_core::text::multiline_opt(
            "body",
            input.body.as_deref(),
        ))?;
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ServiceError::invalid("name", "must be 1 to 255 characters"));
    }
    let title = input.title.unwrap_or_else(|| name.clone());
    if title.chars().count() > 255 {
        return Err(ServiceError::invalid(
            "title",
            "must be at most 255 characters",
        ));
    }
    let body = input.body.unwrap_or_default();
    if body.chars().count() > MAX_BODY {
        return Err(ServiceError::invalid(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ));
    }
    let update_status = input
        .update_status
        .as_deref()
        .map(|s| {
            IncidentStatus::parse(s).ok_or_else(|| {
                ServiceError::invalid("update_status", format!("`{s}` is not an incident status"))
            })
        })
        .transpose()?;
    if let Some(missing) = input
        .component_ids
        .iter()
        .find(|c| doc.component(c).is_none())
    {
        return Err(ServiceError::invalid(
            "component_ids",
            format!("no component has id `{missing}` on this page"),
        ));
    }
    Ok(IncidentTemplate {
        id: herald_store::random_id(),
        name,
        title,
        body,
        update_status,
        component_ids: input.component_ids,
        should_send_notifications: input.should_send_notifications.unwrap_or(true),
        created_at: now,
        updated_at: now,
    })
}

impl Service {
    /// Checks a subscription request against the page and builds the subscriber, writing
    /// nothing: the caller may still vet its endpoint before [`Self::create_subscriber`].
    pub async fn prepare_subscriber(&self, request: NewSubscriber) -> ServiceResult<Subscriber> {
        let doc = page(self).await?;
        if let Some(i) = &request.incident_id {
            if doc.incident(i).is_none() {
                return Err(ServiceError::invalid(
                    "incident_id",
                    format!("no incident has id `{i}`"),
                ));
            }
        }
        new_subscriber(request, herald_store::random_id(), self.now(), |c| {
            doc.component(c).is_some()
        })
        .map_err(|e| ServiceError::invalid(e.field, e.message))
    }

    /// Adds a subscriber for a caller who may change the page; `Conflict` when the
    /// destination is subscribed already. An email subscriber is sent its confirmation.
    pub async fn create_subscriber(&self, caller: &Caller, sub: &Subscriber) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .create_subscriber(sub, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Deliveries).await;
        Ok(())
    }

    /// Adds a subscriber someone asked for on the public page. A destination subscribed
    /// already is no error: the answer says how it stands, and nothing is written.
    pub async fn subscribe(&self, actor: &Actor, sub: &Subscriber) -> ServiceResult<Subscribed> {
        match self.store.create_subscriber(sub, &self.meta(actor)).await {
            Ok(()) => {
                self.after(Effect::Deliveries).await;
                Ok(Subscribed::New)
            }
            Err(StoreError::Conflict { .. }) => {
                let waiting = self
                    .store
                    .list_subscribers(Some(SubscriberState::Unconfirmed), Some(sub.mode))
                    .await?;
                Ok(waiting
                    .into_iter()
                    .find(|w| {
                        w.incident_id.is_none()
                            && w.email == sub.email
                            && w.endpoint == sub.endpoint
                    })
                    .map_or(Subscribed::Confirmed, Subscribed::Waiting))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queues the confirmation of a subscriber waiting for it once more; at most once per
    /// `every` even among instances sharing the database (the notice's id is the window's).
    /// True when it was queued now.
    pub async fn resend_confirmation(
        &self,
        waiting: &Subscriber,
        every: chrono::Duration,
    ) -> ServiceResult<bool> {
        let now = self.now();
        let slot = now.timestamp() / every.num_seconds().max(1);
        let id = Id::derive(&format!("confirm-again:{}:{slot}", waiting.id));
        let notice = herald_core::notify::confirmation(waiting);
        let queued = self.store.enqueue_notice(&id, &notice, now).await?;
        if queued {
            self.after(Effect::Deliveries).await;
        }
        Ok(queued)
    }

    /// Moves a subscriber to `state` for the team (reactivate, quarantine, unsubscribe); a
    /// subscriber cannot be put back to waiting for confirmation.
    pub async fn set_subscriber_state(
        &self,
        caller: &Caller,
        id: &Id,
        state: SubscriberState,
    ) -> ServiceResult<Subscriber> {
        caller.require_write()?;
        if state == SubscriberState::Unconfirmed {
            return Err(ServiceError::invalid(
                "state",
                "a subscriber cannot be put back to unconfirmed",
            ));
        }
        self.move_subscriber(&caller.as_actor(), id, state).await
    }

    /// Replaces the components a subscriber follows, for the team (empty: the whole page).
    pub async fn set_subscriber_components(
        &self,
        caller: &Caller,
        id: &Id,
        components: &[Id],
    ) -> ServiceResult<Subscriber> {
        caller.require_write()?;
        self.follow(&caller.as_actor(), id, components).await
    }

    /// The subscriber confirms their subscription (the link in the confirmation message).
    pub async fn confirm_subscription(&self, id: &Id) -> ServiceResult<Subscriber> {
        self.move_subscriber(&Actor::Subscriber, id, SubscriberState::Active)
            .await
    }

    /// The subscriber ends their subscription.
    pub async fn unsubscribe(&self, id: &Id) -> ServiceResult<Subscriber> {
        self.move_subscriber(&Actor::Subscriber, id, SubscriberState::Unsubscribed)
            .await
    }

    /// The subscriber chooses the components they follow.
    pub async fn choose_components(&self, id: &Id, components: &[Id]) -> ServiceResult<Subscriber> {
        self.follow(&Actor::Subscriber, id, components).await
    }

    async fn move_subscriber(
        &self,
        actor: &Actor,
        id: &Id,
        state: SubscriberState,
    ) -> ServiceResult<Subscriber> {
        let sub = self
            .store
            .set_subscriber_state(id, state, &self.meta(actor))
            .await?;
        // An active subscriber may have deliveries waiting for it.
        let effect = if state == SubscriberState::Active {
            Effect::Deliveries
        } else {
            Effect::Nothing
        };
        self.after(effect).await;
        Ok(sub)
    }

    async fn follow(&self, actor: &Actor, id: &Id, components: &[Id]) -> ServiceResult<Subscriber> {
        known_components(&page(self).await?, components)?;
        let sub = self
            .store
            .set_subscriber_components(id, components, &self.meta(actor))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(sub)
    }

    /// Adds many subscribers at once (an import): no duplicate check, no confirmations.
    pub async fn import_subscribers(
        &self,
        actor: &Actor,
        subscribers: &[Subscriber],
    ) -> ServiceResult<usize> {
        let added = self.store.import_subscribers(subscribers).await?;
        tracing::info!(%actor, added, "imported subscribers");
        self.after(Effect::Nothing).await;
        Ok(added)
    }

    /// Creates an incident template.
    pub async fn create_template(
        &self,
        caller: &Caller,
        input: TemplateInput,
    ) -> ServiceResult<IncidentTemplate> {
        caller.require_write()?;
        let doc = page(self).await?;
        let now = self.now();
        let t = template(input, &doc, now)?;
        self.store
            .create_template(&t, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(t)
    }

    /// Deletes an incident template.
    pub async fn delete_template(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .delete_template(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(())
    }

    /// Queues a dead delivery again, due now.
    pub async fn retry_delivery(
        &self,
        caller: &Caller,
        delivery: &DeliveryId,
    ) -> ServiceResult<()> {
        caller.require_write()?;
        self.store.retry_delivery(delivery, self.now()).await?;
        self.after(Effect::Deliveries).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::caller;
    use herald_core::access::Role;
    use herald_core::datafile::{DataFile, Format};
    use std::future::Future;

    const PAGE: &str = r#"
version = 1
[page]
id = "pagepagepage"
name = "Acme"
url = "https://status.acme.test"
time_zone = "UTC"
[[components]]
id = "apiapiapiapi"
name = "API"
showcase = true
only_show_if_degraded = false
"#;

    async fn service() -> (Service, tempfile::TempDir) {
        let (s, dir) = crate::service::testing::service().await;
        let file = DataFile::parse(PAGE, Format::Toml).expect("page file");
        s.import(&Actor::System("test"), file, &Default::default())
            .await
            .expect("import");
        (s, dir)
    }

    fn email(to: &str) -> NewSubscriber {
        NewSubscriber {
            mode: None,
            email: Some(to.into()),
            endpoint: None,
            component_ids: vec![],
            incident_id: None,
            skip_confirmation: false,
        }
    }

    /// Whether the signal was given since it was last taken (and takes it).
    fn given(signal: &tokio::sync::Notify) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::pin!(signal.notified()).poll(&mut cx).is_ready()
    }

    #[tokio::test]
    async fn the_team_adds_subscribers_once_and_the_outbox_hears_of_it() {
        let (s, _dir) = service().await;
        let sub = s
            .prepare_subscriber(email("Ops@Acme.test"))
            .await
            .expect("checked");
        given(&s.signals.deliveries);
        let refused = s.create_subscriber(&caller(Role::Viewer), &sub).await;
        assert!(
            matches!(refused, Err(ServiceError::Forbidden(_))),
            "{refused:?}"
        );
        assert!(!given(&s.signals.deliveries), "nothing was written");
        let editor = caller(Role::Editor);
        s.create_subscriber(&editor, &sub).await.expect("added");
        assert!(given(&s.signals.deliveries), "its confirmation waits");
        let again = s
            .prepare_subscriber(email("ops@acme.test"))
            .await
            .expect("checked");
        let dup = s.create_subscriber(&editor, &again).await;
        assert!(matches!(dup, Err(ServiceError::Conflict(_))), "{dup:?}");

        let mut unknown = email("b@acme.test");
        unknown.component_ids = vec![Id::derive("nothing")];
        let bad = s.prepare_subscriber(unknown).await;
        assert!(
            matches!(&bad, Err(ServiceError::Invalid { field: Some(f), .. }) if f == "component_ids"),
            "{bad:?}"
        );
        let back = s
            .set_subscriber_state(&editor, &sub.id, SubscriberState::Unconfirmed)
            .await;
        assert!(
            matches!(back, Err(ServiceError::Invalid { .. })),
            "{back:?}"
        );
    }

    #[tokio::test]
    async fn subscribing_twice_says_how_the_destination_stands() {
        let (s, _dir) = service().await;
        let public = Actor::Public([192, 0, 2, 1].into());
        let first = s
            .prepare_subscriber(email("a@acme.test"))
            .await
            .expect("checked");
        assert!(matches!(
            s.subscribe(&public, &first).await,
            Ok(Subscribed::New)
        ));
        let second = s
            .prepare_subscriber(email("a@acme.test"))
            .await
            .expect("checked");
        match s.subscribe(&public, &second).await.expect("answered") {
            Subscribed::Waiting(existing) => assert_eq!(existing.id, first.id),
            other => panic!("still waiting for confirmation, got {other:?}"),
        }
        let every = chrono::Duration::minutes(15);
        assert!(s.resend_confirmation(&first, every).await.expect("queued"));
        assert!(
            !s.resend_confirmation(&first, every).await.expect("asked"),
            "once per window"
        );

        s.confirm_subscription(&first.id).await.expect("confirmed");
        let third = s
            .prepare_subscriber(email("a@acme.test"))
            .await
            .expect("checked");
        assert!(matches!(
            s.subscribe(&public, &third).await,
            Ok(Subscribed::Confirmed)
        ));
        let audit = s.store.audit_log(50).await.expect("audit");
        assert!(audit.iter().any(|e| e.actor == "public:192.0.2.1"));
        assert!(audit.iter().any(|e| e.actor == "subscriber"));
    }

    #[tokio::test]
    async fn templates_are_checked_and_need_a_writer() {
        let (s, _dir) = service().await;
        let input = TemplateInput {
            name: Some(" Outage ".into()),
            update_status: Some("investigating".into()),
            component_ids: vec![Id::parse("apiapiapiapi").expect("id")],
            ..Default::default()
        };
        let refused = s
            .create_template(&caller(Role::Viewer), input.clone())
            .await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        let t = s
            .create_template(&caller(Role::Editor), input)
            .await
            .expect("made");
        assert_eq!((t.name.as_str(), t.title.as_str()), ("Outage", "Outage"));
        let bad = s
            .create_template(
                &caller(Role::Editor),
                TemplateInput {
                    name: Some("x".into()),
                    update_status: Some("sleeping".into()),
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(&bad, Err(ServiceError::Invalid { field: Some(f), .. }) if f == "update_status"),
            "{bad:?}"
        );
        s.delete_template(&caller(Role::Editor), &t.id)
            .await
            .expect("deleted");
        assert!(s.store.list_templates().await.expect("list").is_empty());
    }
}
