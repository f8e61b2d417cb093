//! The state machine, table-driven over every status, and the inputs' validation.

use super::*;
use crate::DomainError;
use TicketStatus::*;

/// A donor query of donor "Ann" in this status.
fn ticket(status: TicketStatus) -> Ticket {
    crate::services::tests::donor_ticket(1, "Ann", status)
}

const ME: UserId = UserId(7);

/// Runs `f` on a ticket in every status and returns the status it ends in, or the error.
fn table(
    f: impl Fn(&mut Ticket) -> Result<(), TransitionError>,
) -> Vec<(TicketStatus, Option<TicketStatus>)> {
    TicketStatus::ALL
        .iter()
        .map(|&from| {
            let mut t = ticket(from);
            let before = t.clone();
            match f(&mut t) {
                Ok(()) => (from, Some(t.status)),
                Err(err) => {
                    assert_eq!(t, before, "a refused transition changed the ticket");
                    assert_eq!(err.from, from);
                    (from, None)
                }
            }
        })
        .collect()
}

#[test]
fn accept_from_every_status() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.accept(ME, now)),
        vec![
            (Open, Some(InProgress)),
            (InProgress, Some(InProgress)),
            (PendingReply, Some(InProgress)),
            (Transferred, Some(InProgress)),
            (Resolved, None),
            (Closed, None),
        ]
    );
    let mut t = ticket(Open);
    t.accept(ME, now).unwrap();
    assert_eq!(t.assignee_id, Some(ME));
}

#[test]
fn transfer_from_every_status() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.transfer(UserId(9), Some("over to you".into()), now)),
        vec![
            (Open, Some(Transferred)),
            (InProgress, Some(Transferred)),
            (PendingReply, Some(Transferred)),
            (Transferred, Some(Transferred)),
            (Resolved, None),
            (Closed, None),
        ]
    );
    let mut t = ticket(InProgress);
    t.assignee_id = Some(ME);
    t.transfer(UserId(9), Some("note".into()), now).unwrap();
    assert_eq!(
        (
            t.assignee_id,
            t.transferred_from_id,
            t.transfer_note.as_deref()
        ),
        (Some(UserId(9)), Some(ME), Some("note"))
    );
}

#[test]
fn resolve_from_every_status() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.resolve(ME, now)),
        vec![
            (Open, Some(Resolved)),
            (InProgress, Some(Resolved)),
            (PendingReply, Some(Resolved)),
            (Transferred, Some(Resolved)),
            (Resolved, None),
            (Closed, None),
        ]
    );
}

#[test]
fn close_from_every_status() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.close(now)),
        vec![
            (Open, Some(Closed)),
            (InProgress, Some(Closed)),
            (PendingReply, Some(Closed)),
            (Transferred, Some(Closed)),
            (Resolved, Some(Closed)),
            (Closed, None),
        ]
    );
}

#[test]
fn staff_message_from_every_status() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.on_staff_message(now).map(|_| ())),
        vec![
            (Open, Some(Open)),
            (InProgress, Some(PendingReply)),
            (PendingReply, Some(PendingReply)),
            (Transferred, Some(Transferred)),
            (Resolved, Some(Resolved)),
            (Closed, None),
        ]
    );
}

#[test]
fn donor_message_from_every_status_reopens_resolved() {
    let now = Utc::now();
    assert_eq!(
        table(|t| t.on_donor_message(now).map(|_| ())),
        vec![
            (Open, None),
            (InProgress, Some(InProgress)),
            (PendingReply, Some(InProgress)),
            (Transferred, Some(Transferred)),
            (Resolved, Some(InProgress)),
            (Closed, None),
        ]
    );
    let mut t = ticket(InProgress);
    t.resolve(ME, now).unwrap();
    t.on_donor_message(now).unwrap();
    assert_eq!((t.resolved_by_id, t.resolved_at), (None, None));
}

#[test]
fn set_status_for_every_pair() {
    let now = Utc::now();
    for &to in TicketStatus::ALL {
        for (from, result) in table(|t| t.set_status(to, ME, now)) {
            let expected = match (from, to) {
                (Closed, _) => None,
                (f, t) if f == t => Some(t),
                (_, Transferred) => None,
                (Resolved, Resolved) => Some(Resolved),
                (_, Closed) => Some(Closed),
                (Resolved, Open | InProgress) => Some(to),
                (Resolved, _) => None,
                (_, _) => Some(to),
            };
            assert_eq!(result, expected, "{from} -> {to}");
        }
    }
}

#[test]
fn closed_ticket_takes_no_edit() {
    let mut t = ticket(Closed);
    let changes = TicketChanges {
        title: Some("new".into()),
        ..Default::default()
    };
    assert!(t.apply(changes, ME, Utc::now()).is_err());
    assert_eq!(t.title, "Query from Ann");
}

#[test]
fn donor_query_input_is_validated() {
    let input = DonorQueryInput {
        donor: "  ".into(),
        donor_id: "x".repeat(500),
        ..Default::default()
    };
    match input.into_new_ticket(Utc::now()) {
        Err(DomainError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, vec!["donor", "donorId"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn donor_query_starts_in_progress_and_task_open() {
    let now = Utc::now();
    let (q, first) = DonorQueryInput {
        donor: "Ann".into(),
        donor_id: "d-1".into(),
        message: Some("My receipt is wrong".into()),
        ..Default::default()
    }
    .into_new_ticket(now)
    .unwrap();
    assert_eq!((q.status, q.channel()), (InProgress, Channel::Donor));
    assert_eq!(first.as_deref(), Some("My receipt is wrong"));
    let task = TaskInput {
        title: "Call back".into(),
        description: None,
        priority: Some(Priority::High),
        assigned_to_id: None,
    }
    .into_new_ticket(ME, now)
    .unwrap();
    assert_eq!((task.status, task.channel()), (Open, Channel::Internal));
}

#[test]
fn donor_view_keeps_the_status_and_drops_the_note_and_staff_ids() {
    let now = Utc::now();
    let mut t = ticket(InProgress);
    t.accept(ME, now).unwrap();
    t.transfer(UserId(9), Some("difficult donor, see CRM".into()), now)
        .unwrap();
    let view = t.for_donor();
    assert_eq!(view.status, Transferred);
    assert_eq!(
        (
            view.assignee_id,
            view.creator_id,
            view.resolved_by_id,
            view.transferred_from_id,
            view.transfer_note,
        ),
        (None, None, None, None, None)
    );
    assert_eq!(
        (view.id, &view.title, &view.donor),
        (t.id, &t.title, &t.donor)
    );
}

#[test]
fn unknown_priority_names_the_field() {
    match "SOMEDAY".parse::<Priority>() {
        Err(DomainError::Invalid(e)) => assert_eq!(e[0].field, "priority"),
        other => panic!("{other:?}"),
    }
}
