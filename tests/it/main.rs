//! Cross-crate integration tests: the published vectors, the recorded fixtures, replies and
//! dispatch through the whole engine, and the adapters over real HTTP.

mod adapters;
mod crypto;
mod dispatch;
mod fixtures;
mod reply;
mod signature;

use serde_json::Value;

/// The published vectors (`fixtures/crypto/_vectors.json`, copied from `shared/vectors`).
pub(crate) fn vector(id: &str) -> Value {
    static VECTORS: &str = include_str!("../../fixtures/crypto/_vectors.json");
    let all: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    all["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

/// A string field of a vector's input.
pub(crate) fn input<'a>(v: &'a Value, key: &str) -> &'a str {
    v["input"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing"))
}
