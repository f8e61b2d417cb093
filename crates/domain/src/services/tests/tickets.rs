//! `TicketService`: opening, reading, listing and the lifecycle of donor queries and tasks.

use super::*;
use crate::message::{NewMessage, Posted};
use crate::services::TicketList;
use crate::services::WRITE_ATTEMPTS;
use crate::ticket::{DonorQueryInput, TaskInput, TicketChanges, TicketFilter};
use TicketStatus::*;

/// A ticket repository the use case must not touch (a mock without expectations fails the
/// test on any call, a write included).
fn no_tickets() -> MockTicketRepository {
    MockTicketRepository::new()
}

fn no_messages() -> MockMessageRepository {
    MockMessageRepository::new()
}

fn no_users() -> MockUserRepository {
    MockUserRepository::new()
}

/// A ticket repository holding `tickets` that refuses any write.
fn read_only(tickets: Vec<Ticket>) -> MockTicketRepository {
    let mut repo = tickets_holding(tickets);
    no_ticket_writes(&mut repo);
    repo
}

/// Saves whatever ticket it is given, bumping its version.
fn saved(ticket: Ticket, _note: Option<NewMessage>) -> Result<Ticket> {
    let version = ticket.version() + 1;
    Ok(ticket.with_version(version))
}

fn is_system_note(note: &Option<NewMessage>, ticket: i64, text: &str) -> bool {
    note.as_ref().is_some_and(|n| {
        n.ticket_id == TicketId(ticket)
            && n.sender == Sender::System
            && n.message_type == MessageType::System
            && n.content == text
            && n.created_at == now()
    })
}

/// A lifecycle operation of the service, so one test can run each against a ticket.
#[derive(Debug, Clone)]
enum Op {
    Accept,
    Transfer,
    Resolve,
    Close,
    Update(TicketChanges),
}

async fn run(service: &TicketService, actor: &Actor, op: Op, id: i64) -> Result<Ticket> {
    let id = TicketId(id);
    match op {
        Op::Accept => service.accept(actor, id).await,
        Op::Transfer => {
            service
                .transfer(actor, id, OTHER_AGENT_ID, Some("please call back"))
                .await
        }
        Op::Resolve => service.resolve(actor, id).await,
        Op::Close => service.close(actor, id).await,
        Op::Update(changes) => service.update(actor, id, changes).await,
    }
}

fn retitle() -> TicketChanges {
    TicketChanges {
        title: Some("A new title".into()),
        ..Default::default()
    }
}

fn all_ops() -> Vec<Op> {
    vec![
        Op::Accept,
        Op::Transfer,
        Op::Resolve,
        Op::Close,
        Op::Update(retitle()),
    ]
}

/// Users the transfer target is found among.
fn staff_users() -> MockUserRepository {
    users_holding(vec![
        user(AGENT_ID, Role::Agent),
        user(OTHER_AGENT_ID, Role::Agent),
        user(ADMIN_ID, Role::Admin),
    ])
}

// ---- opening -----------------------------------------------------------------------------

#[tokio::test]
async fn open_donor_query_stores_the_first_message_as_the_donors_query_message() {
    let mut tickets = MockTicketRepository::new();
    tickets
        .expect_create()
        .withf(|t, first| {
            t.status == InProgress
                && t.channel() == Channel::Donor
                && t.donor.as_ref().is_some_and(|d| d.donor_id == DONOR_A)
                && first.as_ref().is_some_and(|m| {
                    m.sender == Sender::Donor
                        && m.message_type == MessageType::Query
                        && m.content == "My receipt is wrong"
                        && m.created_at == now()
                })
        })
        .times(1)
        .returning(|_, _| Ok((donor_ticket(1, DONOR_A, InProgress), None)));
    let input = DonorQueryInput {
        donor: "Ann".into(),
        donor_id: DONOR_A.into(),
        message: Some("  My receipt is wrong ".into()),
        ..Default::default()
    };

    ticket_service(tickets, no_messages(), no_users())
        .open_donor_query(input)
        .await
        .unwrap();
}

