#![doc = include_str!("../../README.md")]

pub mod config;
pub mod crypto;
pub mod dedup;
pub mod engine;
pub mod error;
pub mod message;
pub mod reply;
pub mod request;
pub mod router;
pub mod signature;
pub mod xml;

pub use http;

/// The shared, immutable UTF-8 string the typed message fields are made of (from `bytestring`):
/// it derefs to `&str`, compares with `&str` and `String`, and converts `Into<String>`.
pub use bytestring::ByteString;
#[doc(inline)]
pub use config::{
    Config, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES, EncodingAesKey, Mode, ReceiveId,
    Token,
};
#[doc(inline)]
pub use crypto::{EncryptedReply, MsgCrypt};
#[doc(inline)]
pub use dedup::{Dedup, DedupStore, MemoryDedupStore};
#[doc(inline)]
pub use engine::{Engine, Handled, Received};
#[doc(inline)]
pub use error::{Error, ErrorKind};
#[doc(inline)]
pub use message::*;
#[doc(inline)]
pub use reply::{Article, IntoReply, MusicReply, NewsReply, Reply, VideoReply};
#[doc(inline)]
pub use request::{CallbackQuery, Request};
#[doc(inline)]
pub use router::{Handler, Router};
#[doc(inline)]
pub use signature::{verify_msg_signature, verify_signature};
#[doc(inline)]
pub use xml::{Document, Element};

/// The names most handler code needs: `use wechat_callback::prelude::*;`.
pub mod prelude {
    pub use crate::message::{Event, Head, Kind, Message};
    pub use crate::reply::{IntoReply as _, Reply};
    pub use crate::request::Request;
    pub use crate::router::Router;
    pub use crate::{Config, EncodingAesKey, Engine, Mode, Token};
}
