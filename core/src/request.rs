//! The callback query string and a parsed callback request.

use crate::error::Error;
use crate::message::{Head, Kind, Message};
use crate::xml::{self, Element};

/// The query parameters WeChat adds to the callback URL.
///
/// Official account / mini program: `signature`, `timestamp` (Unix seconds), `nonce`, `echostr`
/// (GET), `openid`, and in compatible/safe mode `encrypt_type=aes` and `msg_signature`. WeCom:
/// `msg_signature`, `timestamp`, `nonce`, `echostr` (GET, encrypted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackQuery {
    /// `signature`: 40 hex digits.
    pub signature: Option<String>,
    /// `msg_signature`: 40 hex digits.
    pub msg_signature: Option<String>,
    /// `timestamp`: Unix seconds, as text.
    pub timestamp: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `echostr`: URL verification only.
    pub echostr: Option<String>,
    /// `openid`: the sender (official accounts).
    pub openid: Option<String>,
    /// `encrypt_type`: `aes` when the body is encrypted (official accounts).
    pub encrypt_type: Option<String>,
}

impl CallbackQuery {
    /// Parses an `application/x-www-form-urlencoded` query string (without the `?`).
    /// Unknown parameters are ignored; of a repeated one the first counts.
    pub fn from_query(query: &str) -> Self {
        let mut out = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "signature" => &mut out.signature,
                "msg_signature" => &mut out.msg_signature,
                "timestamp" => &mut out.timestamp,
                "nonce" => &mut out.nonce,
                "echostr" => &mut out.echostr,
                "openid" => &mut out.openid,
                "encrypt_type" => &mut out.encrypt_type,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        out
    }

    /// Whether `encrypt_type=aes` (ASCII case-insensitive).
    pub fn is_aes(&self) -> bool {
        self.encrypt_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("aes"))
    }
}

/// A verified, decrypted and parsed callback, as handlers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    head: Head,
    message: Message,
    fields: Element,
    query: CallbackQuery,
    encrypted: bool,
}

impl Request {
    /// Parses a plaintext message body (no signature check, no decryption).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Xml`] (-40002) for malformed or refused XML (see [`xml::parse`]) or a
    /// numeric field that does not parse.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        Self::from_root(xml::parse(xml)?, CallbackQuery::default(), false)
    }

    pub(crate) fn from_root(
        root: Element,
        query: CallbackQuery,
        encrypted: bool,
    ) -> Result<Self, Error> {
        let head = Head::from_element(&root)?;
        let message = Message::from_element(&root, &head)?;
        Ok(Self {
            head,
            message,
            fields: root,
            query,
            encrypted,
        })
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
    pub fn fields(&self) -> &Element {
        &self.fields
    }

    /// The query string the request came with.
    pub fn query(&self) -> &CallbackQuery {
        &self.query
    }

    /// Whether the message arrived encrypted (and so the reply will be).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_percent_escapes_and_keeps_first() {
        let q = CallbackQuery::from_query(
            "echostr=a%2Bb%2F%3D%3D&timestamp=1&timestamp=2&encrypt_type=AES&x=y",
        );
        assert_eq!(q.echostr.as_deref(), Some("a+b/=="));
        assert_eq!(q.timestamp.as_deref(), Some("1"));
        assert!(q.is_aes());
        assert_eq!(q.signature, None);
    }
}
