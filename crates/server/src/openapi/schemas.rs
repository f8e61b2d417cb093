//! Wire shapes for the document: mirrors of what the handlers send and take. The domain types
//! serialize themselves (some by hand); these structs only describe them and are never built.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// An RFC 9457 problem.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: String,
    /// The status's name.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    detail: String,
    /// For 422: the fields that are not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldError>>,
}

/// One invalid field.
#[derive(Serialize, ToSchema)]
pub struct FieldError {
    /// The field's wire name.
    field: String,
    /// Why it is not allowed.
    message: String,
}

/// A cursor page: `{data, nextCursor, hasMore}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items.
    data: Vec<T>,
    /// Where the next page starts; `null` on the last.
    next_cursor: Option<String>,
    /// Whether another page follows.
    has_more: bool,
}

/// Any JSON object (shapes too rich or too adapter-specific to pin down here).
pub struct Object;

impl utoipa::PartialSchema for Object {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("A JSON object."))
            .into()
    }
}

impl ToSchema for Object {}

/// A staff role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A team member.
    Agent,
    /// An administrator.
    Admin,
    /// The administrator of administrators.
    SuperAdmin,
}

/// A staff account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    id: i64,
    username: String,
    email: Option<String>,
    name: String,
    role: Role,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A login's answer (also of a password change).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginReply {
    /// The staff JWT.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until it expires.
    expires_in: u64,
    user: User,
}

/// A ticket's status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Open,
    InProgress,
    PendingReply,
    Transferred,
    Resolved,
    Closed,
}

/// A ticket's priority.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

/// Which face a ticket belongs to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// A donor query.
    Donor,
    /// A task.
    Internal,
}

/// How a donor wants to talk.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueryMode {
    Text,
    Audio,
    Video,
}

/// A ticket: a donor query or a task. The donor fields are present on donor queries only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    id: i64,
    channel: Channel,
    title: String,
    description: Option<String>,
    status: TicketStatus,
    priority: Priority,
    /// The donor's display name (donor queries).
    #[schema(required = false)]
    donor: String,
    /// The donor's id (donor queries).
    #[schema(required = false)]
    donor_id: String,
    #[schema(required = false)]
    query_mode: QueryMode,
    #[schema(required = false)]
    stage: Option<String>,
    #[schema(required = false)]
    device: Option<String>,
    #[schema(required = false)]
    sid: Option<String>,
    #[schema(required = false)]
    test: bool,
    assignee_id: Option<i64>,
    creator_id: Option<i64>,
    resolved_by_id: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
    transferred_from_id: Option<i64>,
    transfer_note: Option<String>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A staff member as shown next to a ticket.
#[derive(Serialize, ToSchema)]
pub struct StaffSummary {
    id: i64,
    /// The display name.
    name: String,
    /// The login name.
    username: String,
}

/// A ticket with the staff around it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketDetail {
    #[serde(flatten)]
    ticket: Ticket,
    /// Who works on it.
    assignee: Option<StaffSummary>,
    /// Who created it.
    creator: Option<StaffSummary>,
    /// Who resolved it.
    resolved_by: Option<StaffSummary>,
    /// The assignee before the last transfer.
    transferred_from: Option<StaffSummary>,
}

/// A task with the staff around it and its current summary.
#[derive(Serialize, ToSchema)]
pub struct TaskDetail {
    #[serde(flatten)]
    detail: TicketDetail,
    /// `null` until one is written or generated.
    summary: Option<Summary>,
}

/// A new donor query: the ticket, the donor's token and the first message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedQuery {
    #[serde(flatten)]
    ticket: Ticket,
    /// The donor's token for this query.
    donor_token: String,
    /// The first message (type QUERY), when the body had one.
    first_message: Option<Message>,
}

/// Who wrote a message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SenderType {
    Staff,
    Donor,
    System,
}

/// A message's kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    Chat,
    System,
    Query,
    CallRequest,
    CallStarted,
    CallEnded,
    Reminder,
}

/// The sender's public face.
#[derive(Serialize, ToSchema)]
pub struct SenderProfile {
    id: Option<i64>,
    name: String,
}

/// A file of a message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    id: i64,
    file_name: String,
    content_type: String,
    size: i64,
    /// `/api/v1/uploads/messages/<filename>`.
    url: String,
}

/// A message of a ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    id: i64,
    ticket_id: i64,
    sender_type: SenderType,
    sender_id: Option<i64>,
    sender: Option<SenderProfile>,
    is_from_admin: bool,
    content: String,
    message_type: MessageType,
    reply_to_id: Option<i64>,
    attachments: Vec<Attachment>,
    client_message_id: Option<String>,
    edited_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A message and its replies.
