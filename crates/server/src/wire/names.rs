//! OpenAPI schemas for the domain's named values (statuses, kinds, roles). The domain names
//! them (`as_str`, `ALL`) and serialises them by those names; these schemas list the same
//! names, read from the domain, so the document cannot drift from the values sent.

use concierge_domain::analysis::{EntityKind, FlagKind};
use concierge_domain::audit::ActorKind;
use concierge_domain::call::{CallMode, CallRequestStatus, CallSessionStatus};
use concierge_domain::message::{MessageType, SenderType};
use concierge_domain::qa::ReviewStatus;
use concierge_domain::ticket::{Channel, Priority, QueryMode, TicketStatus};
use concierge_domain::user::Role;
use concierge_domain::webhook::DeliveryStatus;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A string schema whose values are `names`.
fn one_of(names: impl IntoIterator<Item = String>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .into()
}

macro_rules! names {
    ($($schema:ident => $values:expr;)+) => {
        $(
            #[doc = concat!("The names of `", stringify!($schema), "`.")]
            pub struct $schema;

            impl utoipa::PartialSchema for $schema {
                fn schema() -> RefOr<Schema> {
                    one_of($values)
                }
            }

            impl utoipa::ToSchema for $schema {}
        )+
    };
}

/// The serde name of a value (for enums the domain names only through serde).
fn serde_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

names! {
    ChannelName => Channel::ALL.iter().map(|v| v.as_str().to_string());
    PriorityName => Priority::ALL.iter().map(|v| v.as_str().to_string());
    TicketStatusName => TicketStatus::ALL.iter().map(|v| v.as_str().to_string());
    QueryModeName => QueryMode::ALL.iter().map(|v| v.as_str().to_string());
    MessageTypeName => MessageType::ALL.iter().map(|v| v.as_str().to_string());
    SenderTypeName => SenderType::ALL.iter().map(|v| v.as_str().to_string());
    CallModeName => CallMode::ALL.iter().map(|v| v.as_str().to_string());
    CallRequestStatusName => CallRequestStatus::ALL.iter().map(|v| v.as_str().to_string());
    CallSessionStatusName => CallSessionStatus::ALL.iter().map(|v| v.as_str().to_string());
    ReviewStatusName => ReviewStatus::ALL.iter().map(|v| v.as_str().to_string());
    DeliveryStatusName => DeliveryStatus::ALL.iter().map(|v| v.as_str().to_string());
    RoleName => Role::ALL.iter().map(|v| v.as_str().to_string());
    ActorKindName => ActorKind::ALL.iter().map(|v| v.as_str().to_string());
    FlagKindName => FlagKind::ALL.into_iter().map(serde_name);
    EntityKindName => EntityKind::ALL.into_iter().map(serde_name);
}
