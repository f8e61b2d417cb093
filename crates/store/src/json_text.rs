//! JSON text columns of the insight tables (a summary's key points and entities, a review's
//! flags): written with [`to_json`], read back with [`json_list`] and [`tagged_list`].

use crate::error::{corrupt, Error};
use concierge_domain::DomainError;
use serde_json::Value;

pub(crate) fn to_json(value: &Value) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Domain(DomainError::storage(e)))
}

pub(crate) fn json_list(text: &str, what: &str) -> Result<Vec<Value>, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(corrupt(format!("{what} {text:?}"))),
    }
}

/// `[{"kind": ..., <field>: "..."}]` as stored, back into `(kind, text)` pairs; `item` names
/// one element in the error a corrupt element gives.
pub(crate) fn tagged_list<K>(
    text: &str,
    list: &str,
    item: &str,
    field: &str,
    kind_of: impl Fn(&str) -> Option<K>,
) -> Result<Vec<(K, String)>, Error> {
    json_list(text, list)?
        .iter()
        .map(|element| {
            let kind = element
                .get("kind")
                .and_then(Value::as_str)
                .and_then(&kind_of);
            match (kind, element.get(field).and_then(Value::as_str)) {
                (Some(kind), Some(value)) => Ok((kind, value.to_owned())),
                _ => Err(corrupt(format!("{item} {element}"))),
            }
        })
        .collect()
}
