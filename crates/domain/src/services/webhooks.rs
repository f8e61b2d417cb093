//! Webhook endpoints, administered by admins: create (the secret is shown once), list, change,
//! remove, rotate the secret, read the delivery log and send a delivery again.

use crate::actor::Actor;
use crate::backoff::later;
use crate::error::{DomainError, Result};
use crate::page::{Page, PageRequest};
use crate::ports::{Clock, WebhookSender, WebhookStore};
use crate::webhook::{
    new_secret, Delivery, RetrySchedule, Webhook, WebhookInput, WebhookPatch, ROTATION_OVERLAP,
};
use std::sync::Arc;

/// What the endpoints' URLs may be (WEBHOOK_ALLOW_HTTP; the sender applies
/// WEBHOOK_ALLOW_PRIVATE to the addresses) and how deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookRules {
    /// Whether `http://` URLs are accepted.
    pub allow_http: bool,
    /// The retry schedule.
    pub schedule: RetrySchedule,
}

/// The webhook use cases.
#[derive(Clone)]
pub struct WebhookService {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    rules: WebhookRules,
}

impl WebhookService {
    /// The service on these ports.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        rules: WebhookRules,
    ) -> Self {
        Self {
            store,
            sender,
            clock,
            rules,
        }
    }

    /// The rules it applies.
    pub fn rules(&self) -> WebhookRules {
        self.rules
    }

    /// Refuses a URL the sender may not send to (422 naming `url`).
    async fn vet(&self, url: &str) -> Result<()> {
        self.sender
            .vet(url.to_string())
            .await
            .map_err(|reason| DomainError::invalid("url", reason))
    }

    /// A new endpoint with its secret.
    pub async fn create(&self, actor: &Actor, input: WebhookInput) -> Result<Webhook> {
        actor.admin()?;
        let new = input.check(self.rules.allow_http, self.clock.now())?;
        self.vet(&new.url).await?;
        self.store.create(new).await
    }

    /// The endpoints, oldest first.
    pub async fn list(&self, actor: &Actor, page: PageRequest) -> Result<Page<Webhook>> {
        actor.admin()?;
        self.store.list(page).await
    }

    /// One endpoint.
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<Webhook> {
        actor.admin()?;
        self.store
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("webhook"))
    }

    /// Changes an endpoint; a new URL passes the same checks as at creation.
    pub async fn update(&self, actor: &Actor, id: i64, patch: WebhookPatch) -> Result<Webhook> {
        actor.admin()?;
        let changes = patch.check(self.rules.allow_http)?;
        if let Some(url) = &changes.url {
            self.vet(url).await?;
        }
        self.store.update(id, changes, self.clock.now()).await
    }

    /// Removes an endpoint and its delivery log.
    pub async fn delete(&self, actor: &Actor, id: i64) -> Result<()> {
        actor.admin()?;
        self.store.delete(id).await
    }

    /// A new secret; the old one also signs for [`ROTATION_OVERLAP`].
    pub async fn rotate_secret(&self, actor: &Actor, id: i64) -> Result<Webhook> {
        actor.admin()?;
        let now = self.clock.now();
        let until = later(now, ROTATION_OVERLAP);
        self.store.rotate(id, new_secret(), until, now).await
    }

    /// An endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        id: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        self.get(actor, id).await?;
        self.store.deliveries(id, page).await
    }

    /// Sends a delivery again now (and keeps trying it for the retry window).
    pub async fn retry(&self, actor: &Actor, id: i64, delivery_id: i64) -> Result<Delivery> {
        actor.admin()?;
        let now = self.clock.now();
        let give_up_at = later(now, self.rules.schedule.retry_for);
        self.store.retry(id, delivery_id, now, give_up_at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockWebhookSender, MockWebhookStore, SystemClock};
    use crate::user::Role;
    use crate::UserId;

    fn service(store: MockWebhookStore, sender: MockWebhookSender) -> WebhookService {
        WebhookService::new(
            Arc::new(store),
            Arc::new(sender),
            Arc::new(SystemClock),
            WebhookRules::default(),
        )
    }

    fn staff(role: Role) -> Actor {
        Actor::Staff {
            user_id: UserId(1),
            role,
        }
    }

    fn input(url: &str) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            events: vec!["*".into()],
            description: None,
        }
    }

    #[tokio::test]
    async fn only_admins_manage_webhooks() {
        let service = service(MockWebhookStore::new(), MockWebhookSender::new());
        let refused = service
            .create(&staff(Role::Agent), input("https://example.com"))
            .await;
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
    }

    #[tokio::test]
    async fn a_url_the_sender_refuses_is_invalid_and_nothing_is_stored() {
        let mut sender = MockWebhookSender::new();
        sender
            .expect_vet()
            .returning(|_| Err("resolves to a private address".into()));
        let service = service(MockWebhookStore::new(), sender);
        let refused = service
            .create(&staff(Role::Admin), input("https://internal.example"))
            .await;
        let Err(DomainError::Invalid(errors)) = refused else {
            panic!("refused as invalid");
        };
        assert_eq!(errors[0].field, "url");
    }
}
