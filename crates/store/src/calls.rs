//! [`CallRepository`]: call requests and call sessions. Every write appends its events
//! (`call_requested`, `call_request_updated`, `call_started`, `call_ended`, `new_message`) at
//! the end of its own transaction. Status changes are conditional updates (`WHERE status =
//! <the status read>`), so two racing deciders cannot both win; the partial unique index
//! `call_sessions_one_open_per_ticket` keeps one open session per ticket even against writers
//! that skipped the domain's check.

use crate::audit::Outbox;
use crate::connection::DbConnection;
use crate::error::{corrupt, is_unique_violation, Error};
use crate::models::{from_db, to_db};
use crate::query::{first_row, page_of, paged};
use crate::schema_calls::{call_requests, call_sessions};
use crate::{events, message_rows, tickets, Store};
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::audit::Record;
use concierge_domain::call::{
    CallError, CallRequest, CallRequestId, CallRequestStatus, CallSession, CallSessionId,
    CallSessionStatus, NewCallRequest, NewCallSession,
};
use concierge_domain::event::{EventKind, NewEvent, Payload};
use concierge_domain::message::{Message, NewMessage};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::CallRepository;
use concierge_domain::{DomainError, Result, TicketId, UserId};
use diesel::prelude::*;
use std::str::FromStr;

fn parse<T: FromStr>(value: &str, what: &str) -> Result<T, Error> {
    value
        .parse()
        .map_err(|_| corrupt(format!("{what} {value:?}")))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = call_requests)]
