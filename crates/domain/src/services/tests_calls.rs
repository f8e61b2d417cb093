//! `CallService` against `mockall` mocks: every legal and illegal transition and permission.
//! A mock method without an expectation panics when called, so each test also says which
//! ports (writes, provider calls) a refused operation never reaches.

use super::tests::{
    admin, agent, donor, donor_ticket, earlier, message, mock_ports, now, staff, super_admin, task,
    user, users_holding, ADMIN_ID, AGENT_ID, DONOR_A, DONOR_B,
};
use crate::actor::Actor;
use crate::call::{
    CallMode, CallRequest, CallRequestId, CallRequestStatus, CallSession, CallSessionId,
    CallSessionStatus,
};
use crate::error::{DomainError, Result};
use crate::ids::TicketId;
use crate::message::{Message, MessageType, NewMessage};
use crate::page::{Page, PageRequest};
use crate::ports::{
    MockCallRepository, MockTicketRepository, MockUserRepository, MockVideoProvider,
};
use crate::services::{CallPorts, CallService, Ports};
use crate::ticket::{Ticket, TicketStatus};
use crate::user::Role;
use crate::video::{JoinToken, VideoRoom};
use std::sync::Arc;
use std::time::Duration;

macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern)),
        }
    };
}

const TICKET: i64 = 1;
const OTHER_TICKET: i64 = 2;
const ROOM: &str = "abcd-efgh-ijkl";

fn tickets() -> MockTicketRepository {
    let all: Vec<Ticket> = vec![
        donor_ticket(TICKET, DONOR_A, TicketStatus::InProgress),
        donor_ticket(OTHER_TICKET, DONOR_B, TicketStatus::InProgress),
        donor_ticket(3, DONOR_A, TicketStatus::Closed),
        task(4, TicketStatus::Open),
    ];
    let mut repo = MockTicketRepository::new();
    repo.expect_get()
        .returning(move |id| Ok(all.iter().find(|t| t.id == id).cloned()));
    repo
}

fn users() -> MockUserRepository {
    users_holding(vec![
        user(ADMIN_ID, Role::Admin),
        user(AGENT_ID, Role::Agent),
    ])
}

fn request(id: i64, ticket: i64, status: CallRequestStatus) -> CallRequest {
    CallRequest {
        id: CallRequestId(id),
        ticket_id: TicketId(ticket),
        mode: CallMode::Video,
        message: Some("screen is black".into()),
        status,
        decided_by_id: None,
        reason: None,
        decided_at: None,
        created_at: earlier(),
        updated_at: earlier(),
    }
}

fn session(ticket: i64, room: &str, status: CallSessionStatus) -> CallSession {
    CallSession {
        id: CallSessionId(9),
        ticket_id: TicketId(ticket),
        room_id: room.to_string(),
        mode: CallMode::Video,
        status,
        request_id: None,
        created_by_id: Some(ADMIN_ID),
        started_at: None,
        ended_at: (status == CallSessionStatus::Ended).then(now),
        created_at: earlier(),
        updated_at: earlier(),
    }
}

fn stored_message(note: &NewMessage) -> Message {
    Message {
        content: note.content.clone(),
        created_at: note.created_at,
        updated_at: note.created_at,
        ..message(
            100,
            note.ticket_id.0,
            note.sender.clone(),
            note.message_type,
        )
    }
}

/// A repository holding `requests` that expects one decision, which `check` accepts.
fn deciding_once(
    requests: Vec<CallRequest>,
    check: impl Fn(&CallRequest, &NewMessage) -> bool + Send + 'static,
) -> MockCallRepository {
    let mut calls = calls_holding(requests, vec![]);
    calls
        .expect_decide_request()
        .withf(check)
        .times(1)
        .returning(|r, _| Ok(r));
    calls
}

/// Requests and sessions the repository finds (reads only; writes need expectations).
fn calls_holding(requests: Vec<CallRequest>, sessions: Vec<CallSession>) -> MockCallRepository {
    let mut repo = MockCallRepository::new();
    let held = requests.clone();
    repo.expect_get_request()
        .returning(move |id| Ok(held.iter().find(|r| r.id == id).cloned()));
    repo.expect_newest_pending_request()
        .returning(move |ticket| {
            Ok(requests
                .iter()
                .filter(|r| r.ticket_id == ticket && r.status == CallRequestStatus::Pending)
                .max_by_key(|r| r.id)
                .cloned())
        });
    let held = sessions.clone();
    repo.expect_session_by_room()
        .returning(move |room| Ok(held.iter().find(|s| s.room_id == room).cloned()));
    let held = sessions.clone();
    repo.expect_open_session().returning(move |ticket| {
        Ok(held
            .iter()
            .find(|s| s.ticket_id == ticket && s.status.is_open())
            .cloned())
    });
    repo.expect_list_sessions().returning(move |ticket, _| {
        Ok(Page {
            items: sessions
                .iter()
                .filter(|s| s.ticket_id == ticket)
                .cloned()
                .collect(),
            next_cursor: None,
        })
    });
    repo
}