#[derive(Serialize, ToSchema)]
pub struct Thread {
    message: Message,
    replies: Vec<Message>,
}

// ---- request bodies ----

/// `{username, password}` (or `{email, password}`).
#[derive(Serialize, ToSchema)]
pub struct LoginBody {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// A self-registration.
#[derive(Serialize, ToSchema)]
pub struct RegisterBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// `{fcmToken}` sets, `{fcmToken: null}` clears.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushTokenBody {
    fcm_token: Option<String>,
}

/// Profile changes.
#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    name: Option<String>,
    email: Option<String>,
}

/// A password change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// A new staff account.
#[derive(Serialize, ToSchema)]
pub struct CreateUserBody {
    username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
    role: Option<Role>,
}

/// Account changes (admins).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchUserBody {
    role: Option<Role>,
    /// False deactivates: its tokens stop working.
    is_active: Option<bool>,
    name: Option<String>,
}

/// A new donor query.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateQueryBody {
    /// The donor's display name.
    donor: Option<String>,
    donor_id: Option<String>,
    test: Option<bool>,
    stage: Option<String>,
    query_mode: Option<QueryMode>,
    device: Option<String>,
    sid: Option<String>,
    fcm_token: Option<String>,
    /// Becomes the first message (type QUERY).
    message: Option<String>,
    priority: Option<Priority>,
    /// hex HMAC-SHA256(DONOR_IDENTITY_SECRET, donorId): the app vouches for the donor, whose
    /// token then lists every query of the donorId. Ignored unless the secret is configured;
    /// a wrong one is 401.
    donor_id_hash: Option<String>,
}

/// Field and status changes of a ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangesBody {
    title: Option<String>,
    description: Option<String>,
    priority: Option<Priority>,
    status: Option<TicketStatus>,
    assigned_to_id: Option<i64>,
    stage: Option<String>,
    /// The donor's push token (donor queries).
    fcm_token: Option<String>,
}

/// A transfer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    to_user_id: Option<i64>,
    note: Option<String>,
}

/// A new task.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskBody {
    title: Option<String>,
    description: Option<String>,
    priority: Option<Priority>,
    assigned_to_id: Option<i64>,
}

/// A new message (JSON; multipart takes the same fields plus `files`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBody {
    query_id: Option<i64>,
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    content: Option<String>,
    reply_to_id: Option<i64>,
    client_message_id: Option<String>,
}

/// A message as a multipart form.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostForm {
    query_id: Option<i64>,
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    content: Option<String>,
    reply_to_id: Option<i64>,
    client_message_id: Option<String>,
    /// At most 5 files.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    files: Option<Vec<String>>,
}

/// An edit.
#[derive(Serialize, ToSchema)]
pub struct EditBody {
    content: Option<String>,
}

/// An edit as a multipart form, with files to add.
#[derive(Serialize, ToSchema)]
pub struct EditForm {
    content: Option<String>,
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    files: Option<Vec<String>>,
}

/// Which file to remove.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveFileBody {
    attachment_id: Option<i64>,
}

/// An avatar upload.
#[derive(Serialize, ToSchema)]
pub struct AvatarForm {
    /// A raster image.
    #[schema(value_type = String, format = Binary)]
    avatar: String,
}

/// A call's mode.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallMode {
    Video,
    Audio,
}

/// `{mode?}` for starting a call.
#[derive(Serialize, ToSchema)]
pub struct StartCallBody {
    mode: Option<CallMode>,
}

/// A donor's call request.
#[derive(Serialize, ToSchema)]
pub struct CallRequestBody {
    mode: Option<CallMode>,
    message: Option<String>,
}

/// `{reason?}` for rejecting a request.
#[derive(Serialize, ToSchema)]
pub struct RejectBody {
    reason: Option<String>,
}

/// A session's new status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallStatus {
    Active,
    Ended,
}

/// `{status}` for a call session.
#[derive(Serialize, ToSchema)]
pub struct CallStatusBody {
    status: Option<CallStatus>,
}

/// Where a call request is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallRequestStatus {
    Pending,
    Accepted,
    Rejected,
    Cancelled,
}

/// A donor's request for a call (also the payload of `call_requested` and
/// `call_request_updated`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    id: i64,
    ticket_id: i64,
    mode: CallMode,
    /// The donor's note.
    message: Option<String>,
    status: CallRequestStatus,
    /// The staff user who accepted or rejected it.
    decided_by_id: Option<i64>,
    /// Why it was rejected.
    reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Where a call session is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallSessionStatus {
    Created,
    Active,
    Ended,
}

