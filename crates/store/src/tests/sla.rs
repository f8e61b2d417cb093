//! SLA policies and calendars.

use crate::tests::harness::store_test;
use chrono::{Duration, SubsecRound, Utc};
use concierge_domain::ids::{CalendarId, PolicyId};
use concierge_domain::ports::SlaRepository;
use concierge_domain::sla::{CalendarInput, NewCalendar, PolicyInput, PolicyRules, Targets};
use concierge_domain::DomainError;

fn calendar(timezone: &str) -> NewCalendar {
    let nine_to_five = vec![("09:00".to_owned(), "17:00".to_owned())];
    CalendarInput {
        name: "Office".into(),
        timezone: timezone.into(),
        week: [
            nine_to_five.clone(),
            vec![],
            vec![],
            vec![],
            nine_to_five,
            vec![],
            vec![("22:00".into(), "24:00".into())],
        ],
        holidays: vec!["2026-12-25".into(), "2027-01-01".into()],
    }
    .validated()
    .unwrap()
}

fn rules(calendar: Option<CalendarId>) -> PolicyRules {
    PolicyInput {
        name: "Gold".into(),
        targets: Targets {
            first_response: Some(600),
            ..Targets::default()
        },
        calendar_id: calendar,
        ..PolicyInput::default()
    }
    .validated()
    .unwrap()
}

store_test!(
    stored_calendars_and_policies_read_back_as_written,
    |store| {
        let now = Utc::now().trunc_subsecs(6);
        assert!(store.get_calendar(CalendarId(1)).await.unwrap().is_none());
        assert!(store.get_policy(PolicyId(1)).await.unwrap().is_none());

        let written = calendar("Europe/Berlin");
        let stored = store.create_calendar(written.clone(), now).await.unwrap();
        assert_eq!(stored.hours, written.hours);
        assert_eq!((stored.created_at, stored.updated_at), (now, now));
        assert_eq!(
            store.get_calendar(stored.id).await.unwrap().as_ref(),
            Some(&stored)
        );

        let later = now + Duration::minutes(5);
        let replaced = store
            .replace_calendar(stored.id, calendar("America/New_York"), later)
            .await
            .unwrap();
        assert_eq!(replaced.hours.timezone().name(), "America/New_York");
        assert_eq!((replaced.created_at, replaced.updated_at), (now, later));

        let policy = store
            .create_policy(rules(Some(stored.id)), now)
            .await
            .unwrap();
        assert_eq!(policy.rules, rules(Some(stored.id)));
        let again = store
            .replace_policy(policy.id, rules(None), later)
            .await
            .unwrap();
        assert_eq!(again.rules.calendar_id, None);
        assert_eq!((again.created_at, again.updated_at), (now, later));
        assert_eq!(store.get_policy(policy.id).await.unwrap(), Some(again));
    }
);

store_test!(
    a_calendar_deleted_while_a_policy_takes_it_ends_with_exactly_one_winner,
    |store| {
        for _ in 0..12 {
            let now = Utc::now();
            let cal = store
                .create_calendar(calendar("Europe/Berlin"), now)
                .await
                .unwrap()
                .id;
            let (writer, deleter) = (store.clone(), store.clone());
            let (created, deleted) = tokio::join!(
                tokio::spawn(async move { writer.create_policy(rules(Some(cal)), now).await }),
                tokio::spawn(async move { deleter.delete_calendar(cal).await }),
            );
            match (created.unwrap(), deleted.unwrap()) {
                (Ok(policy), Err(DomainError::Conflict(_))) => {
                    assert!(store.get_calendar(cal).await.unwrap().is_some());
                    store.delete_policy(policy.id).await.unwrap();
                }
                (Err(DomainError::Invalid(errors)), Ok(())) => {
                    assert_eq!(errors[0].field, "calendarId");
                    assert!(store.get_calendar(cal).await.unwrap().is_none());
                }
                other => panic!("both or neither won: {other:?}"),
            }
        }
    }
);
