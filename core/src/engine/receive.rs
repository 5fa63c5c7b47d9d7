//! Verification and opening: the query, the signature and timestamp window, decryption,
//! parsing; nothing here runs a handler.

use std::sync::Arc;

use bytes::Bytes;

use super::{Engine, NONCE_WINDOW_WITHOUT_TOLERANCE_S, Received, required};
use crate::callback::Callback;
use crate::config::{BodyFormat, Mode, Platform, ReceiveId};
use crate::dedup::NonceCheck;
use crate::error::{Error, ErrorKind};
use crate::query::CallbackQuery;
use crate::signature::{
    Digest20, check_msg_signature, check_timestamp, verify_msg_signature, verify_signature,
};
use crate::xml::{Document, looks_like_json};

impl Engine {
    /// Verifies and opens a callback without dispatching it.
    ///
    /// GET is URL verification: official accounts check `signature` and echo `echostr`; WeCom
    /// checks `msg_signature` over the encrypted `echostr` and answers its plaintext. POST is a
    /// message, plaintext or encrypted according to the mode and `encrypt_type`.
    ///
    /// # Errors
    /// Any failed check, as listed on [`ErrorKind`].
    pub(crate) fn open(
        &self,
        request: &http::Request<Bytes>,
        on_behalf_of: Option<&str>,
    ) -> Result<Received, Error> {
        let query = CallbackQuery::from_uri(request.uri());
        self.open_parts(
            request.method().as_str(),
            query,
            request.body(),
            on_behalf_of,
        )
    }

    /// [`Engine::open`] from what it reads of a request: the method (`GET`, `POST`; any
    /// other is 405), the query and the body.
    pub(crate) fn open_parts(
        &self,
        method: &str,
        query: CallbackQuery,
        body: &Bytes,
        on_behalf_of: Option<&str>,
    ) -> Result<Received, Error> {
        self.open_checked(method, query, body, on_behalf_of, true)
    }

    /// [`Engine::open_parts`]; `nonces` false leaves the nonce replay check out (and records
    /// no nonce): [`Engine::inspect`].
    pub(crate) fn open_checked(
        &self,
        method: &str,
        query: CallbackQuery,
        body: &Bytes,
        on_behalf_of: Option<&str>,
        nonces: bool,
    ) -> Result<Received, Error> {
        match method {
            "GET" => self.receive_echostr(&query).map(Received::Echostr),
            "POST" => self
                .receive_message(query, body, on_behalf_of, nonces)
                .map(Received::Message),
            _ => Err(Error::new(ErrorKind::MethodNotAllowed)),
        }
    }

    fn receive_echostr(&self, query: &CallbackQuery) -> Result<String, Error> {
        let echostr = query
            .echostr()
            .ok_or_else(|| Error::with_detail(ErrorKind::BadRequest, "GET without echostr"))?;
        let timestamp = query.timestamp().unwrap_or_default();
        let nonce = query.nonce().unwrap_or_default();
        match (&self.config.receive_id, &self.crypt) {
            (ReceiveId::CorpId(suite_or_corp), Some(crypt)) => {
                let msg_signature = required(query.msg_signature(), "msg_signature")?;
                verify_msg_signature(&self.config.token, timestamp, nonce, echostr, msg_signature)?;
                self.check_timestamp(timestamp)?;
                // A suite's URL verification is encrypted for its provider's corpid.
                let expected = match (&self.config.platform, &self.config.provider_corpid) {
                    (Platform::WeComSuite, Some(provider)) => provider,
                    _ => suite_or_corp,
                };
                crypt
                    .decrypt_shared_for(echostr, expected)
                    .map(|text| text.to_string())
            }
            _ => {
                let signature = required(query.signature(), "signature")?;
                verify_signature(&self.config.token, timestamp, nonce, signature)?;
                self.check_timestamp(timestamp)?;
                Ok(echostr.to_owned())
            }
        }
    }