fn token(room: &str, participant: &str) -> JoinToken {
    JoinToken {
        token: format!("{room}/{participant}"),
        expires_in: Duration::from_secs(7200),
    }
}

/// A provider that mints tokens `room/participant` and allows nothing else.
fn minting() -> MockVideoProvider {
    let mut video = MockVideoProvider::new();
    video
        .expect_join_token()
        .returning(|room, p| Ok(token(room, &p.id)));
    video
}

/// A provider that is never called.
fn untouched() -> MockVideoProvider {
    MockVideoProvider::new()
}

fn service(calls: MockCallRepository, video: MockVideoProvider) -> CallService {
    CallService::new(&Ports {
        tickets: Arc::new(tickets()),
        users: Arc::new(users()),
        calls: Some(CallPorts {
            calls: Arc::new(calls),
            video: Arc::new(video),
        }),
        ..mock_ports()
    })
    .expect("the call ports are set")
}

fn page() -> PageRequest {
    PageRequest::default()
}

// ---- requests ----------------------------------------------------------------------------

#[tokio::test]
async fn the_donor_requests_a_call_with_a_call_request_note() {
    let mut calls = MockCallRepository::new();
    calls
        .expect_create_request()
        .withf(|r, note| {
            r.ticket_id == TicketId(TICKET)
                && r.mode == CallMode::Audio
                && r.message.as_deref() == Some("please call")
                && r.created_at == now()
                && note.message_type == MessageType::CallRequest
                && note.ticket_id == TicketId(TICKET)
                && note.content == "The donor requested an audio call: please call"
        })
        .times(1)
        .returning(|r, note| {
            let message = stored_message(&note);
            Ok((
                CallRequest {
                    mode: r.mode,
                    message: r.message,
                    ..request(5, TICKET, CallRequestStatus::Pending)
                },
                message,
            ))
        });
    let svc = service(calls, untouched());
    let made = svc
        .request(
            &donor(DONOR_A, TICKET),
            TicketId(TICKET),
            CallMode::Audio,
            Some("  please call "),
        )
        .await
        .expect("requested");
    assert_eq!(made.status, CallRequestStatus::Pending);
}

#[tokio::test]
async fn only_the_tickets_donor_may_request_and_only_on_an_open_ticket() {
    let svc = service(MockCallRepository::new(), untouched());
    let t = TicketId(TICKET);
    for staff_actor in [agent(), admin(), super_admin()] {
        assert_err!(
            svc.request(&staff_actor, t, CallMode::Video, None).await,
            DomainError::Forbidden(_)
        );
    }
    // A donor token of another ticket, or of the right ticket id but another donor: 404.
    assert_err!(
        svc.request(
            &donor(DONOR_A, TICKET),
            TicketId(OTHER_TICKET),
            CallMode::Video,
            None
        )
        .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.request(&donor(DONOR_B, TICKET), t, CallMode::Video, None)
            .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.request(&donor(DONOR_A, 99), TicketId(99), CallMode::Video, None)
            .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.request(&donor(DONOR_A, 3), TicketId(3), CallMode::Video, None)
            .await,
        DomainError::Conflict(_)
    );
    let long = "x".repeat(2000);
    assert_err!(
        svc.request(&donor(DONOR_A, TICKET), t, CallMode::Video, Some(&long))
            .await,
        DomainError::Invalid(_)
    );
}

