//! [`TicketRepository`]: tickets, with their events, and the versioned save that
//! [`crate::messages`] shares.

use crate::audit::Outbox;
use crate::connection::{Backend, DbConnection};
use crate::error::Error;
use crate::models::{to_db, TicketFields, TicketRow};
use crate::query::{first_row, page_of, paged};
use crate::schema::tickets;
use crate::{events, message_rows, Store};
use async_trait::async_trait;
use concierge_domain::audit::{AuditActor, Record};
use concierge_domain::event::NewEvent;
use concierge_domain::message::{Message, NewMessage};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::TicketRepository;
use concierge_domain::ticket::{NewTicket, Ticket, TicketFilter};
use concierge_domain::{DomainError, Result, TicketId};
use diesel::prelude::*;

pub(crate) fn load(conn: &mut DbConnection, id: TicketId) -> Result<Option<Ticket>, Error> {
    let query = tickets::table.find(id.0).select(TicketRow::as_select());
    first_row(conn, query, TicketRow::into_ticket)
}

/// Saves `ticket` if its stored version is still `ticket.version`, bumping the version; returns
/// the saved ticket. `ConcurrentUpdate` when another writer got there first (the caller's
/// transaction then rolls back), `NotFound` when the ticket is gone.
pub(crate) fn save(conn: &mut DbConnection, ticket: &Ticket) -> Result<Ticket, Error> {
    let fields = TicketFields::from_ticket(ticket);
    let saved: Option<TicketRow> = diesel::update(
        tickets::table
            .filter(tickets::id.eq(ticket.id.0))
            .filter(tickets::version.eq(ticket.version())),
    )
    .set((&fields, tickets::version.eq(tickets::version + 1)))
    .returning(TicketRow::returning())
    .get_result(conn)
    .optional()?;
    if let Some(row) = saved {
        return row.into_ticket();
    }
    let exists = tickets::table
        .find(ticket.id.0)
        .select(tickets::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    Err(if exists {
        DomainError::ConcurrentUpdate
    } else {
        DomainError::NotFound("ticket")
    }
    .into())
}

/// Clears the description of a ticket whose description is one of `texts` (the versions of
/// its deleted first message), bumping its version so a writer holding an older copy cannot
/// write the text back; returns the ticket when it changed.
pub(crate) fn forget_description(
    conn: &mut DbConnection,
    id: TicketId,
    texts: &[String],
) -> Result<Option<Ticket>, Error> {
    if texts.is_empty() {
        return Ok(None);
    }
    let row: Option<TicketRow> = diesel::update(
        tickets::table
            .filter(tickets::id.eq(id.0))
            .filter(tickets::description.eq_any(texts)),
    )
    .set((
        tickets::description.eq(None::<String>),
        tickets::version.eq(tickets::version + 1),
        tickets::updated_at.eq(to_db(chrono::Utc::now())),
    ))
    .returning(TicketRow::returning())
    .get_result(conn)
    .optional()?;
    row.map(TicketRow::into_ticket).transpose()
}

fn list(
    conn: &mut DbConnection,
    backend: Backend,
    filter: TicketFilter,
    page: PageRequest,
) -> Result<Page<Ticket>, Error> {
    let query = tickets::table.select(TicketRow::as_select());
    let mut query = paged!(query, tickets::id, newest_first, page);
    if let Some(channel) = filter.channel {
        query = query.filter(tickets::channel.eq(channel.as_str()));
    }
    if !filter.statuses.is_empty() {
        let names: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(tickets::status.eq_any(names));
    }
    if let Some(priority) = filter.priority {
        query = query.filter(tickets::priority.eq(priority.as_str()));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(tickets::assignee_id.eq(assignee.0));
    }
    if let Some(donor_id) = filter.donor_id {
        query = query.filter(tickets::donor_id.eq(donor_id));
    }
    if let Some(session) = filter.donor_session {
        query = query.filter(tickets::donor_session.eq(session));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(tickets::created_at.ge(to_db(from)));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(tickets::created_at.lt(to_db(to)));
    }
    if let Some(search) = &filter.search {
        query = query.filter(crate::search::finds(backend, search));
    }
    let rows = query.load(conn)?;
    page_of(rows, &page, TicketRow::into_ticket, |t| t.id.0)
}

/// A fresh donor session name: 128 random bits, so no session is guessed or shared by chance.
fn new_donor_session() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn create(
    conn: &mut DbConnection,
    outbox: &Outbox,
    ticket: &NewTicket,
    first_message: Option<NewMessage>,
) -> Result<(Ticket, Option<Message>), Error> {
    let mut fields = TicketFields::from_new(ticket);
    if ticket.donor.is_some() && fields.donor_session.is_none() {
        fields.donor_session = Some(new_donor_session());
    }
    let ticket = diesel::insert_into(tickets::table)
        .values(&fields)
        .returning(TicketRow::returning())
        .get_result::<TicketRow>(conn)?
        .into_ticket()?;
    let mut log = vec![NewEvent::ticket_created(&ticket)];
    let message = match first_message {
        Some(mut message) => {
            message.ticket_id = ticket.id;
            let message = message_rows::insert(conn, &message)?;
            log.push(NewEvent::new_message(&message));
            Some(message)
        }
        None => None,
    };
    let donor = ticket
        .donor
        .as_ref()
        .map(|d| AuditActor::donor(&d.donor_id));
    outbox.record_or(conn, Record::ticket_created(&ticket), donor)?;
    events::append(conn, outbox, log)?;
    Ok((ticket, message))
}

fn update(
    conn: &mut DbConnection,
    outbox: &Outbox,
    ticket: &Ticket,
    note: Option<NewMessage>,
) -> Result<Ticket, Error> {
    let before = match outbox.auditing() {
        true => load(conn, ticket.id)?,
        false => None,
    };
    let saved = save(conn, ticket)?;
    if let Some(before) = before {
        outbox.record(conn, Record::ticket_changed(&before, &saved))?;
    }
    let mut log = vec![NewEvent::ticket_updated(&saved)];
    if let Some(mut note) = note {
        note.ticket_id = saved.id;
        let note = message_rows::insert(conn, &note)?;
        log.push(NewEvent::new_message(&note));
    }
    events::append(conn, outbox, log)?;
    Ok(saved)
}

/// Deletes a ticket; returns its files' keys (the caller removes their bytes after the
/// commit). Its events
/// lose their payloads in the same transaction (see [`events::scrub_ticket`]).
fn delete(conn: &mut DbConnection, outbox: &Outbox, id: TicketId) -> Result<Vec<String>, Error> {
    let keys = crate::attachments::keys_of_ticket(conn, id)?;
    // Messages (and their attachment rows) go with it (ON DELETE CASCADE).
    let n = diesel::delete(tickets::table.find(id.0)).execute(conn)?;
    if n == 0 {
        return Err(DomainError::NotFound("ticket").into());
    }
    events::scrub_ticket(conn, id)?;
    outbox.record(conn, Record::ticket_deleted(id))?;
    events::append(conn, outbox, vec![NewEvent::ticket_deleted(id)])?;
    Ok(keys)
}

#[async_trait]
impl TicketRepository for Store {
    async fn create(
        &self,
        ticket: NewTicket,
        first_message: Option<NewMessage>,
    ) -> Result<(Ticket, Option<Message>)> {
        self.write_logged(move |conn, outbox| create(conn, outbox, &ticket, first_message))
            .await
    }

    async fn get(&self, id: TicketId) -> Result<Option<Ticket>> {
        self.run(move |conn| load(conn, id)).await
    }

    async fn list(&self, filter: TicketFilter, page: PageRequest) -> Result<Page<Ticket>> {
        let backend = self.backend();
        self.run(move |conn| list(conn, backend, filter, page))
            .await
    }

    async fn update(&self, ticket: Ticket, note: Option<NewMessage>) -> Result<Ticket> {
        self.write_logged(move |conn, outbox| update(conn, outbox, &ticket, note))
            .await
    }

    async fn delete(&self, id: TicketId) -> Result<Vec<String>> {
        self.write_logged(move |conn, outbox| delete(conn, outbox, id))
            .await
    }
}
