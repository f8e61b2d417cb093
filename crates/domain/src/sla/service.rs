//! The SLA settings as a resource: any staff user reads policies and calendars, admins write
//! them. Input is checked by [`PolicyInput::validated`] and [`CalendarInput::validated`]; the
//! store checks that a policy's calendar exists and that a calendar in use is not deleted.

use super::{Calendar, CalendarInput, Policy, PolicyInput};
use crate::actor::Actor;
use crate::error::Result;
use crate::ids::{CalendarId, PolicyId};
use crate::page::{Page, PageRequest};
use crate::ports::{Clock, SlaRepository};
use crate::services::Ports;
use std::sync::Arc;

/// SLA policies and calendars, on [`Ports::sla`].
#[derive(Clone)]
pub struct SlaService {
    sla: Arc<dyn SlaRepository>,
    clock: Arc<dyn Clock>,
}

impl SlaService {
    /// Builds the service, or `None` without [`Ports::sla`].
    pub fn new(ports: &Ports) -> Option<Self> {
        Some(Self {
            sla: ports.sla.clone()?,
            clock: ports.clock.clone(),
        })
    }

    /// Policies, oldest first (staff).
    pub async fn policies(&self, actor: &Actor, page: PageRequest) -> Result<Page<Policy>> {
        actor.staff()?;
        self.sla.list_policies(page).await
    }

    /// Stores a new policy (admins).
    pub async fn create_policy(&self, actor: &Actor, input: PolicyInput) -> Result<Policy> {
        actor.admin()?;
        let rules = input.validated()?;
        self.sla.create_policy(rules, self.clock.now()).await
    }

    /// Replaces a policy's settings; fields left out take their defaults (admins).
    pub async fn replace_policy(
        &self,
        actor: &Actor,
        id: PolicyId,
        input: PolicyInput,
    ) -> Result<Policy> {
        actor.admin()?;
        let rules = input.validated()?;
        self.sla.replace_policy(id, rules, self.clock.now()).await
    }

    /// Deletes a policy (admins).
    pub async fn delete_policy(&self, actor: &Actor, id: PolicyId) -> Result<()> {
        actor.admin()?;
        self.sla.delete_policy(id).await
    }

    /// Calendars, oldest first (staff).
    pub async fn calendars(&self, actor: &Actor, page: PageRequest) -> Result<Page<Calendar>> {
        actor.staff()?;
        self.sla.list_calendars(page).await
    }

    /// Stores a new calendar (admins).
    pub async fn create_calendar(&self, actor: &Actor, input: CalendarInput) -> Result<Calendar> {
        actor.admin()?;
        let calendar = input.validated()?;
        self.sla.create_calendar(calendar, self.clock.now()).await
    }

    /// Replaces a calendar (admins).
    pub async fn replace_calendar(
        &self,
        actor: &Actor,
        id: CalendarId,
        input: CalendarInput,
    ) -> Result<Calendar> {
        actor.admin()?;
        let calendar = input.validated()?;
        self.sla
            .replace_calendar(id, calendar, self.clock.now())
            .await
    }

    /// Deletes a calendar no policy counts in (admins).
    pub async fn delete_calendar(&self, actor: &Actor, id: CalendarId) -> Result<()> {
        actor.admin()?;
        self.sla.delete_calendar(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::ports::MockSlaRepository;
    use crate::services::tests::{mock_ports, now};
    use crate::sla::{PolicyRules, Targets};
    use crate::user::Role;
    use crate::{DomainError, TicketId};

    fn service(sla: MockSlaRepository) -> SlaService {
        let ports = Ports {
            sla: Some(Arc::new(sla)),
            ..mock_ports()
        };
        SlaService::new(&ports).unwrap()
    }

    fn staff(role: Role) -> Actor {
        Actor::Staff {
            user_id: UserId(1),
            role,
        }
    }

    fn donor() -> Actor {
        Actor::Donor {
            donor_id: "d".into(),
            ticket_id: TicketId(1),
            session: "s".into(),
            identity_verified: false,
        }
    }

    fn gold() -> PolicyInput {
        PolicyInput {
            name: "Gold".into(),
            targets: Targets {
                first_response: Some(600),
                ..Targets::default()
            },
            ..PolicyInput::default()
        }
    }

    #[tokio::test]
    async fn agents_read_but_only_admins_write_and_donors_do_neither() {
        let mut sla = MockSlaRepository::new();
        sla.expect_list_policies()
            .times(1)
            .returning(|_| Ok(Page::from_rows(vec![], &PageRequest::default(), |_| 0)));
        sla.expect_create_policy().never();
        sla.expect_delete_calendar().never();
        let sla = service(sla);
        let agent = staff(Role::Agent);
        assert!(sla.policies(&agent, PageRequest::default()).await.is_ok());
        for actor in [agent, donor(), Actor::System] {
            let created = sla.create_policy(&actor, gold()).await;
            assert!(
                matches!(created, Err(DomainError::Forbidden(_))),
                "{created:?}"
            );
            let deleted = sla.delete_calendar(&actor, CalendarId(1)).await;
            assert!(
                matches!(deleted, Err(DomainError::Forbidden(_))),
                "{deleted:?}"
            );
        }
        let read = sla.calendars(&donor(), PageRequest::default()).await;
        assert!(matches!(read, Err(DomainError::Forbidden(_))), "{read:?}");
    }

    #[tokio::test]
    async fn an_admin_write_is_validated_then_stored_at_the_clocks_time() {
        let mut sla = MockSlaRepository::new();
        sla.expect_replace_policy()
            .times(1)
            .returning(|id, rules: PolicyRules, now| {
                assert_eq!(rules.warn_before, 0);
                assert!(rules.pause_while_pending_reply);
                Ok(Policy {
                    id,
                    rules,
                    created_at: now,
                    updated_at: now,
                })
            });
        let sla = service(sla);
        let admin = staff(Role::Admin);
        let stored = sla
            .replace_policy(&admin, PolicyId(4), gold())
            .await
            .unwrap();
        assert_eq!(stored.id, PolicyId(4));
        assert_eq!(stored.updated_at, now());
        let bad = sla
            .create_calendar(&staff(Role::SuperAdmin), CalendarInput::default())
            .await;
        assert!(matches!(bad, Err(DomainError::Invalid(_))), "{bad:?}");
    }
}