#[tokio::test]
async fn open_donor_query_without_a_message_stores_no_first_message() {
    let mut tickets = MockTicketRepository::new();
    tickets
        .expect_create()
        .withf(|_, first| first.is_none())
        .times(1)
        .returning(|_, _| Ok((donor_ticket(1, DONOR_A, InProgress), None)));
    let input = DonorQueryInput {
        donor: "Ann".into(),
        donor_id: DONOR_A.into(),
        message: Some("   ".into()),
        ..Default::default()
    };

    ticket_service(tickets, no_messages(), no_users())
        .open_donor_query(input)
        .await
        .unwrap();
}

#[tokio::test]
async fn open_donor_query_with_invalid_input_creates_nothing() {
    let tickets = no_tickets();
    let input = DonorQueryInput {
        donor: "Ann".into(),
        donor_id: " ".into(),
        ..Default::default()
    };

    let result = ticket_service(tickets, no_messages(), no_users())
        .open_donor_query(input)
        .await;

    assert_eq!(invalid_fields(result), ["donorId"]);
}

fn task_input(assignee: Option<UserId>) -> TaskInput {
    TaskInput {
        title: "Call the bank".into(),
        description: None,
        priority: None,
        assigned_to_id: assignee,
    }
}

#[tokio::test]
async fn open_task_with_an_inactive_or_unknown_assignee_is_invalid_and_creates_nothing() {
    let inactive_agent = inactive(user(OTHER_AGENT_ID, Role::Agent));
    for (users, assignee) in [
        (users_holding(vec![inactive_agent]), OTHER_AGENT_ID),
        (users_holding(vec![]), UserId(404)),
    ] {
        let result = ticket_service(no_tickets(), no_messages(), users)
            .open_task(&agent(), task_input(Some(assignee)))
            .await;

        assert_eq!(invalid_fields(result), ["assignedToId"], "{assignee:?}");
    }
}

#[tokio::test]
async fn agent_opens_a_task_it_creates_for_an_active_assignee() {
    let mut tickets = MockTicketRepository::new();
    tickets
        .expect_create()
        .withf(|t, first| {
            t.status == Open
                && t.channel() == Channel::Internal
                && t.creator_id == Some(AGENT_ID)
                && t.assignee_id == Some(OTHER_AGENT_ID)
                && first.is_none()
        })
        .times(1)
        .returning(|_, _| Ok((task(5, Open), None)));

    let ticket = ticket_service(tickets, no_messages(), staff_users())
        .open_task(&agent(), task_input(Some(OTHER_AGENT_ID)))
        .await
        .unwrap();

    assert_eq!(ticket.id, TicketId(5));
}

#[tokio::test]
async fn donor_cannot_open_a_task() {
    let tickets = no_tickets();

    let result = ticket_service(tickets, no_messages(), no_users())
        .open_task(&donor(DONOR_A, 1), task_input(None))
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

// ---- reading -----------------------------------------------------------------------------

#[tokio::test]
async fn donor_reads_its_own_ticket() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);

    let ticket = ticket_service(tickets, no_messages(), no_users())
        .get(&donor(DONOR_A, 1), TicketId(1))
        .await
        .unwrap();

    assert_eq!(ticket.id, TicketId(1));
}

/// Donor A's token for ticket 1 asks for ticket 2 of `owner` (another donor, or donor A
/// itself through another token): `NotFound`, for a read and for a close, and nothing written.
async fn assert_other_ticket_hidden(owner: &str) {
    let actor = donor(DONOR_A, 1);
    for close in [false, true] {
        let tickets = read_only(vec![
            donor_ticket(1, DONOR_A, InProgress),
            donor_ticket(2, owner, InProgress),
        ]);
        let service = ticket_service(tickets, no_messages(), no_users());

        let result = if close {
            service.close(&actor, TicketId(2)).await
        } else {
            service.get(&actor, TicketId(2)).await
        };

        assert_err!(result, DomainError::NotFound(_));
    }
}

#[tokio::test]
async fn donor_cannot_read_or_close_another_donors_ticket() {
    assert_other_ticket_hidden(DONOR_B).await;
}

#[tokio::test]
async fn donor_token_for_one_ticket_cannot_read_or_close_another_ticket_of_the_same_donor() {
    assert_other_ticket_hidden(DONOR_A).await;
}