/// A call session: one provider room on a ticket. Where the caller may join, it carries the
/// caller's join token (minted for this answer, never stored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallSession {
    id: i64,
    ticket_id: i64,
    /// The provider's room id.
    room_id: String,
    /// The same as `roomId`.
    room_name: String,
    mode: CallMode,
    status: CallSessionStatus,
    /// The request it answers, when it was started by accepting one.
    request_id: Option<i64>,
    /// The staff user who started it.
    created_by_id: Option<i64>,
    /// When it became `ACTIVE`.
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    /// From `startedAt` (or creation) to `endedAt`, once it ended.
    duration_seconds: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The caller's join token.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The token's lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    /// The participant id the token was minted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_id: Option<String>,
}

/// What kind of thing an entity is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    Phone,
    Email,
    Url,
    Amount,
    Date,
    Reference,
}

/// A fact pulled out of a conversation.
#[derive(Serialize, ToSchema)]
pub struct Entity {
    kind: EntityKind,
    /// The text as written.
    value: String,
}

/// A ticket's summary.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    id: i64,
    ticket_id: i64,
    content: String,
    key_points: Vec<String>,
    entities: Vec<Entity>,
    /// Where the ticket stands and what comes next.
    next_steps: Option<String>,
    /// Which analyzer made it: `local`, `openai` or `manual`.
    analyzer: String,
    /// The model, for remote analyzers.
    model: Option<String>,
    /// The preferred analyzer that failed, and why, when another stood in.
    fallback_from: Option<String>,
    created_at: DateTime<Utc>,
}

/// A generation under way: `{status: PENDING, taskId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingSummary {
    /// Always `PENDING`.
    status: String,
    /// The ticket.
    task_id: i64,
}

/// What a QA flag is about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlagKind {
    PiiCard,
    PiiEmail,
    PiiPhone,
    Abusive,
    NegativeSentiment,
}

/// One finding, with the text that triggered it.
#[derive(Serialize, ToSchema)]
pub struct Flag {
    kind: FlagKind,
    /// The span of text (a card number masked but for its last four digits).
    evidence: String,
}

/// An analyzer's view of one message.
#[derive(Serialize, ToSchema)]
pub struct Verdict {
    flags: Vec<Flag>,
    /// From -1 (negative) to 1 (positive).
    sentiment: f32,
}

/// A QA review of one message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    id: i64,
    message_id: i64,
    ticket_id: i64,
    status: ReviewStatus,
    /// The reviewer's feedback.
    feedback: Option<String>,
    verdict: Verdict,
    analyzer: String,
    fallback_from: Option<String>,
    /// Who decided it.
    reviewer_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Whether the caller now has a push token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushTokenSet {
    fcm_token: bool,
}

/// The caller's new avatar.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvatarSet {
    /// Where it is served (`/api/v1/uploads/avatars/...`).
    avatar_url: String,
    content_type: String,
    /// In bytes.
    size: u64,
}

/// Liveness with the database.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`.
    status: String,
    version: String,
    uptime_seconds: u64,
    /// `up`.
    database: String,
}

/// A summary written by hand.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WriteSummaryBody {
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    query_id: Option<i64>,
    content: Option<String>,
    key_points: Option<Vec<String>>,
}

/// `{messageId}` for a QA review.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewBody {
    message_id: Option<i64>,
}

/// A review's verdict.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

/// A reviewer's decision.
#[derive(Serialize, ToSchema)]
pub struct DecisionBody {
    status: Option<ReviewStatus>,
    feedback: Option<String>,
}

// ---- query parameters ----

/// `?limit=&cursor=`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page (default 20, max 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Where to continue (from `nextCursor`).
    cursor: Option<String>,
}

/// Ticket list filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct TicketFilters {
    /// One status or several, comma-separated.
    status: Option<String>,
    priority: Option<Priority>,
    assigneeId: Option<i64>,
    donorId: Option<String>,
    /// Text in the title or description (at most 200 characters).
    q: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    from: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    to: Option<String>,
}

/// `?donorId=` (a donor token implies its own).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct DonorParams {
    donorId: Option<String>,
}

/// Message list filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct MessageFilters {
    queryId: Option<i64>,
    taskId: Option<i64>,
    ticketId: Option<i64>,
    messageType: Option<MessageType>,
    /// Continue after this message id (when no cursor is given).
    after: Option<i64>,
}

/// `?wait=true` waits for the summary.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParam {
    wait: Option<bool>,
}

/// QA review filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct ReviewFilters {
    status: Option<ReviewStatus>,
    taskId: Option<i64>,
}

/// `?status=` for one ticket's reviews.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewStatusParam {
    status: Option<ReviewStatus>,
}