    fn receive_message(
        &self,
        query: CallbackQuery,
        body: &Bytes,
        on_behalf_of: Option<&str>,
        nonces: bool,
    ) -> Result<Arc<Callback>, Error> {
        if body.len() > self.config.max_body_bytes {
            return Err(Error::with_detail(
                ErrorKind::TooLarge,
                format!("{} bytes, limit {}", body.len(), self.config.max_body_bytes),
            ));
        }
        let timestamp = query.timestamp().unwrap_or_default();
        let nonce = query.nonce().unwrap_or_default();
        let encrypted = match (self.config.mode, &self.config.receive_id) {
            (_, ReceiveId::CorpId(_)) | (Mode::Safe, _) => true,
            (Mode::Compatible, _) => query.is_aes(),
            (Mode::Plain, _) if query.is_aes() => {
                return Err(Error::with_detail(
                    ErrorKind::BadRequest,
                    "encrypted request to an account configured for plain mode",
                ));
            }
            (Mode::Plain, _) => false,
        };
        // `signature` covers only token, timestamp and nonce: check it first, before any parsing.
        // Encrypted requests are covered by `msg_signature`; a `signature` beside it must match too.
        if !encrypted || query.signature().is_some() {
            let signature = required(query.signature(), "signature")?;
            verify_signature(&self.config.token, timestamp, nonce, signature)?;
        }
        // A mini-program's body is JSON or XML by its first byte, whatever the configured
        // format or the Content-Type say (WeChat has sent JSON labelled `text/xml`).
        let json = self.config.platform == Platform::MiniProgram && looks_like_json(body);
        let format = if json {
            BodyFormat::Json
        } else {
            BodyFormat::Xml
        };
        // The body is shared, not copied: the plaintext message's fields point into it.
        let document = Document::from_bytes_as(body.clone(), json)?;
        if !encrypted {
            self.check_timestamp(timestamp)?;
            if nonces {
                self.check_nonce(timestamp, nonce, || crate::dedup::digest(&[body]))?;
            }
            return Callback::received(
                document,
                query,
                false,
                format,
                self.account.clone(),
                on_behalf_of,
            );
        }
        // A missing `Encrypt` is a malformed body; an empty one an empty ciphertext, which
        // fails to decrypt once its signature checks out.
        let encrypt = document.child_text("Encrypt").ok_or_else(|| {
            Error::with_detail(ErrorKind::Xml, "no Encrypt in an encrypted request")
        })?;
        let msg_signature = required(query.msg_signature(), "msg_signature")?;
        let signed =
            check_msg_signature(&self.config.token, timestamp, nonce, encrypt, msg_signature)?;
        self.check_timestamp(timestamp)?;
        if nonces {
            // The verified `msg_signature` already tells this `Encrypt` from any other under
            // the same timestamp and nonce: no second SHA-1 over the body.
            self.check_nonce(timestamp, nonce, || signed)?;
        }
        let crypt = self
            .crypt
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Config))?;
        // The decrypted message is parsed in place; its fields share the decryption buffer.
        // A suite's data callbacks (at `/wechat/{id}/{corpid}`, the console's `$CORPID$`) are
        // encrypted for the authorizing corp's corpid; everything else for the configured id.
        let plaintext = match on_behalf_of.filter(|_| self.config.platform == Platform::WeComSuite)
        {
            Some(corpid) => crypt.decrypt_shared_for(encrypt, corpid)?,
            None => crypt.decrypt_shared(encrypt)?,
        };
        let document = if json {
            Document::from_shared_any(plaintext)?
        } else {
            Document::from_shared(plaintext)?
        };
        let callback = Callback::received(
            document,
            query,
            true,
            format,
            self.account.clone(),
            on_behalf_of,
        )?;
        self.check_agent_id(&callback)?;
        Ok(callback)
    }

    /// With [`Config::with_agent_id`](crate::Config::with_agent_id): refuses a message for
    /// another application of the corp.
    fn check_agent_id(&self, callback: &Callback) -> Result<(), Error> {
        let (Some(expected), Some(actual)) = (
            self.config.agent_id.as_deref(),
            callback.head().agent_id.as_deref(),
        ) else {
            return Ok(());
        };
        if actual.is_empty() || actual == expected {
            return Ok(());
        }
        Err(Error::with_detail(
            ErrorKind::ReceiveId,
            "AgentID is not the configured application's",
        ))
    }

    /// How long a `timestamp` + `nonce` pair is remembered: twice the timestamp tolerance, or
    /// 10 minutes without one.
    pub(super) fn nonce_window_s(&self) -> u64 {
        self.config
            .timestamp_tolerance_s
            .map_or(NONCE_WINDOW_WITHOUT_TOLERANCE_S, |t| {
                t.saturating_mul(2).max(1)
            })
    }

    fn check_timestamp(&self, timestamp: &str) -> Result<u64, Error> {
        check_timestamp(timestamp, self.now(), self.config.timestamp_tolerance_s)
    }

    /// With [`Dedup::reject_nonce_replays`]: refuses a signed `timestamp` + `nonce` seen
    /// before with another body, in the in-process store. `digest` identifies the body; it
    /// is computed only when there is such a store to ask.
    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: impl FnOnce() -> Digest20,
    ) -> Result<(), Error> {
        // A shared store is asked later, awaited ([`Engine::ask_shared`]).
        let Some(store) = self
            .dedup
            .as_ref()
            .filter(|d| d.rejects_nonce_replays())
            .and_then(|d| d.store())
        else {
            return Ok(());
        };
        match store.check_nonce(
            timestamp,
            nonce,
            &digest(),
            self.now(),
            self.nonce_window_s(),
        ) {
            NonceCheck::OtherBody => Err(Error::with_detail(
                ErrorKind::Replay,
                "timestamp and nonce already used with another body",
            )),
            _ => Ok(()),
        }
    }
}
