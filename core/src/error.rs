//! The one public error type, its kinds, their official WXBizMsgCrypt codes and HTTP statuses.
//!
//! The codes follow Tencent's `WXBizMsgCrypt` samples (`ierror.py` / `ierror.h`):
//! -40001 ValidateSignature, -40002 ParseXml, -40004 IllegalAesKey, -40005 ValidateAppid
//! (WeCom: ValidateCorpid), -40007 DecryptAES, -40008 IllegalBuffer, -40010 DecodeBase64,
//! -40011 GenReturnXml. Kinds without an official counterpart have no code.

use std::fmt;

use http::StatusCode;

/// What went wrong, coarse enough to act on and to map onto an HTTP status.
///
/// The kind is meant for logs and metrics; what goes over the wire is only the status and its
/// reason phrase (see [`Error::body_text`]), so a sender never learns which check failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `signature` or `msg_signature` missing, empty, malformed or wrong (-40001, HTTP 401).
    InvalidSignature,
    /// `timestamp` not a number or outside the configured window (HTTP 401).
    Timestamp,
    /// Body or decrypted message is not acceptable XML: empty, not UTF-8, malformed, DOCTYPE or
    /// entity declarations, processing instructions, too deep, no `Encrypt` where one is
    /// required, or a field of the wrong type (-40002, HTTP 400).
    Xml,
    /// `Encrypt` / `echostr` is not valid standard base64 (-40010, HTTP 400).
    Base64,
    /// Ciphertext empty, not a whole number of AES blocks, or bad PKCS#7 padding (-40007, HTTP 400).
    Decrypt,
    /// Decrypted buffer too short, or its length prefix points past the end (-40008, HTTP 400).
    Buffer,
    /// The receive id at the end of the plaintext is not the configured appid / corpid
    /// (-40005, HTTP 403).
    ReceiveId,
    /// The body is larger than the configured maximum (HTTP 413).
    TooLarge,
    /// A signed `timestamp` + `nonce` seen before with a different body, inside the window
    /// (HTTP 401); only with `dedup::Dedup::reject_nonce_replays`.
    Replay,
    /// A method other than GET or POST (HTTP 405).
    MethodNotAllowed,
    /// The body did not arrive within the configured read timeout (HTTP 408).
    RequestTimeout,
    /// A request the engine cannot serve for another reason: no `echostr` on GET, an encrypted
    /// request to a plaintext-only account (HTTP 400).
    BadRequest,
    /// The EncodingAESKey is not 43 characters of base64 for a 32-byte key (-40004).
    InvalidAesKey,
    /// The configuration contradicts itself, e.g. safe mode without an EncodingAESKey.
    Config,
    /// A reply cannot be rendered, e.g. a news reply with no or more than 8 articles (-40011).
    InvalidReply,
    /// A shared dedup store (Redis) could not be reached or did not answer in time (HTTP 503:
    /// WeChat retries); only refused with `dedup::Dedup::fail_closed`, otherwise logged.
    StoreUnavailable,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 16] = [
        Self::InvalidSignature,
        Self::Timestamp,
        Self::Xml,
        Self::Base64,
        Self::Decrypt,
        Self::Buffer,
        Self::ReceiveId,
        Self::TooLarge,
        Self::Replay,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::BadRequest,
        Self::InvalidAesKey,
        Self::Config,
        Self::InvalidReply,
        Self::StoreUnavailable,
    ];

    /// The error class of the fixture format (`fixture-format.md`, `expect.error`), also the
    /// `outcome` label of the `wechat_callbacks_total` metric: `signature`, `timestamp`,
    /// `xml`, `decrypt` (base64, buffer and AES alike), `appid`, `too_large`, `replay`,
    /// `bad_request` (method, timeout, malformed request), `config`, `reply` or `unavailable`
    /// (a shared dedup store down).
    pub const fn class(self) -> &'static str {
        match self {
            Self::InvalidSignature => "signature",
            Self::Timestamp => "timestamp",
            Self::Xml => "xml",
            Self::Base64 | Self::Decrypt | Self::Buffer => "decrypt",
            Self::ReceiveId => "appid",
            Self::TooLarge => "too_large",
            Self::Replay => "replay",
            Self::MethodNotAllowed | Self::RequestTimeout | Self::BadRequest => "bad_request",
            Self::InvalidAesKey | Self::Config => "config",
            Self::InvalidReply => "reply",
            Self::StoreUnavailable => "unavailable",
        }
    }

    /// The official WXBizMsgCrypt error code, where one corresponds.
    pub const fn code(self) -> Option<i32> {
        Some(match self {
            Self::InvalidSignature => -40001,
            Self::Xml => -40002,
            Self::InvalidAesKey => -40004,
            Self::ReceiveId => -40005,
            Self::Decrypt => -40007,
            Self::Buffer => -40008,
            Self::Base64 => -40010,
            Self::InvalidReply => -40011,
            Self::Timestamp
            | Self::Replay
            | Self::TooLarge
            | Self::MethodNotAllowed
            | Self::RequestTimeout
            | Self::BadRequest
            | Self::Config
            | Self::StoreUnavailable => return None,
        })
    }

    /// The HTTP status the engine answers with for this kind.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidSignature | Self::Timestamp | Self::Replay => StatusCode::UNAUTHORIZED,
            Self::ReceiveId => StatusCode::FORBIDDEN,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Xml | Self::Base64 | Self::Decrypt | Self::Buffer | Self::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::InvalidAesKey | Self::Config | Self::InvalidReply => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    const fn description(self) -> &'static str {
        match self {
            Self::InvalidSignature => "invalid signature",
            Self::Timestamp => "timestamp outside the accepted window",
            Self::Xml => "malformed XML",
            Self::Base64 => "invalid base64",
            Self::Decrypt => "AES decryption failed",
            Self::Buffer => "illegal decrypted buffer",
            Self::ReceiveId => "receive id (appid / corpid) mismatch",
            Self::TooLarge => "body too large",
            Self::Replay => "nonce replayed with another body",
            Self::MethodNotAllowed => "method not allowed",
            Self::RequestTimeout => "body not received in time",
            Self::BadRequest => "bad request",
            Self::InvalidAesKey => "illegal EncodingAESKey",
            Self::Config => "invalid configuration",
            Self::InvalidReply => "invalid reply",
            Self::StoreUnavailable => "dedup store unavailable",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The error of every fallible operation in this crate.
///
/// Carries an [`ErrorKind`], a detail for logs (which field, which byte offset) and, where a
/// lower layer failed (base64, UTF-8, quick-xml, a number), that error as
/// [`source`](std::error::Error::source). None of them carries the token, the EncodingAESKey
/// or decrypted content. Errors are made only inside this crate; what goes over the wire is
/// only [`Error::status`] and [`Error::body_text`].
pub struct Error {
    kind: ErrorKind,
    detail: Option<Box<str>>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with no detail.
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            detail: None,
            source: None,
        }
    }

    /// An error of `kind` with a detail for the log (never sent to the client). The detail
    /// must not carry secrets or message content.
    pub(crate) fn with_detail(kind: ErrorKind, detail: impl Into<Box<str>>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            source: None,
        }
    }

    /// An [`ErrorKind::Xml`] error with a detail.
    pub(crate) fn xml(detail: impl Into<Box<str>>) -> Self {
        Self::with_detail(ErrorKind::Xml, detail)
    }

    /// An [`ErrorKind::StoreUnavailable`]: a shared dedup store that could not answer, for
    /// [`AsyncDedupStore`](crate::dedup::AsyncDedupStore) implementations. `detail` says what
    /// failed (`"claim timed out after 500 ms"`), `source` why; neither may carry a secret (a
    /// Redis URL with a password).
    pub fn store_unavailable(
        detail: impl Into<Box<str>>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let mut error = Self::with_detail(ErrorKind::StoreUnavailable, detail);
        error.source = source;
        error
    }

    /// The same error, caused by `source`.
    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The official WXBizMsgCrypt code (-40001 … -40011), where one corresponds.
    pub const fn code(&self) -> Option<i32> {
        self.kind.code()
    }

    /// The HTTP status to answer with.
    pub const fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The detail for logs (which field, which byte offset), if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The body to send: the status's canonical reason phrase, the same for every failure
    /// with that status.
    pub fn body_text(&self) -> &'static str {
        self.status().canonical_reason().unwrap_or("error")
    }

    /// The lower-layer error that caused this one, if any, taken out.
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.kind.code())
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)?;
        if let Some(code) = self.kind.code() {
            write!(f, " ({code})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_official_table() {
        assert_eq!(ErrorKind::InvalidSignature.code(), Some(-40001));
        assert_eq!(ErrorKind::Xml.code(), Some(-40002));
        assert_eq!(ErrorKind::ReceiveId.code(), Some(-40005));
        assert_eq!(ErrorKind::Decrypt.code(), Some(-40007));
        assert_eq!(ErrorKind::Buffer.code(), Some(-40008));
        assert_eq!(ErrorKind::Base64.code(), Some(-40010));
        assert_eq!(ErrorKind::Timestamp.code(), None);
        assert_eq!(ErrorKind::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            ErrorKind::MethodNotAllowed.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(ErrorKind::ReceiveId.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn all_lists_every_kind_once() {
        let kinds: std::collections::HashSet<_> = ErrorKind::ALL.into_iter().collect();
        assert_eq!(kinds.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn source_chain_reaches_the_lower_layer() {
        use std::error::Error as _;
        let bytes = vec![0xff_u8];
        let utf8 = std::str::from_utf8(&bytes).unwrap_err();
        let error = Error::xml("body is not UTF-8").with_source(utf8);
        let source = error.source().expect("a source");
        assert!(source.downcast_ref::<std::str::Utf8Error>().is_some());
        assert!(Error::new(ErrorKind::Base64).source().is_none());
        assert!(error.into_source().is_some());
    }

    #[test]
    fn body_does_not_tell_decrypt_failures_apart() {
        let a = Error::new(ErrorKind::Base64);
        let b = Error::with_detail(ErrorKind::Buffer, "length prefix past end");
        assert_eq!(a.body_text(), b.body_text());
        assert_eq!(a.body_text(), "Bad Request");
        assert_eq!(
            b.to_string(),
            "illegal decrypted buffer (-40008): length prefix past end"
        );
    }
}
