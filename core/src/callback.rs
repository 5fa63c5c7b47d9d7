//! A verified, decrypted and parsed callback: what handlers see.

use std::sync::Arc;

use crate::config::BodyFormat;
use crate::error::Error;
use crate::message::{Document, Head, Kind, Message};
use crate::query::CallbackQuery;

/// A verified, decrypted and parsed callback, as handlers see it: the [`Head`] every callback
/// shares, the typed [`Message`], every field of the (decrypted) body as a [`Document`], and
/// the [`CallbackQuery`] it came with.
///
/// Not an HTTP request: the engine makes one from an `http::Request` once its signature (and
/// for encrypted callbacks its `msg_signature`, receive id and padding) checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    head: Head,
    message: Message,
    fields: Document,
    query: CallbackQuery,
    encrypted: bool,
    format: BodyFormat,
    account: Option<Arc<str>>,
    on_behalf_of: Option<Box<str>>,
}

impl Callback {
    /// Parses a plaintext message body (no signature check, no decryption), as tools and
    /// tests need.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`](crate::ErrorKind::Xml) (-40002) for malformed or refused XML (see
    /// [`Document::parse`]) or a numeric field that does not parse.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        Self::from_document(Document::parse(xml)?, CallbackQuery::default(), false)
    }

    /// Parses a plaintext JSON message body (a mini-program push in JSON format; no signature
    /// check, no decryption), as tools and tests need.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`](crate::ErrorKind::Xml) (-40002) for a body that is not one JSON
    /// object (see [`Document::parse_json`]) or a numeric field that does not parse.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let mut callback =
            Self::from_document(Document::parse_json(json)?, CallbackQuery::default(), false)?;
        callback.format = BodyFormat::Json;
        Ok(callback)
    }

    pub(crate) fn from_document(
        doc: Document,
        query: CallbackQuery,
        encrypted: bool,
    ) -> Result<Self, Error> {
        let head = Head::from_document(&doc)?;
        let message = Message::from_document(&doc, &head)?;
        Ok(Self::assemble(head, message, doc, query, encrypted))
    }

    /// A received callback, shared: parsed as by [`Callback::from_document`] and marked with
    /// what the engine knows beside its body (the body's format, the account id, the
    /// authorizer it came on behalf of). Built straight into its `Arc`: a callback is large
    /// (over a kilobyte), and every move of it through a `Result` is a copy.
    pub(crate) fn received(
        doc: Document,
        query: CallbackQuery,
        encrypted: bool,
        format: BodyFormat,
        account: Option<Arc<str>>,
        on_behalf_of: Option<&str>,
    ) -> Result<Arc<Self>, Error> {
        let head = Head::from_document(&doc)?;
        let message = Message::from_document(&doc, &head)?;
        let mut callback = Arc::new(Self::assemble(head, message, doc, query, encrypted));
        // Marked in place (always: a new `Arc` is unique), not moved through a builder.
        if let Some(callback) = Arc::get_mut(&mut callback) {
            callback.format = format;
            callback.account = account;
            callback.on_behalf_of = on_behalf_of.map(Box::from);
        }
        Ok(callback)
    }

    /// The callback of its parts, not yet marked as received.
    #[inline(always)]
    fn assemble(
        head: Head,
        message: Message,
        fields: Document,
        query: CallbackQuery,
        encrypted: bool,
    ) -> Self {
        Self {
            head,
            message,
            fields,
            query,
            encrypted,
            format: BodyFormat::Xml,
            account: None,
            on_behalf_of: None,
        }
    }

    /// The fields every callback shares.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The typed message or event.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The kind handlers are chosen by.
    pub fn kind(&self) -> Kind {
        self.message.kind()
    }

    /// The whole (decrypted) body as a field tree: every element, known or not.
    pub fn fields(&self) -> &Document {
        &self.fields
    }

    /// The query string the callback came with.
    pub fn query(&self) -> &CallbackQuery {
        &self.query
    }

    /// The format the body arrived in, and the reply goes out in: JSON only for a
    /// mini-program push in JSON format.
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// The id of the account that received it ([`Engine::with_account_id`](crate::Engine::with_account_id):
    /// the accounts file's `id`, the `{id}` of `/wechat/{id}`); `None` for an engine without one.
    pub fn account_id(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The account this callback was received for when it is not the receiving account's
    /// own: an open-platform authorizer's appid (the `$APPID$` of the console's message URL,
    /// served at `/wechat/{id}/{authorizer_appid}`), or the corpid of a corp that authorized a
    /// WeCom suite (its data callbacks, `$CORPID$`, `/wechat/{id}/{corpid}`). `None` otherwise.
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.on_behalf_of.as_deref()
    }

    /// Whether the callback arrived encrypted (and so the reply will be).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_message_and_fields() {
        let callback = Callback::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>\
             <CreateTime>7</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
             <Extra>kept</Extra></xml>",
        )
        .unwrap();
        assert_eq!(callback.kind(), Kind::Text);
        assert_eq!(callback.head().create_time, 7);
        assert_eq!(callback.fields().child_text("Extra"), Some("kept"));
        assert!(!callback.is_encrypted());
        assert_eq!(*callback.query(), CallbackQuery::default());
    }
}
