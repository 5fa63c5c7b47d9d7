#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The pipeline, in the order a callback flows through it.
pub mod accounts;
pub mod adapter;
mod callback;
mod config;
pub mod crypto;
pub mod dedup;
mod engine;
mod error;
pub mod message;
mod query;
pub mod reply;
/// Recording live callbacks: [`Engine::with_recorder`](crate::Engine::with_recorder).
pub mod recording {
    pub use crate::engine::{Exchange, Recorder};
}
mod router;
mod scratch;
mod signature;
pub mod telemetry;
mod xml;

pub use http;

/// The shared, immutable UTF-8 string the typed message fields are made of (from `bytestring`):
/// it derefs to `&str`, compares with `&str` and `String`, and converts `Into<String>`.
pub use bytestring::ByteString;

pub use callback::Callback;
pub use config::{BodyFormat, Config, EncodingAesKey, Mode, Platform, ReceiveId, Token};
pub use engine::{Engine, Handled, Received};
pub use error::{Error, ErrorKind};
pub use query::CallbackQuery;
pub use router::{Blocking, Handler, Interceptor, Matcher, Observe, Router, blocking};

/// The names handler code needs: `use wechat_callback::prelude::*;`.
///
/// The router and what a handler takes and returns ([`Callback`],
/// [`Reply`](crate::reply::Reply), the [`IntoReply`](crate::reply::IntoReply) trait), the
/// message enums, and what building an engine takes. The payload structs (`Text`, `Click`,
/// …) are in [`crate::message`].
pub mod prelude {
    pub use crate::message::{Event, Head, Kind, Message};
    pub use crate::reply::{IntoReply as _, Reply};
    pub use crate::{Callback, Config, EncodingAesKey, Engine, Mode, Router, Token, blocking};
}