#[tokio::test]
async fn a_task_is_not_found_on_the_donor_query_routes() {
    let tickets = read_only(vec![task(5, Open)]);

    let result = ticket_service(tickets, no_messages(), no_users())
        .get_in(&admin(), TicketId(5), Channel::Donor)
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

// ---- listing -----------------------------------------------------------------------------

/// Lists as `actor`; the service must refuse before it reads anything.
async fn assert_list_refused(actor: &Actor, list: TicketList) {
    let mut tickets = MockTicketRepository::new();
    tickets.expect_list().never();

    let result = ticket_service(tickets, no_messages(), no_users())
        .list(actor, list, Default::default())
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

/// Lists as `actor`; the service must read once, with a filter `check` accepts.
async fn assert_list_reads(
    actor: &Actor,
    list: TicketList,
    check: impl Fn(&TicketFilter) -> bool + Send + 'static,
) {
    let mut tickets = MockTicketRepository::new();
    tickets
        .expect_list()
        .withf(move |f, _| check(f))
        .times(1)
        .returning(|_, _| Ok(empty_page()));

    ticket_service(tickets, no_messages(), no_users())
        .list(actor, list, Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn donor_cannot_list_another_donors_queries() {
    assert_list_refused(&donor(DONOR_A, 1), TicketList::Donor(Some(DONOR_B.into()))).await;
}

#[tokio::test]
async fn donor_lists_the_queries_of_its_own_session() {
    assert_list_reads(
        &donor(DONOR_A, 1),
        TicketList::Donor(Some(DONOR_A.into())),
        |f| {
            f.donor_id.as_deref() == Some(DONOR_A)
                && f.donor_session.as_deref() == Some(session_of(1).as_str())
                && f.channel == Some(Channel::Donor)
        },
    )
    .await;
}

#[tokio::test]
async fn a_donor_the_app_vouched_for_lists_every_query_of_its_donor_id() {
    let vouched = Actor::Donor {
        donor_id: DONOR_A.into(),
        ticket_id: TicketId(1),
        session: session_of(1),
        identity_verified: true,
    };
    assert_list_reads(&vouched, TicketList::Donor(Some(DONOR_A.into())), |f| {
        f.donor_id.as_deref() == Some(DONOR_A) && f.donor_session.is_none()
    })
    .await;
}

#[tokio::test]
async fn a_donor_naming_no_donor_id_lists_its_own() {
    assert_list_reads(&donor(DONOR_A, 1), TicketList::Donor(None), |f| {
        f.donor_id.as_deref() == Some(DONOR_A)
            && f.donor_session.as_deref() == Some(session_of(1).as_str())
    })
    .await;
}

#[tokio::test]
async fn staff_must_name_the_donor_whose_queries_they_list() {
    let mut tickets = MockTicketRepository::new();
    tickets.expect_list().never();
    let result = ticket_service(tickets, no_messages(), no_users())
        .list(&agent(), TicketList::Donor(None), Default::default())
        .await;
    assert_err!(result, DomainError::Invalid(_));
}

#[tokio::test]
async fn staff_list_any_donor_id_across_sessions() {
    assert_list_reads(&agent(), TicketList::Donor(Some(DONOR_B.into())), |f| {
        f.donor_id.as_deref() == Some(DONOR_B) && f.donor_session.is_none()
    })
    .await;
}

#[tokio::test]
async fn general_list_for_a_donor_is_forced_to_its_own_donor_id() {
    let filter = TicketFilter {
        donor_id: Some(DONOR_B.into()),
        ..Default::default()
    };
    assert_list_reads(&donor(DONOR_A, 1), TicketList::General(filter), |f| {
        f.donor_id.as_deref() == Some(DONOR_A)
            && f.donor_session.as_deref() == Some(session_of(1).as_str())
            && f.channel == Some(Channel::Donor)
            && f.statuses == TicketStatus::ACTIVE
    })
    .await;
}

#[tokio::test]
async fn general_list_for_staff_keeps_its_filter_within_donor_queries() {
    let filter = TicketFilter {
        channel: Some(Channel::Internal),
        donor_id: Some(DONOR_B.into()),
        statuses: vec![Resolved],
        ..Default::default()
    };
    assert_list_reads(&agent(), TicketList::General(filter), |f| {
        f.donor_id.as_deref() == Some(DONOR_B)
            && f.channel == Some(Channel::Donor)
            && f.statuses == [Resolved]
    })
    .await;
}

#[tokio::test]
async fn agent_cannot_list_all_queries() {
    assert_list_refused(&agent(), TicketList::AllQueries(Default::default())).await;
}

#[tokio::test]
async fn admin_lists_all_queries_of_the_donor_channel_only() {
    let filter = TicketFilter {
        channel: Some(Channel::Internal),
        ..Default::default()
    };
    assert_list_reads(&admin(), TicketList::AllQueries(filter), |f| {
        f.channel == Some(Channel::Donor)
    })
    .await;
}

#[tokio::test]
async fn donor_cannot_list_tasks() {
    assert_list_refused(&donor(DONOR_A, 1), TicketList::Tasks(Default::default())).await;
}

#[tokio::test]
async fn agent_lists_tasks_of_the_internal_channel_only() {
    let filter = TicketFilter {
        channel: Some(Channel::Donor),
        ..Default::default()
    };
    assert_list_reads(&agent(), TicketList::Tasks(filter), |f| {
        f.channel == Some(Channel::Internal)
    })
    .await;
}

fn searching(q: &str) -> TicketFilter {
    TicketFilter {
        search: Some(crate::search::Query::parse(q).unwrap()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_list_query_gets_assignee_me_resolved_to_the_caller() {
    assert_list_reads(
        &agent(),
        TicketList::Tasks(searching("refund assignee:me")),
        |f| {
            f.search.as_ref().is_some_and(|q| {
                q.filters.assignee == Some(crate::search::AssigneeFilter::Id(AGENT_ID))
            })
        },
    )
    .await;
}

#[tokio::test]
async fn a_donor_list_query_may_not_filter_by_assignee() {
    let mut tickets = MockTicketRepository::new();
    tickets.expect_list().never();
    let result = ticket_service(tickets, no_messages(), no_users())
        .list(
            &donor(DONOR_A, 1),
            TicketList::General(searching("refund assignee:none")),
            Default::default(),
        )
        .await;
    assert_err!(result, DomainError::Invalid(_));
}

// ---- who may change what -------------------------------------------------------------------

#[tokio::test]
async fn agent_cannot_accept_transfer_resolve_update_or_close_a_donor_query() {
    for op in all_ops() {
        let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
        let service = ticket_service(tickets, no_messages(), staff_users());

        let result = run(&service, &agent(), op.clone(), 1).await;

        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{op:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn donor_cannot_accept_transfer_resolve_or_update_its_own_ticket() {
    for op in [Op::Accept, Op::Transfer, Op::Resolve, Op::Update(retitle())] {
        let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
        let service = ticket_service(tickets, no_messages(), staff_users());

        let result = run(&service, &donor(DONOR_A, 1), op.clone(), 1).await;

        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{op:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn donor_closes_its_own_ticket_with_a_note() {
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, PendingReply)]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.id == TicketId(1)
                && t.status() == Closed
                && t.closed_at == Some(now())
                && is_system_note(note, 1, "Closed by the donor")
        })
        .times(1)
        .returning(saved);

    let ticket = ticket_service(tickets, no_messages(), no_users())
        .close(&donor(DONOR_A, 1), TicketId(1))
        .await
        .unwrap();

    assert_eq!(ticket.status(), Closed);
}

#[tokio::test]
async fn agent_manages_internal_tasks() {
    let expected = [
        (Op::Accept, InProgress),
        (Op::Transfer, Transferred),
        (Op::Resolve, Resolved),
        (Op::Close, Closed),
        (Op::Update(retitle()), Open),
    ];
    for (op, status) in expected {
        let mut tickets = tickets_holding(vec![task(5, Open)]);
        tickets
            .expect_update()
            .withf(move |t, _| t.id == TicketId(5) && t.status() == status)
            .times(1)
            .returning(saved);
        let service = ticket_service(tickets, no_messages(), staff_users());

        let result = run(&service, &agent(), op.clone(), 5).await;

        assert_eq!(result.unwrap().status(), status, "{op:?}");
    }
}

#[tokio::test]
async fn agent_cannot_delete_tickets() {
    for ticket in [donor_ticket(1, DONOR_A, InProgress), task(1, Open)] {
        let tickets = read_only(vec![ticket]);

        let result = ticket_service(tickets, no_messages(), no_users())
            .delete(&agent(), TicketId(1))
            .await;

        assert_err!(result, DomainError::Forbidden(_));
    }
}

#[tokio::test]
async fn admin_deletes_a_ticket() {
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, Closed)]);
    tickets
        .expect_delete()
        .withf(|id| *id == TicketId(1))
        .times(1)
        .returning(|_| Ok(vec![]));

    ticket_service(tickets, no_messages(), no_users())
        .delete(&admin(), TicketId(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_missing_ticket_is_not_found_and_deletes_nothing() {
    let tickets = read_only(vec![]);

    let result = ticket_service(tickets, no_messages(), no_users())
        .delete(&admin(), TicketId(1))
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

// ---- lifecycle -----------------------------------------------------------------------------

#[tokio::test]
async fn admin_accepts_a_donor_query_and_becomes_its_assignee() {
    let mut tickets = tickets_holding(vec![with(donor_ticket(1, DONOR_A, Transferred), |t| {
        t.assignee_id = Some(OTHER_AGENT_ID);
    })]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.status() == InProgress
                && t.assignee_id == Some(ADMIN_ID)
                && t.updated_at == now()
                && note.is_none()
        })
        .times(1)
        .returning(saved);

    let ticket = ticket_service(tickets, no_messages(), no_users())
        .accept(&admin(), TicketId(1))
        .await
        .unwrap();

    assert_eq!(ticket.assignee_id, Some(ADMIN_ID));
}

#[tokio::test]
async fn transfer_hands_the_ticket_to_the_target_and_tells_the_donor_only_that_it_moved() {
    let mut tickets = tickets_holding(vec![with(donor_ticket(1, DONOR_A, InProgress), |t| {
        t.assignee_id = Some(ADMIN_ID);
    })]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.status() == Transferred
                && t.assignee_id == Some(OTHER_AGENT_ID)
                && t.transferred_from_id == Some(ADMIN_ID)
                && t.transfer_note.as_deref() == Some("please call back")
                && is_system_note(note, 1, crate::services::TRANSFER_NOTICE)
        })
        .times(1)
        .returning(saved);

    ticket_service(tickets, no_messages(), staff_users())
        .transfer(
            &admin(),
            TicketId(1),
            OTHER_AGENT_ID,
            Some("  please call back "),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_task_transfer_note_names_the_target_and_quotes_the_note() {
    let mut tickets = tickets_holding(vec![task(5, Open)]);
    tickets
        .expect_update()
        .withf(|_, note| is_system_note(note, 5, "Transferred to User 11: please call back"))
        .times(1)
        .returning(saved);

    ticket_service(tickets, no_messages(), staff_users())
        .transfer(
            &admin(),
            TicketId(5),
            OTHER_AGENT_ID,
            Some("please call back"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_task_transfer_without_a_note_says_only_who_took_over() {
    let mut tickets = tickets_holding(vec![task(5, Open)]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.transfer_note.is_none() && is_system_note(note, 5, "Transferred to User 11")
        })
        .times(1)
        .returning(saved);

    ticket_service(tickets, no_messages(), staff_users())
        .transfer(&admin(), TicketId(5), OTHER_AGENT_ID, Some(" "))
        .await
        .unwrap();
}

#[tokio::test]
async fn transfer_to_an_inactive_user_is_invalid_and_writes_nothing() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let users = users_holding(vec![inactive(user(OTHER_AGENT_ID, Role::Agent))]);

    let result = ticket_service(tickets, no_messages(), users)
        .transfer(&admin(), TicketId(1), OTHER_AGENT_ID, None)
        .await;

    assert_eq!(invalid_fields(result), ["toUserId"]);
}

#[tokio::test]
async fn resolve_records_the_resolver_with_a_system_note() {
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, PendingReply)]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.status() == Resolved
                && t.resolved_by_id == Some(ADMIN_ID)
                && t.resolved_at == Some(now())
                && is_system_note(note, 1, "Ticket resolved")
        })
        .times(1)
        .returning(saved);

    ticket_service(tickets, no_messages(), no_users())
        .resolve(&admin(), TicketId(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn staff_close_adds_a_ticket_closed_note() {
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, Resolved)]);
    tickets
        .expect_update()
        .withf(|t, note| t.status() == Closed && is_system_note(note, 1, "Ticket closed"))
        .times(1)
        .returning(saved);

    ticket_service(tickets, no_messages(), no_users())
        .close(&admin(), TicketId(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn update_moves_status_through_the_state_machine_and_changes_fields() {
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, InProgress)]);
    tickets
        .expect_update()
        .withf(|t, note| {
            t.status() == Resolved
                && t.resolved_by_id == Some(ADMIN_ID)
                && t.priority == Priority::Urgent
                && t.title == "Refund"
                && note.is_none()
        })
        .times(1)
        .returning(saved);
    let changes = TicketChanges {
        status: Some(Resolved),
        priority: Some(Priority::Urgent),
        title: Some(" Refund ".into()),
        ..Default::default()
    };

    ticket_service(tickets, no_messages(), no_users())
        .update(&admin(), TicketId(1), changes)
        .await
        .unwrap();
}

#[tokio::test]
async fn update_with_an_inactive_assignee_is_invalid_and_writes_nothing() {
    let tickets = read_only(vec![task(5, Open)]);
    let users = users_holding(vec![inactive(user(OTHER_AGENT_ID, Role::Agent))]);
    let changes = TicketChanges {
        assignee_id: Some(Some(OTHER_AGENT_ID)),
        ..Default::default()
    };

    let result = ticket_service(tickets, no_messages(), users)
        .update(&agent(), TicketId(5), changes)
        .await;

    assert_eq!(invalid_fields(result), ["assignedToId"]);
}

#[tokio::test]
async fn update_cannot_set_transferred_without_naming_a_target() {
    let tickets = read_only(vec![task(5, Open)]);
    let changes = TicketChanges {
        status: Some(Transferred),
        ..Default::default()
    };

    let result = ticket_service(tickets, no_messages(), no_users())
        .update(&agent(), TicketId(5), changes)
        .await;

    assert_eq!(invalid_fields(result), ["status"]);
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_write_nothing() {
    let cases = [
        (Resolved, Op::Accept),
        (Closed, Op::Accept),
        (Resolved, Op::Transfer),
        (Closed, Op::Transfer),
        (Resolved, Op::Resolve),
        (Closed, Op::Resolve),
        (Closed, Op::Close),
        (Closed, Op::Update(retitle())),
        (
            Resolved,
            Op::Update(TicketChanges {
                status: Some(PendingReply),
                ..Default::default()
            }),
        ),
    ];
    for (status, op) in cases {
        for ticket in [donor_ticket(1, DONOR_A, status), task(1, status)] {
            let tickets = read_only(vec![ticket]);
            let service = ticket_service(tickets, no_messages(), staff_users());

            let result = run(&service, &admin(), op.clone(), 1).await;

            assert_eq!(transition_from(result), status, "{op:?} from {status}");
        }
    }
}

#[tokio::test]
async fn donor_cannot_close_its_ticket_twice() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);

    let result = ticket_service(tickets, no_messages(), no_users())
        .close(&donor(DONOR_A, 1), TicketId(1))
        .await;

    assert_eq!(transition_from(result), Closed);
}

// ---- concurrent updates --------------------------------------------------------------------

/// A ticket repository whose `get` answers `reads` in order, one per call.
fn reads_in_order(reads: Vec<Ticket>) -> MockTicketRepository {
    let mut repo = MockTicketRepository::new();
    for ticket in reads {
        repo.expect_get()
            .times(1)
            .returning(move |_| Ok(Some(ticket.clone())));
    }
    repo
}

fn version(ticket: Ticket, version: i32) -> Ticket {
    ticket.with_version(version)
}

/// Makes the first write lose a race (it was of version 1) and expects one more write, of
/// what the retry made from its fresh read, which `check` accepts.
fn lose_one_race(
    tickets: &mut MockTicketRepository,
    check: impl Fn(&Ticket, &Option<NewMessage>) -> bool + Send + 'static,
) {
    let mut attempts = mockall::Sequence::new();
    tickets
        .expect_update()
        .withf(|t, _| t.version() == 1)
        .times(1)
        .in_sequence(&mut attempts)
        .returning(|_, _| Err(DomainError::ConcurrentUpdate));
    tickets
        .expect_update()
        .withf(check)
        .times(1)
        .in_sequence(&mut attempts)
        .returning(saved);
}

#[tokio::test]
async fn accept_retries_a_concurrent_update_on_a_fresh_read() {
    let mut tickets = reads_in_order(vec![
        version(donor_ticket(1, DONOR_A, InProgress), 1),
        version(donor_ticket(1, DONOR_A, PendingReply), 2),
    ]);
    lose_one_race(&mut tickets, |t, _| {
        t.version() == 2 && t.status() == InProgress && t.assignee_id == Some(ADMIN_ID)
    });

    let ticket = ticket_service(tickets, no_messages(), no_users())
        .accept(&admin(), TicketId(1))
        .await
        .unwrap();

    assert_eq!(ticket.version(), 3);
}

#[tokio::test]
async fn close_retries_a_concurrent_update_on_a_fresh_read() {
    let mut tickets = reads_in_order(vec![
        version(donor_ticket(1, DONOR_A, InProgress), 1),
        version(donor_ticket(1, DONOR_A, Resolved), 2),
    ]);
    lose_one_race(&mut tickets, |t, note| {
        t.version() == 2 && t.status() == Closed && note.is_some()
    });

    ticket_service(tickets, no_messages(), no_users())
        .close(&donor(DONOR_A, 1), TicketId(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn accept_and_close_give_up_after_the_retry_limit() {
    for op in [Op::Accept, Op::Close] {
        let mut tickets = read_every_attempt();
        tickets
            .expect_update()
            .times(WRITE_ATTEMPTS)
            .returning(|_, _| Err(DomainError::ConcurrentUpdate));
        let service = ticket_service(tickets, no_messages(), no_users());

        let result = run(&service, &admin(), op.clone(), 1).await;

        assert!(
            matches!(result, Err(DomainError::ConcurrentUpdate)),
            "{op:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_retry_applies_the_state_machine_to_the_fresh_read() {
    // Someone closed the ticket between our read and our write: the retry must refuse.
    let mut tickets = reads_in_order(vec![
        version(donor_ticket(1, DONOR_A, InProgress), 1),
        version(donor_ticket(1, DONOR_A, Closed), 2),
    ]);
    tickets
        .expect_update()
        .times(1)
        .returning(|_, _| Err(DomainError::ConcurrentUpdate));

    let result = ticket_service(tickets, no_messages(), no_users())
        .resolve(&admin(), TicketId(1))
        .await;

    assert_eq!(transition_from(result), Closed);
}

// ---- reminders ---------------------------------------------------------------------------

#[tokio::test]
async fn remind_posts_a_reminder_from_the_admin() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, PendingReply)]);
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post()
        .withf(|m, ticket| {
            m.ticket_id == TicketId(1)
                && m.sender == Sender::Staff(ADMIN_ID)
                && m.message_type == MessageType::Reminder
                && ticket.is_none()
        })
        .times(1)
        .returning(|_, _| {
            Ok(Posted::Created(message(
                7,
                1,
                Sender::Staff(ADMIN_ID),
                MessageType::Reminder,
            )))
        });

    let reminder = ticket_service(tickets, messages, no_users())
        .remind(&admin(), TicketId(1))
        .await
        .unwrap();

    assert_eq!(reminder.message_type, MessageType::Reminder);
}

#[tokio::test]
async fn remind_on_a_closed_ticket_is_a_transition_error_and_posts_nothing() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);
    let mut messages = MockMessageRepository::new();
    no_message_writes(&mut messages);

    let result = ticket_service(tickets, messages, no_users())
        .remind(&admin(), TicketId(1))
        .await;

    assert_eq!(transition_from(result), Closed);
}

#[tokio::test]
async fn agent_cannot_remind_a_donor() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, PendingReply)]);
    let mut messages = MockMessageRepository::new();
    no_message_writes(&mut messages);

    let result = ticket_service(tickets, messages, no_users())
        .remind(&agent(), TicketId(1))
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn remind_on_a_task_is_not_found() {
    let tickets = read_only(vec![task(5, Open)]);
    let mut messages = MockMessageRepository::new();
    no_message_writes(&mut messages);

    let result = ticket_service(tickets, messages, no_users())
        .remind(&admin(), TicketId(5))
        .await;

    assert_err!(result, DomainError::NotFound(_));
}
