//! Rows as stored, and their conversion to and from domain types. Enums are stored by their
//! wire names, timestamps as UTC with microsecond precision (PostgreSQL's), so a value reads
//! back exactly as it was written on both backends.

use crate::error::{corrupt, Error};
use crate::schema::{events, messages, tickets, users};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use concierge_domain::event::{EventKind, StoredEvent};
use concierge_domain::message::{Message, NewMessage, Sender, SenderProfile, SenderType};
use concierge_domain::ticket::{Channel, DonorInfo, NewTicket, StoredTicket, Ticket};
use concierge_domain::user::{NewUser, User};
use concierge_domain::{MessageId, TicketId, UserId};
use diesel::prelude::*;
use std::str::FromStr;

/// A UTC time as stored: naive, truncated to microseconds.
pub(crate) fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(6).naive_utc()
}

/// A stored time, back in UTC.
pub(crate) fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn parse<T: FromStr>(value: &str, what: &str) -> Result<T, Error> {
    value
        .parse()
        .map_err(|_| corrupt(format!("{what} {value:?}")))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub is_active: bool,
    pub token_version: i32,
    pub fcm_token: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, Error> {
        Ok(User {
            id: UserId(self.id),
            role: parse(&self.role, "role")?,
            username: self.username,
            email: self.email,
            name: self.name,
            is_active: self.is_active,
            token_version: self.token_version,
            fcm_token: self.fcm_token,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow {
    pub username: String,
    pub email: Option<String>,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub is_active: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<NewUser> for NewUserRow {
    fn from(user: NewUser) -> Self {
        Self {
            username: user.username,
            email: user.email,
            name: user.name,
            password_hash: user.password_hash,
            role: user.role.as_str().to_string(),
            is_active: true,
            token_version: 0,
            created_at: to_db(user.created_at),
            updated_at: to_db(user.created_at),
        }
    }
}

/// A stored ticket: its id and version, and the columns [`TicketFields`] writes.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub(crate) struct TicketRow {
    pub id: i64,
    pub version: i32,
    #[diesel(embed)]
    pub fields: TicketFields,
}

/// [`TicketFields`]' columns, in its order (the same for either backend).
type TicketFieldColumns = <TicketFields as Selectable<diesel::pg::Pg>>::SelectExpression;

impl TicketRow {
    /// The columns a RETURNING clause reads a `TicketRow` from (`as_returning()` does not
    /// compile for the multi-backend connection).
    pub(crate) fn returning() -> (tickets::id, tickets::version, TicketFieldColumns) {
        (
            tickets::id,
            tickets::version,
            <TicketFields as Selectable<diesel::pg::Pg>>::construct_selection(),
        )
    }

    pub(crate) fn into_ticket(self) -> Result<Ticket, Error> {
        let TicketRow {
            id,
            version,
            fields: f,
        } = self;
        let channel: Channel = parse(&f.channel, "channel")?;
        let donor = match channel {
            Channel::Internal => None,
            Channel::Donor => {
                let (Some(name), Some(donor_id), Some(mode)) =
                    (f.donor_name, f.donor_id, f.query_mode)
                else {
                    return Err(corrupt(format!("donor query {} without its donor", id)));
                };
                Some(DonorInfo {
                    name,
                    donor_id,
                    query_mode: parse(&mode, "query mode")?,
                    stage: f.stage,
                    device: f.device,
                    sid: f.sid,
                    test: f.is_test,
                    fcm_token: f.donor_fcm_token,
                    session: f.donor_session,
                })
            }
        };
        Ok(Ticket::restore(StoredTicket {
            id: TicketId(id),
            channel,
            title: f.title,
            description: f.description,
            status: parse(&f.status, "status")?,
            priority: parse(&f.priority, "priority")?,
            donor,
            assignee_id: f.assignee_id.map(UserId),
            creator_id: f.creator_id.map(UserId),
            resolved_by_id: f.resolved_by_id.map(UserId),
            resolved_at: f.resolved_at.map(from_db),
            transferred_from_id: f.transferred_from_id.map(UserId),
            transfer_note: f.transfer_note,
            closed_at: f.closed_at.map(from_db),
            version,
            created_at: from_db(f.created_at),
            updated_at: from_db(f.updated_at),
        }))
    }
}

/// Every column of a ticket but its id and version: what an insert writes and an update
/// overwrites (`None` writes NULL).
#[derive(Debug, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub(crate) struct TicketFields {
    pub channel: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub priority: String,
    pub donor_name: Option<String>,
    pub donor_id: Option<String>,
    pub query_mode: Option<String>,
    pub stage: Option<String>,
    pub device: Option<String>,
    pub sid: Option<String>,
    pub is_test: bool,
    pub donor_fcm_token: Option<String>,
    pub assignee_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub resolved_by_id: Option<i64>,
    pub resolved_at: Option<NaiveDateTime>,
    pub transferred_from_id: Option<i64>,
    pub transfer_note: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub donor_session: Option<String>,
}

impl TicketFields {
    fn with_donor(channel: Channel, donor: Option<&DonorInfo>, base: Self) -> Self {
        let Some(d) = donor else { return base };
        Self {
            channel: channel.as_str().to_string(),
            donor_name: Some(d.name.clone()),
            donor_id: Some(d.donor_id.clone()),
            query_mode: Some(d.query_mode.as_str().to_string()),
            stage: d.stage.clone(),
            device: d.device.clone(),
            sid: d.sid.clone(),
            is_test: d.test,
            donor_fcm_token: d.fcm_token.clone(),
            donor_session: d.session.clone(),
            ..base
        }
    }

    fn base(channel: Channel) -> Self {
        Self {
            channel: channel.as_str().to_string(),
            ..Self::default()
        }
    }

    pub(crate) fn from_new(t: &NewTicket) -> Self {
        let channel = t.channel();
        let base = Self {
            title: t.title.clone(),
            description: t.description.clone(),
            status: t.status.as_str().to_string(),
            priority: t.priority.as_str().to_string(),
            assignee_id: t.assignee_id.map(|u| u.0),
            creator_id: t.creator_id.map(|u| u.0),
            created_at: to_db(t.created_at),
            updated_at: to_db(t.created_at),
            ..Self::base(channel)
        };
        Self::with_donor(channel, t.donor.as_ref(), base)
    }

    pub(crate) fn from_ticket(t: &Ticket) -> Self {
        let base = Self {
            title: t.title.clone(),
            description: t.description.clone(),
            status: t.status().as_str().to_string(),
            priority: t.priority.as_str().to_string(),
            assignee_id: t.assignee_id.map(|u| u.0),
            creator_id: t.creator_id.map(|u| u.0),
            resolved_by_id: t.resolved_by_id.map(|u| u.0),
            resolved_at: t.resolved_at.map(to_db),
            transferred_from_id: t.transferred_from_id.map(|u| u.0),
            transfer_note: t.transfer_note.clone(),
            closed_at: t.closed_at.map(to_db),
            created_at: to_db(t.created_at),
            updated_at: to_db(t.updated_at),
            ..Self::base(t.channel)
        };
        Self::with_donor(t.channel, t.donor.as_ref(), base)
    }
}

/// A stored message: its id, its edit time and the columns an insert writes.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub(crate) struct MessageRow {
    pub id: i64,
    pub edited_at: Option<NaiveDateTime>,
    #[diesel(embed)]
    pub fields: NewMessageRow,
}

/// A message row with the names its sender profile comes from: the staff user's name and the
/// ticket's donor name (both from LEFT JOINs).
pub(crate) type MessageView = (MessageRow, Option<String>, Option<String>);

pub(crate) fn into_message((row, user_name, donor_name): MessageView) -> Result<Message, Error> {
    let MessageRow {
        id,
        edited_at,
        fields: row,
    } = row;
    let kind: SenderType = parse(&row.sender_type, "sender type")?;
    let (sender, profile) = match (kind, row.sender_user_id) {
        (SenderType::Staff, Some(id)) => (
            Sender::Staff(UserId(id)),
            user_name.map(|name| SenderProfile {
                id: Some(UserId(id)),
                name,
            }),
        ),
        (SenderType::Donor, None) => (
            Sender::Donor,
            donor_name.map(|name| SenderProfile { id: None, name }),
        ),
        (SenderType::System, None) => (Sender::System, None),
        _ => return Err(corrupt(format!("message {} sender", id))),
    };
    Ok(Message {
        id: MessageId(id),
        ticket_id: TicketId(row.ticket_id),
        sender,
        sender_profile: profile,
        message_type: parse(&row.message_type, "message type")?,
        content: row.content,
        reply_to_id: row.reply_to_id.map(MessageId),
        attachments: Vec::new(),
        client_message_id: row.client_message_id,
        edited_at: edited_at.map(from_db),
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
    })
}

/// `None` is bound as NULL, not written as DEFAULT, so the INSERT's text is the same every time
/// and its prepared statement is cached.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(crate) struct NewMessageRow {
    pub ticket_id: i64,
    pub sender_type: String,
    pub sender_user_id: Option<i64>,
    pub message_type: String,
    pub content: String,
    pub reply_to_id: Option<i64>,
    pub client_message_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<&NewMessage> for NewMessageRow {
    fn from(m: &NewMessage) -> Self {
        Self {
            ticket_id: m.ticket_id.0,
            sender_type: m.sender.kind().as_str().to_string(),
            sender_user_id: m.sender.user_id().map(|u| u.0),
            message_type: m.message_type.as_str().to_string(),
            content: m.content.clone(),
            reply_to_id: m.reply_to_id.map(|id| id.0),
            client_message_id: m.client_message_id.clone(),
            created_at: to_db(m.created_at),
            updated_at: to_db(m.created_at),
        }
    }
}

#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events)]
pub(crate) struct EventRow {
    pub seq: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub data: String,
    pub created_at: NaiveDateTime,
}

impl EventRow {
    pub(crate) fn into_event(self) -> Result<StoredEvent, Error> {
        let kind: EventKind = parse(&self.kind, "event kind")?;
        let data = serde_json::from_str(&self.data)
            .map_err(|e| corrupt(format!("event {} data: {e}", self.seq)))?;
        Ok(StoredEvent {
            seq: self.seq,
            kind,
            ticket_id: self.ticket_id.map(TicketId),
            data,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub(crate) struct NewEventRow {
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub data: String,
    pub created_at: NaiveDateTime,
}