#[tokio::test]
async fn the_donor_cancels_a_pending_request_once() {
    let calls = deciding_once(
        vec![
            request(5, TICKET, CallRequestStatus::Pending),
            request(6, TICKET, CallRequestStatus::Accepted),
            request(7, OTHER_TICKET, CallRequestStatus::Pending),
        ],
        |r, note| {
            r.id == CallRequestId(5)
                && r.status == CallRequestStatus::Cancelled
                && r.decided_at == Some(now())
                && note.message_type == MessageType::System
        },
    );
    let svc = service(calls, untouched());
    let me = donor(DONOR_A, TICKET);
    let t = TicketId(TICKET);
    let cancelled = svc
        .cancel_request(&me, t, CallRequestId(5))
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status, CallRequestStatus::Cancelled);
    assert_err!(
        svc.cancel_request(&me, t, CallRequestId(6)).await,
        DomainError::Conflict(_)
    );
    // Another ticket's request through this ticket, or another ticket altogether: 404.
    assert_err!(
        svc.cancel_request(&me, t, CallRequestId(7)).await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.cancel_request(&me, TicketId(OTHER_TICKET), CallRequestId(7))
            .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.cancel_request(&admin(), t, CallRequestId(5)).await,
        DomainError::Forbidden(_)
    );
}