struct RequestRow {
    id: i64,
    ticket_id: i64,
    mode: String,
    message: Option<String>,
    status: String,
    decided_by_id: Option<i64>,
    reason: Option<String>,
    decided_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl RequestRow {
    fn into_request(self) -> Result<CallRequest, Error> {
        Ok(CallRequest {
            id: CallRequestId(self.id),
            ticket_id: TicketId(self.ticket_id),
            mode: parse(&self.mode, "call mode")?,
            message: self.message,
            status: parse(&self.status, "call request status")?,
            decided_by_id: self.decided_by_id.map(UserId),
            reason: self.reason,
            decided_at: self.decided_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = call_requests)]
struct NewRequestRow {
    ticket_id: i64,
    mode: String,
    message: Option<String>,
    status: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What deciding a request changes.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = call_requests, treat_none_as_null = true)]
struct Decision {
    status: String,
    decided_by_id: Option<i64>,
    reason: Option<String>,
    decided_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = call_sessions)]
struct SessionRow {
    id: i64,
    ticket_id: i64,
    room_id: String,
    mode: String,
    status: String,
    request_id: Option<i64>,
    created_by_id: Option<i64>,
    started_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl SessionRow {
    fn into_session(self) -> Result<CallSession, Error> {
        Ok(CallSession {
            id: CallSessionId(self.id),
            ticket_id: TicketId(self.ticket_id),
            room_id: self.room_id,
            mode: parse(&self.mode, "call mode")?,
            status: parse(&self.status, "call status")?,
            request_id: self.request_id.map(CallRequestId),
            created_by_id: self.created_by_id.map(UserId),
            started_at: self.started_at.map(from_db),
            ended_at: self.ended_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = call_sessions)]
struct NewSessionRow {
    ticket_id: i64,
    room_id: String,
    mode: String,
    status: String,
    request_id: Option<i64>,
    created_by_id: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What a session's status change writes.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = call_sessions, treat_none_as_null = true)]
struct SessionChange {
    status: String,
    started_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

fn ticket_must_exist(conn: &mut DbConnection, id: TicketId) -> Result<(), Error> {
    match tickets::load(conn, id)? {
        Some(_) => Ok(()),
        None => Err(DomainError::NotFound("ticket").into()),
    }
}

fn load_request(conn: &mut DbConnection, id: CallRequestId) -> Result<Option<CallRequest>, Error> {
    let query = call_requests::table
        .find(id.0)
        .select(RequestRow::as_select());
    first_row(conn, query, RequestRow::into_request)
}

/// Writes a note into the conversation of its ticket and returns its `new_message` event.
fn write_note(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    mut note: NewMessage,
) -> Result<(Message, NewEvent), Error> {
    note.ticket_id = ticket_id;
    let message = message_rows::insert(conn, &note)?;
    let event = NewEvent::new_message(&message);
    Ok((message, event))
}

fn create_request(
    conn: &mut DbConnection,
    outbox: &Outbox,
    request: &NewCallRequest,
    note: NewMessage,
) -> Result<(CallRequest, Message), Error> {
    ticket_must_exist(conn, request.ticket_id)?;
    let at = to_db(request.created_at);
    let request = diesel::insert_into(call_requests::table)
        .values(&NewRequestRow {
            ticket_id: request.ticket_id.0,
            mode: request.mode.as_str().to_string(),
            message: request.message.clone(),
            status: CallRequestStatus::Pending.as_str().to_string(),
            created_at: at,
            updated_at: at,
        })
        .returning(call_requests::all_columns)
        .get_result::<RequestRow>(conn)?
        .into_request()?;
    let (message, new_message) = write_note(conn, request.ticket_id, note)?;
    events::append(
        conn,
        outbox,
        vec![
            NewEvent::call_request(EventKind::CallRequested, &request),
            new_message,
        ],
    )?;
    Ok((request, message))
}

/// Saves a decided request if it is still `PENDING` in storage; returns it and its event.
fn save_decision(
    conn: &mut DbConnection,
    request: &CallRequest,
) -> Result<(CallRequest, NewEvent), Error> {
    let saved: Option<RequestRow> = diesel::update(
        call_requests::table
            .filter(call_requests::id.eq(request.id.0))
            .filter(call_requests::ticket_id.eq(request.ticket_id.0))
            .filter(call_requests::status.eq(CallRequestStatus::Pending.as_str())),
    )
    .set(&Decision {
        status: request.status.as_str().to_string(),
        decided_by_id: request.decided_by_id.map(|u| u.0),
        reason: request.reason.clone(),
        decided_at: request.decided_at.map(to_db),
        updated_at: to_db(request.updated_at),
    })
    .returning(call_requests::all_columns)
    .get_result(conn)
    .optional()?;
    match saved {
        Some(row) => {
            let saved = row.into_request()?;
            let event = NewEvent::call_request(EventKind::CallRequestUpdated, &saved);
            Ok((saved, event))
        }
        None => Err(match load_request(conn, request.id)? {
            Some(stored) if stored.ticket_id == request.ticket_id => DomainError::ConcurrentUpdate,
            _ => DomainError::NotFound("call request"),
        }
        .into()),
    }
}

fn decide_request(
    conn: &mut DbConnection,
    outbox: &Outbox,
    request: &CallRequest,
    note: NewMessage,
) -> Result<CallRequest, Error> {
    if request.status == CallRequestStatus::Pending {
        return Err(DomainError::invalid("status", "a decision is not PENDING").into());
    }
    let (saved, updated) = save_decision(conn, request)?;
    let (_, new_message) = write_note(conn, saved.ticket_id, note)?;
    events::append(conn, outbox, vec![updated, new_message])?;
    Ok(saved)
}

fn start_session(
    conn: &mut DbConnection,
    outbox: &Outbox,
    session: &NewCallSession,
    accepted: Option<&CallRequest>,
    note: NewMessage,
) -> Result<(CallSession, Message), Error> {
    ticket_must_exist(conn, session.ticket_id)?;
    let mut log = vec![];
    if let Some(request) = accepted {
        if request.ticket_id != session.ticket_id || request.status != CallRequestStatus::Accepted {
            return Err(DomainError::invalid(
                "request",
                "is not an accepted request of the ticket",
            )
            .into());
        }
        let (_, updated) = save_decision(conn, request)?;
        log.push(updated);
    }
    let at = to_db(session.created_at);
    let inserted = diesel::insert_into(call_sessions::table)
        .values(&NewSessionRow {
            ticket_id: session.ticket_id.0,
            room_id: session.room_id.clone(),
            mode: session.mode.as_str().to_string(),
            status: CallSessionStatus::Created.as_str().to_string(),
            request_id: session.request_id.map(|r| r.0),
            created_by_id: session.created_by_id.map(|u| u.0),
            created_at: at,
            updated_at: at,
        })
        .returning(call_sessions::all_columns)
        .get_result::<SessionRow>(conn);
    let row = match inserted {
        Ok(row) => row,
        // SQLite names the columns of the partial index, PostgreSQL the index.
        Err(err)
            if is_unique_violation(&err, "one_open_per_ticket")
                || is_unique_violation(&err, "call_sessions.ticket_id") =>
        {
            return Err(DomainError::from(CallError::AlreadyOpen).into())
        }
        Err(err) if is_unique_violation(&err, "room_id") => {
            return Err(DomainError::Conflict("a session with this room exists".into()).into())
        }
        Err(err) => return Err(err.into()),
    };
    let session = row.into_session()?;
    log.push(NewEvent::call_session(EventKind::CallStarted, &session));
    outbox.record(conn, session_record("call.started", &session))?;
    let (message, new_message) = write_note(conn, session.ticket_id, note)?;
    log.push(new_message);
    events::append(conn, outbox, log)?;
    Ok((session, message))
}

fn load_session_by_room(conn: &mut DbConnection, room: &str) -> Result<Option<CallSession>, Error> {
    let query = call_sessions::table
        .filter(call_sessions::room_id.eq(room))
        .select(SessionRow::as_select());
    first_row(conn, query, SessionRow::into_session)
}

fn load_session(conn: &mut DbConnection, id: CallSessionId) -> Result<Option<CallSession>, Error> {
    let query = call_sessions::table
        .find(id.0)
        .select(SessionRow::as_select());
    first_row(conn, query, SessionRow::into_session)
}

fn open_session(conn: &mut DbConnection, ticket: TicketId) -> Result<Option<CallSession>, Error> {
    let query = call_sessions::table
        .filter(call_sessions::ticket_id.eq(ticket.0))
        .filter(call_sessions::status.ne(CallSessionStatus::Ended.as_str()))
        .select(SessionRow::as_select());
    first_row(conn, query, SessionRow::into_session)
}

fn update_session(
    conn: &mut DbConnection,
    outbox: &Outbox,
    session: &CallSession,
    from: CallSessionStatus,
    note: Option<NewMessage>,
) -> Result<CallSession, Error> {
    let saved: Option<SessionRow> = diesel::update(
        call_sessions::table
            .filter(call_sessions::id.eq(session.id.0))
            .filter(call_sessions::status.eq(from.as_str())),
    )
    .set(&SessionChange {
        status: session.status.as_str().to_string(),
        started_at: session.started_at.map(to_db),
        ended_at: session.ended_at.map(to_db),
        updated_at: to_db(session.updated_at),
    })
    .returning(call_sessions::all_columns)
    .get_result(conn)
    .optional()?;
    let Some(row) = saved else {
        return Err(match load_session(conn, session.id)? {
            Some(_) => DomainError::ConcurrentUpdate,
            None => DomainError::NotFound("call"),
        }
        .into());
    };
    let saved = row.into_session()?;
    let kind = match saved.status {
        CallSessionStatus::Ended => EventKind::CallEnded,
        _ => EventKind::CallStarted,
    };
    if saved.status == CallSessionStatus::Ended {
        outbox.record(conn, session_record("call.ended", &saved))?;
    }
    let mut log = vec![NewEvent::call_session(kind, &saved)];
    if let Some(note) = note {
        let (_, new_message) = write_note(conn, saved.ticket_id, note)?;
        log.push(new_message);
    }
    events::append(conn, outbox, log)?;
    Ok(saved)
}

fn session_record(action: &str, session: &CallSession) -> Record {
    Record::call(
        action,
        session.ticket_id,
        session.id.0,
        session.status.as_str(),
    )
}

fn delete_session(
    conn: &mut DbConnection,
    outbox: &Outbox,
    id: CallSessionId,
) -> Result<(), Error> {
    let Some(session) = load_session(conn, id)? else {
        return Err(DomainError::NotFound("call").into());
    };
    let n = diesel::delete(
        call_sessions::table
            .filter(call_sessions::id.eq(id.0))
            .filter(call_sessions::status.eq(CallSessionStatus::Ended.as_str())),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(DomainError::ConcurrentUpdate.into());
    }
    let event = NewEvent {
        kind: EventKind::CallEnded,
        ticket_id: Some(session.ticket_id),
        payload: Payload::CallSessionDeleted(session),
    };
    events::append(conn, outbox, vec![event])
}

#[async_trait]
impl CallRepository for Store {
    async fn create_request(
        &self,
        request: NewCallRequest,
        note: NewMessage,
    ) -> Result<(CallRequest, Message)> {
        self.write_logged(move |conn, outbox| create_request(conn, outbox, &request, note))
            .await
    }

    async fn get_request(&self, id: CallRequestId) -> Result<Option<CallRequest>> {
        self.run(move |conn| load_request(conn, id)).await
    }

    async fn list_requests(
        &self,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<CallRequest>> {
        self.run(move |conn| {
            let query = call_requests::table
                .filter(call_requests::ticket_id.eq(ticket_id.0))
                .select(RequestRow::as_select());
            let rows = paged!(query, call_requests::id, newest_first, page).load(conn)?;
            page_of(rows, &page, RequestRow::into_request, |r| r.id.0)
        })
        .await
    }

    async fn newest_pending_request(&self, ticket_id: TicketId) -> Result<Option<CallRequest>> {
        self.run(move |conn| {
            let query = call_requests::table
                .filter(call_requests::ticket_id.eq(ticket_id.0))
                .filter(call_requests::status.eq(CallRequestStatus::Pending.as_str()))
                .order(call_requests::id.desc())
                .select(RequestRow::as_select());
            first_row(conn, query, RequestRow::into_request)
        })
        .await
    }

    async fn decide_request(&self, request: CallRequest, note: NewMessage) -> Result<CallRequest> {
        self.write_logged(move |conn, outbox| decide_request(conn, outbox, &request, note))
            .await
    }

    async fn start_session(
        &self,
        session: NewCallSession,
        accepted: Option<CallRequest>,
        note: NewMessage,
    ) -> Result<(CallSession, Message)> {
        self.write_logged(move |conn, outbox| {
            start_session(conn, outbox, &session, accepted.as_ref(), note)
        })
        .await
    }

    async fn session_by_room(&self, room_id: String) -> Result<Option<CallSession>> {
        self.run(move |conn| load_session_by_room(conn, &room_id))
            .await
    }

    async fn open_session(&self, ticket_id: TicketId) -> Result<Option<CallSession>> {
        self.run(move |conn| open_session(conn, ticket_id)).await
    }

    async fn list_sessions(
        &self,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<CallSession>> {
        self.run(move |conn| {
            let query = call_sessions::table
                .filter(call_sessions::ticket_id.eq(ticket_id.0))
                .select(SessionRow::as_select());
            let rows = paged!(query, call_sessions::id, newest_first, page).load(conn)?;
            page_of(rows, &page, SessionRow::into_session, |s| s.id.0)
        })
        .await
    }

    async fn update_session(
        &self,
        session: CallSession,
        from: CallSessionStatus,
        note: Option<NewMessage>,
    ) -> Result<CallSession> {
        self.write_logged(move |conn, outbox| update_session(conn, outbox, &session, from, note))
            .await
    }

    async fn delete_session(&self, id: CallSessionId) -> Result<()> {
        self.write_logged(move |conn, outbox| delete_session(conn, outbox, id))
            .await
    }
}

#[cfg(test)]
#[path = "calls_tests.rs"]
mod tests;