#[tokio::test]
async fn admins_list_requests_others_may_not() {
    let mut calls = MockCallRepository::new();
    calls.expect_list_requests().times(2).returning(|_, _| {
        Ok(Page {
            items: vec![request(5, TICKET, CallRequestStatus::Pending)],
            next_cursor: None,
        })
    });
    let svc = service(calls, untouched());
    let t = TicketId(TICKET);
    assert_eq!(
        svc.requests(&admin(), t, page())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    assert!(svc.requests(&super_admin(), t, page()).await.is_ok());
    assert_err!(
        svc.requests(&agent(), t, page()).await,
        DomainError::Forbidden(_)
    );
    assert_err!(
        svc.requests(&donor(DONOR_A, TICKET), t, page()).await,
        DomainError::Forbidden(_)
    );
    assert_err!(
        svc.requests(&admin(), TicketId(99), page()).await,
        DomainError::NotFound(_)
    );
}

#[tokio::test]
async fn admins_reject_pending_requests_with_a_reason() {
    let calls = deciding_once(
        vec![
            request(5, TICKET, CallRequestStatus::Pending),
            request(6, TICKET, CallRequestStatus::Rejected),
            request(7, TICKET, CallRequestStatus::Cancelled),
            request(8, TICKET, CallRequestStatus::Accepted),
        ],
        |r, note| {
            r.status == CallRequestStatus::Rejected
                && r.decided_by_id == Some(ADMIN_ID)
                && r.reason.as_deref() == Some("busy")
                && note.content.contains("declined: busy")
        },
    );
    let svc = service(calls, untouched());
    let t = TicketId(TICKET);
    let rejected = svc
        .reject_request(&admin(), t, CallRequestId(5), Some("busy"))
        .await
        .expect("rejected");
    assert_eq!(rejected.status, CallRequestStatus::Rejected);
    for decided in [6, 7, 8] {
        assert_err!(
            svc.reject_request(&admin(), t, CallRequestId(decided), None)
                .await,
            DomainError::Conflict(_)
        );
    }
    assert_err!(
        svc.reject_request(&agent(), t, CallRequestId(5), None)
            .await,
        DomainError::Forbidden(_)
    );
    assert_err!(
        svc.reject_request(&donor(DONOR_A, TICKET), t, CallRequestId(5), None)
            .await,
        DomainError::Forbidden(_)
    );
    assert_err!(
        svc.reject_request(&admin(), t, CallRequestId(404), None)
            .await,
        DomainError::NotFound(_)
    );
}

// ---- starting ----------------------------------------------------------------------------

fn creating(room: &'static str) -> MockVideoProvider {
    let mut video = minting();
    video.expect_create_room().times(1).returning(move || {
        Ok(VideoRoom {
            room_id: room.to_string(),
        })
    });
    video
}

fn started(
    s: crate::call::NewCallSession,
    accepted: Option<CallRequest>,
    note: NewMessage,
) -> Result<(CallSession, Message)> {
    let message = stored_message(&note);
    Ok((
        CallSession {
            id: CallSessionId(9),
            ticket_id: s.ticket_id,
            room_id: s.room_id,
            mode: s.mode,
            status: CallSessionStatus::Created,
            request_id: accepted.map(|r| r.id),
            created_by_id: s.created_by_id,
            started_at: None,
            ended_at: None,
            created_at: s.created_at,
            updated_at: s.created_at,
        },
        message,
    ))
}

#[tokio::test]
async fn accepting_the_newest_pending_request_creates_the_room_then_the_session() {
    let mut calls = calls_holding(
        vec![
            request(5, TICKET, CallRequestStatus::Pending),
            request(6, TICKET, CallRequestStatus::Pending),
            request(7, TICKET, CallRequestStatus::Rejected),
        ],
        vec![],
    );
    calls
        .expect_start_session()
        .withf(|s, accepted, note| {
            s.room_id == ROOM
                && s.request_id == Some(CallRequestId(6))
                && s.created_by_id == Some(ADMIN_ID)
                && accepted.as_ref().is_some_and(|r| {
                    r.id == CallRequestId(6)
                        && r.status == CallRequestStatus::Accepted
                        && r.decided_by_id == Some(ADMIN_ID)
                })
                && note.message_type == MessageType::CallStarted
        })
        .times(1)
        .returning(started);
    let svc = service(calls, creating(ROOM));
    let (session, join) = svc
        .accept_request(&admin(), TicketId(TICKET), None)
        .await
        .expect("accepted");
    assert_eq!(session.room_id, ROOM);
    assert_eq!(session.request_id, Some(CallRequestId(6)));
    assert_eq!(join.participant_id, format!("staff-{ADMIN_ID}"));
    assert_eq!(join.token, token(ROOM, &join.participant_id));
}

#[tokio::test]
async fn accepting_a_named_request_and_starting_directly() {
    let mut calls = calls_holding(vec![request(5, TICKET, CallRequestStatus::Pending)], vec![]);
    calls
        .expect_start_session()
        .withf(|s, accepted, _| s.request_id == Some(CallRequestId(5)) && accepted.is_some())
        .times(1)
        .returning(started);
    let svc = service(calls, creating(ROOM));
    svc.accept_request(&super_admin(), TicketId(TICKET), Some(CallRequestId(5)))
        .await
        .expect("accepted");

    let mut calls = calls_holding(vec![], vec![]);
    calls
        .expect_start_session()
        .withf(|s, accepted, _| {
            s.request_id.is_none() && accepted.is_none() && s.mode == CallMode::Audio
        })
        .times(1)
        .returning(started);
    let svc = service(calls, creating(ROOM));
    svc.start(&admin(), TicketId(4), Some(CallMode::Audio))
        .await
        .expect("started on a task");
}

#[tokio::test]
async fn illegal_accepts_touch_neither_the_provider_nor_the_store() {
    let calls = calls_holding(
        vec![
            request(5, TICKET, CallRequestStatus::Accepted),
            request(6, TICKET, CallRequestStatus::Rejected),
            request(7, TICKET, CallRequestStatus::Cancelled),
            request(8, OTHER_TICKET, CallRequestStatus::Pending),
        ],
        vec![],
    );
    let svc = service(calls, untouched());
    let t = TicketId(TICKET);
    for decided in [5, 6, 7] {
        assert_err!(
            svc.accept_request(&admin(), t, Some(CallRequestId(decided)))
                .await,
            DomainError::Conflict(_)
        );
    }
    // No pending request left for "the newest"; another ticket's request; an unknown one.
    assert_err!(
        svc.accept_request(&admin(), t, None).await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.accept_request(&admin(), t, Some(CallRequestId(8)))
            .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.accept_request(&admin(), TicketId(99), None).await,
        DomainError::NotFound(_)
    );
    for refused in [agent(), donor(DONOR_A, TICKET), Actor::System] {
        assert_err!(
            svc.accept_request(&refused, t, Some(CallRequestId(8)))
                .await,
            DomainError::Forbidden(_)
        );
        assert_err!(
            svc.start(&refused, t, None).await,
            DomainError::Forbidden(_)
        );
    }
    assert_err!(
        svc.start(&admin(), TicketId(3), None).await,
        DomainError::Conflict(_)
    );
}

#[tokio::test]
async fn a_second_call_on_a_ticket_is_refused_before_the_provider() {
    for status in [CallSessionStatus::Created, CallSessionStatus::Active] {
        let calls = calls_holding(
            vec![request(5, TICKET, CallRequestStatus::Pending)],
            vec![session(TICKET, ROOM, status)],
        );
        let svc = service(calls, untouched());
        assert_err!(
            svc.accept_request(&admin(), TicketId(TICKET), None).await,
            DomainError::Conflict(_)
        );
        assert_err!(
            svc.start(&admin(), TicketId(TICKET), None).await,
            DomainError::Conflict(_)
        );
    }
}

#[tokio::test]
async fn a_provider_failure_writes_nothing() {
    let calls = calls_holding(vec![request(5, TICKET, CallRequestStatus::Pending)], vec![]);
    let mut video = MockVideoProvider::new();
    video.expect_create_room().times(2).returning(|| {
        Err(DomainError::Unavailable(
            "video calls are not configured".into(),
        ))
    });
    let svc = service(calls, video);
    assert_err!(
        svc.accept_request(&admin(), TicketId(TICKET), None).await,
        DomainError::Unavailable(_)
    );
    assert_err!(
        svc.start(&admin(), TicketId(TICKET), None).await,
        DomainError::Unavailable(_)
    );
}

#[tokio::test]
async fn a_failed_write_ends_the_room_it_created() {
    let mut calls = calls_holding(vec![request(5, TICKET, CallRequestStatus::Pending)], vec![]);
    calls
        .expect_start_session()
        .times(1)
        .returning(|_, _, _| Err(DomainError::ConcurrentUpdate));
    let mut video = creating(ROOM);
    video
        .expect_end_room()
        .withf(|room| room == ROOM)
        .times(1)
        .returning(|_| Ok(()));
    let svc = service(calls, video);
    assert_err!(
        svc.accept_request(&admin(), TicketId(TICKET), None).await,
        DomainError::ConcurrentUpdate
    );
}

// ---- sessions ----------------------------------------------------------------------------

#[tokio::test]
async fn participants_list_sessions_with_their_own_token_for_open_ones() {
    let calls = calls_holding(
        vec![],
        vec![
            session(TICKET, ROOM, CallSessionStatus::Active),
            session(TICKET, "old-room", CallSessionStatus::Ended),
        ],
    );
    let svc = service(calls, minting());
    let t = TicketId(TICKET);
    let views = svc
        .sessions(&donor(DONOR_A, TICKET), t, page())
        .await
        .expect("donor lists");
    assert_eq!(views.items.len(), 2);
    let join = views.items[0]
        .join
        .as_ref()
        .expect("a token for the open call");
    assert_eq!(join.participant_id, format!("donor-{TICKET}"));
    assert_eq!(join.token, token(ROOM, "donor-1"));
    assert!(views.items[1].join.is_none());

    let views = svc
        .sessions(&agent(), t, page())
        .await
        .expect("staff lists");
    let join = views.items[0].join.as_ref().expect("a staff token");
    assert_eq!(join.participant_id, format!("staff-{AGENT_ID}"));

    assert_err!(
        svc.sessions(&donor(DONOR_B, OTHER_TICKET), t, page()).await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.sessions(&Actor::System, t, page()).await,
        DomainError::Forbidden(_)
    );
}

#[tokio::test]
async fn tokens_need_the_provider() {
    let calls = calls_holding(
        vec![],
        vec![session(TICKET, ROOM, CallSessionStatus::Created)],
    );
    let mut video = MockVideoProvider::new();
    video
        .expect_join_token()
        .returning(|_, _| Err(DomainError::Unavailable("not configured".into())));
    let svc = service(calls, video);
    assert_err!(
        svc.sessions(&admin(), TicketId(TICKET), page()).await,
        DomainError::Unavailable(_)
    );
}

#[tokio::test]
async fn participants_activate_a_created_session_once() {
    let mut calls = calls_holding(
        vec![],
        vec![
            session(TICKET, "created", CallSessionStatus::Created),
            session(OTHER_TICKET, "active", CallSessionStatus::Active),
            session(4, "ended", CallSessionStatus::Ended),
        ],
    );
    calls
        .expect_update_session()
        .withf(|s, from, note| {
            s.room_id == "created"
                && s.status == CallSessionStatus::Active
                && s.started_at == Some(now())
                && *from == CallSessionStatus::Created
                && note.is_none()
        })
        .times(1)
        .returning(|s, _, _| Ok(s));
    let svc = service(calls, untouched());
    let active = svc
        .set_status(
            &donor(DONOR_A, TICKET),
            "created",
            CallSessionStatus::Active,
        )
        .await
        .expect("activated");
    assert_eq!(active.status, CallSessionStatus::Active);
    // Already active: nothing to write.
    let same = svc
        .set_status(&agent(), "active", CallSessionStatus::Active)
        .await
        .expect("unchanged");
    assert_eq!(same.status, CallSessionStatus::Active);
    assert_err!(
        svc.set_status(&agent(), "ended", CallSessionStatus::Active)
            .await,
        DomainError::Conflict(_)
    );
    assert_err!(
        svc.set_status(&agent(), "created", CallSessionStatus::Created)
            .await,
        DomainError::Invalid(_)
    );
    // Another ticket's donor, and an unknown room: 404.
    assert_err!(
        svc.set_status(&donor(DONOR_A, TICKET), "active", CallSessionStatus::Active)
            .await,
        DomainError::NotFound(_)
    );
    assert_err!(
        svc.set_status(&agent(), "nope", CallSessionStatus::Active)
            .await,
        DomainError::NotFound(_)
    );
}

#[tokio::test]
async fn ending_ends_the_provider_room_then_stores_the_call_ended_note() {
    for (actor, status) in [
        (donor(DONOR_A, TICKET), CallSessionStatus::Created),
        (agent(), CallSessionStatus::Active),
    ] {
        let mut calls = calls_holding(vec![], vec![session(TICKET, ROOM, status)]);
        calls
            .expect_update_session()
            .withf(move |s, from, note| {
                s.status == CallSessionStatus::Ended
                    && s.ended_at == Some(now())
                    && *from == status
                    && note.as_ref().is_some_and(|n| {
                        n.message_type == MessageType::CallEnded
                            && n.content == "The video call ended after 3h 00m 00s"
                    })
            })
            .times(1)
            .returning(|s, _, _| Ok(s));
        let mut video = MockVideoProvider::new();
        video
            .expect_end_room()
            .withf(|room| room == ROOM)
            .times(1)
            .returning(|_| Ok(()));
        let svc = service(calls, video);
        let ended = svc.end(&actor, ROOM).await.expect("ended");
        assert_eq!(ended.status, CallSessionStatus::Ended);
        assert_eq!(ended.duration_seconds(), Some(3 * 3600));
    }
}

#[tokio::test]
async fn illegal_ends_touch_neither_the_provider_nor_the_store() {
    let calls = calls_holding(
        vec![],
        vec![
            session(TICKET, "ended", CallSessionStatus::Ended),
            session(OTHER_TICKET, "theirs", CallSessionStatus::Active),
        ],
    );
    let svc = service(calls, untouched());
    assert_err!(svc.end(&admin(), "ended").await, DomainError::Conflict(_));
    assert_err!(
        svc.set_status(&admin(), "ended", CallSessionStatus::Ended)
            .await,
        DomainError::Conflict(_)
    );
    assert_err!(
        svc.end(&donor(DONOR_A, TICKET), "theirs").await,
        DomainError::NotFound(_)
    );
}

#[tokio::test]
async fn a_provider_failure_on_end_writes_nothing() {
    let calls = calls_holding(
        vec![],
        vec![session(TICKET, ROOM, CallSessionStatus::Active)],
    );
    let mut video = MockVideoProvider::new();
    video
        .expect_end_room()
        .times(1)
        .returning(|_| Err(DomainError::Unavailable("VideoSDK answered 502".into())));
    let svc = service(calls, video);
    assert_err!(svc.end(&admin(), ROOM).await, DomainError::Unavailable(_));
}

#[tokio::test]
async fn admins_delete_rooms_ending_open_ones_first() {
    let mut calls = calls_holding(
        vec![],
        vec![
            session(TICKET, ROOM, CallSessionStatus::Active),
            CallSession {
                id: CallSessionId(10),
                ..session(TICKET, "old", CallSessionStatus::Ended)
            },
        ],
    );
    calls
        .expect_update_session()
        .times(1)
        .returning(|s, _, _| Ok(s));
    calls.expect_delete_session().times(2).returning(|_| Ok(()));
    let mut video = MockVideoProvider::new();
    video.expect_end_room().times(1).returning(|_| Ok(()));
    let svc = service(calls, video);
    svc.delete(&admin(), ROOM)
        .await
        .expect("deleted the open one");
    svc.delete(&super_admin(), "old")
        .await
        .expect("deleted the ended one");
}

#[tokio::test]
async fn only_admins_delete_rooms() {
    let calls = calls_holding(
        vec![],
        vec![session(TICKET, ROOM, CallSessionStatus::Active)],
    );
    let svc = service(calls, untouched());
    for refused in [
        agent(),
        staff(AGENT_ID, Role::Agent),
        donor(DONOR_A, TICKET),
        donor(DONOR_B, OTHER_TICKET),
    ] {
        assert_err!(svc.delete(&refused, ROOM).await, DomainError::Forbidden(_));
    }
    assert_err!(svc.delete(&admin(), "nope").await, DomainError::NotFound(_));
}
