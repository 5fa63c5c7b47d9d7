//! The engine: one HTTP exchange in, one out. Verifies (signature, timestamp), opens
//! (decrypt, parse), dispatches to the router, renders and seals the reply, and keeps retries
//! from running handlers twice.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};

use crate::callback::Callback;
use crate::config::{Config, Mode, ReceiveId};
use crate::crypto::{MsgCrypt, seal_envelope};
use crate::dedup::{Claim, Dedup, DedupStore, NonceCheck};
use crate::error::{Error, ErrorKind};
use crate::query::CallbackQuery;
use crate::reply::Reply;
use crate::router::Router;
use crate::signature::{check_timestamp, verify_msg_signature, verify_signature};
use crate::xml::Document;

/// What a callback carried, once verified (and decrypted).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// URL verification (GET): the `echostr` to answer, already decrypted for WeCom.
    Echostr(String),
    /// A message or event (POST).
    Message(Box<Callback>),
}

/// The result of [`Engine::process`]: what was received, the handlers' reply and the response.
#[derive(Debug)]
#[non_exhaustive]
pub struct Handled {
    /// What the callback carried.
    pub received: Received,
    /// The reply chosen by the handlers (`None` for URL verification, and when the handlers
    /// did not run: see `deduplicated`).
    pub reply: Option<Reply>,
    /// Whether this was a retry of a message already handled, answered from the
    /// [`Dedup`] store without running the handlers (the first reply again, or `success`
    /// when the first delivery was still running after [`Dedup::retry_wait`]).
    pub deduplicated: bool,
    /// The HTTP response to send.
    pub response: http::Response<Bytes>,
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Receives WeChat callbacks: verifies, decrypts, parses, dispatches to the [`Router`],
/// renders and encrypts the reply. Cheap to share behind an `Arc`; `handle` takes `&self`.
pub struct Engine {
    config: Config,
    crypt: Option<MsgCrypt>,
    router: Router<()>,
    clock: Clock,
    pub(crate) handlers_may_block: bool,
    dedup: Option<Dedup>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("router", &self.router)
            .field("handlers_may_block", &self.handlers_may_block)
            .field("dedup", &self.dedup)
            .finish_non_exhaustive()
    }
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Engine {
    /// An engine for one account, remembering replies for retries in a
    /// [`crate::dedup::MemoryDedupStore`] ([`Dedup::in_memory`]).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the mode needs an EncodingAESKey that is missing, when a
    /// WeCom account is set to plain mode, or when the receive id is empty.
    pub fn new(config: Config, router: Router<()>) -> Result<Self, Error> {
        config.validate()?;
        let crypt = config
            .encoding_aes_key
            .as_ref()
            .map(|key| MsgCrypt::new(key, config.receive_id.clone()));
        Ok(Self {
            config,
            crypt,
            router,
            clock: Arc::new(system_now),
            handlers_may_block: true,
            dedup: Some(Dedup::in_memory()),
        })
    }

    /// Replaces the retry and replay settings (store, wait, keys, nonce check); see
    /// [`crate::dedup`].
    #[must_use]
    pub fn with_dedup(mut self, dedup: Dedup) -> Self {
        self.dedup = Some(dedup);
        self
    }

    /// Runs the handlers for every delivery, retries included, and keeps no store.
    #[must_use]
    pub fn without_dedup(mut self) -> Self {
        self.dedup = None;
        self
    }

    /// The retry and replay settings, unless turned off.
    pub fn dedup(&self) -> Option<&Dedup> {
        self.dedup.as_ref()
    }

    /// Declares that every handler returns quickly without blocking (no network or disk I/O,
    /// no waiting on locks). The adapters then call [`Engine::handle`] inline on the async
    /// runtime's worker, saving the hand-off to the blocking thread pool they use by default.
    /// A handler that does block after this stalls every connection served by that worker.
    #[must_use]
    pub fn nonblocking_handlers(mut self) -> Self {
        self.handlers_may_block = false;
        self
    }

    /// Replaces the clock (Unix seconds) used for the timestamp window and reply `CreateTime`
    /// / `TimeStamp`; replays and tests fix it.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The codec, when an EncodingAESKey is configured.
    pub(crate) fn crypt(&self) -> Option<&MsgCrypt> {
        self.crypt.as_ref()
    }

    /// The engine's clock, Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Handles one callback and always answers: 200 with the echo or reply, or the error's
    /// status with its reason phrase as the body (the failed check is logged, never sent).
    pub fn handle(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        let query = CallbackQuery::from_uri(request.uri());
        let result = match *request.method() {
            Method::GET => self.receive_echostr(&query).map(echo_response),
            Method::POST => self
                .receive_message(query, request.body())
                .and_then(|callback| self.respond(&callback))
                .map(|(_, response)| response),
            _ => Err(Error::new(ErrorKind::MethodNotAllowed)),
        };
        result.unwrap_or_else(|error| refuse(&error))
    }

    /// Handles one callback and returns what was received and answered, for tools and tests.
    ///
    /// # Errors
    /// Any failed check, as listed on [`ErrorKind`].
    pub fn process(&self, request: &http::Request<Bytes>) -> Result<Handled, Error> {
        let query = CallbackQuery::from_uri(request.uri());
        let received = self.receive(request.method(), query, request.body())?;
        match received {
            Received::Echostr(echostr) => Ok(Handled {
                response: echo_response(echostr.clone()),
                received: Received::Echostr(echostr),
                reply: None,
                deduplicated: false,
            }),
            Received::Message(callback) => {
                let (reply, response) = self.respond(&callback)?;
                Ok(Handled {
                    received: Received::Message(callback),
                    deduplicated: reply.is_none(),
                    reply,
                    response,
                })
            }
        }
    }

    /// Dispatches a received message, or answers a retry from the dedup store, and builds the
    /// 200 response. The reply is `None` when the handlers did not run.
    fn respond(
        &self,
        callback: &Callback,
    ) -> Result<(Option<Reply>, http::Response<Bytes>), Error> {
        let keyed = self.dedup.as_ref().and_then(|dedup| {
            // A key function is user code too: one that panics costs its request the dedup
            // check, not the server.
            let key = || dedup.key(callback, self.config.receive_id.is_wecom());
            let key = std::panic::catch_unwind(std::panic::AssertUnwindSafe(key)).unwrap_or_else(
                |_| {
                    tracing::error!(kind = ?callback.kind(), "dedup key function panicked");
                    None
                },
            )?;
            Some((dedup.store(), dedup.retry_wait(), key))
        });
        let Some((store, wait, key)) = keyed else {
            let reply = self.dispatch(callback);
            let response = if reply.is_empty() {
                success_response()
            } else {
                xml_response(Bytes::from(self.render(
                    callback,
                    &reply,
                    &rand::random(),
                    rand::random(),
                )?))
            };
            return Ok((Some(reply), response));
        };
        let now = self.now();
        match store.claim(&key, now, wait) {
            Claim::First => {
                // Released unless completed: a failure below lets a retry run the handlers.
                let claim = ClaimGuard { store, key: &key };
                let reply = self.dispatch(callback);
                let plain = if reply.is_empty() {
                    Bytes::from_static(SUCCESS)
                } else {
                    let head = callback.head();
                    Bytes::from(reply.to_xml(&head.from_user_name, &head.to_user_name, now))
                };
                let response = self.plain_response(callback, &plain, now)?;
                std::mem::forget(claim);
                store.complete(&key, plain, now);
                Ok((Some(reply), response))
            }
            Claim::Done(plain) => {
                tracing::debug!(kind = ?callback.kind(), "retry answered with the cached reply");
                let response = self.plain_response(callback, &plain, now)?;
                Ok((None, response))
            }
            Claim::Busy => {
                tracing::warn!(
                    kind = ?callback.kind(),
                    wait_ms = wait.as_millis() as u64,
                    "retry arrived while the first delivery was still running; answered success"
                );
                Ok((None, success_response()))
            }
        }
    }

    /// Runs the handlers; a handler that panics is logged and answered with `success`, so
    /// WeChat shows the user nothing broken and the next request is served.
    fn dispatch(&self, callback: &Callback) -> Reply {
        let run = std::panic::AssertUnwindSafe(|| self.router.dispatch(callback));
        std::panic::catch_unwind(run).unwrap_or_else(|_| {
            // The panic message itself went to the panic hook (stderr by default); it is not
            // logged here because a handler may have put message content into it.
            tracing::error!(kind = ?callback.kind(), "handler panicked; answered success");
            Reply::Empty
        })
    }

    /// The response for a plaintext response body (`success` or reply XML): as it is for a
    /// plaintext request, encrypted afresh (new random bytes, nonce and `TimeStamp`) for an
    /// encrypted one.
    fn plain_response(
        &self,
        callback: &Callback,
        plain: &Bytes,
        now: u64,
    ) -> Result<http::Response<Bytes>, Error> {
        if plain.as_ref() == SUCCESS {
            return Ok(success_response());
        }
        if !callback.is_encrypted() {
            return Ok(xml_response(plain.clone()));
        }
        let xml = std::str::from_utf8(plain).map_err(|error| {
            Error::with_detail(
                ErrorKind::Config,
                "dedup store returned a body that is not UTF-8",
            )
            .with_source(error)
        })?;
        let body = self.seal(&rand::random(), rand::random(), now, xml.len(), |out| {
            out.push_str(xml)
        })?;
        Ok(xml_response(Bytes::from(body)))
    }

    /// Verifies and opens a callback without dispatching it.
    ///
    /// GET is URL verification: official accounts check `signature` and echo `echostr`; WeCom
    /// checks `msg_signature` over the encrypted `echostr` and answers its plaintext. POST is a
    /// message, plaintext or encrypted according to the mode and `encrypt_type`.
    ///
    /// # Errors
    /// Any failed check, as listed on [`ErrorKind`].
    fn receive(
        &self,
        method: &Method,
        query: CallbackQuery,
        body: &Bytes,
    ) -> Result<Received, Error> {
        if method == Method::GET {
            self.receive_echostr(&query).map(Received::Echostr)
        } else if method == Method::POST {
            self.receive_message(query, body)
                .map(|callback| Received::Message(Box::new(callback)))
        } else {
            Err(Error::new(ErrorKind::MethodNotAllowed))
        }
    }

    fn receive_echostr(&self, query: &CallbackQuery) -> Result<String, Error> {
        let echostr = query
            .echostr()
            .ok_or_else(|| Error::with_detail(ErrorKind::BadRequest, "GET without echostr"))?;
        let timestamp = query.timestamp().unwrap_or_default();
        let nonce = query.nonce().unwrap_or_default();
        match (&self.config.receive_id, &self.crypt) {
            (ReceiveId::CorpId(_), Some(crypt)) => {
                let msg_signature = required(query.msg_signature(), "msg_signature")?;
                verify_msg_signature(&self.config.token, timestamp, nonce, echostr, msg_signature)?;
                self.check_timestamp(timestamp)?;
                crypt.decrypt(echostr)
            }
            _ => {
                let signature = required(query.signature(), "signature")?;
                verify_signature(&self.config.token, timestamp, nonce, signature)?;
                self.check_timestamp(timestamp)?;
                Ok(echostr.to_owned())
            }
        }
    }

    fn receive_message(&self, query: CallbackQuery, body: &Bytes) -> Result<Callback, Error> {
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
        // The body is shared, not copied: the plaintext message's fields point into it.
        let document = Document::from_bytes(body.clone())?;
        if !encrypted {
            self.check_timestamp(timestamp)?;
            self.check_nonce(timestamp, nonce, body)?;
            return Callback::from_document(document, query, false);
        }
        let encrypt = document
            .child_text("Encrypt")
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                Error::with_detail(ErrorKind::Xml, "no Encrypt in an encrypted request")
            })?;
        let msg_signature = required(query.msg_signature(), "msg_signature")?;
        verify_msg_signature(&self.config.token, timestamp, nonce, encrypt, msg_signature)?;
        self.check_timestamp(timestamp)?;
        self.check_nonce(timestamp, nonce, body)?;
        let crypt = self
            .crypt
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Config))?;
        // The decrypted message is parsed in place; its fields share the decryption buffer.
        let plaintext = crypt.decrypt_shared(encrypt)?;
        Callback::from_document(Document::from_shared(plaintext)?, query, true)
    }

    fn check_timestamp(&self, timestamp: &str) -> Result<u64, Error> {
        check_timestamp(timestamp, self.now(), self.config.timestamp_tolerance_s)
    }

    /// With [`Dedup::reject_nonce_replays`]: refuses a signed `timestamp` + `nonce` seen
    /// before with another body.
    fn check_nonce(&self, timestamp: &str, nonce: &str, body: &[u8]) -> Result<(), Error> {
        let Some(dedup) = self.dedup.as_ref().filter(|d| d.rejects_nonce_replays()) else {
            return Ok(());
        };
        let window_s = self
            .config
            .timestamp_tolerance_s
            .map_or(NONCE_WINDOW_WITHOUT_TOLERANCE_S, |t| {
                t.saturating_mul(2).max(1)
            });
        let digest = crate::dedup::digest(&[body]);
        match dedup
            .store()
            .check_nonce(timestamp, nonce, &digest, self.now(), window_s)
        {
            NonceCheck::OtherBody => Err(Error::with_detail(
                ErrorKind::Replay,
                "timestamp and nonce already used with another body",
            )),
            _ => Ok(()),
        }
    }

    /// Renders `reply` for `callback`: `success` for the empty reply, the reply XML for a
    /// plaintext callback, and the encrypted envelope for an encrypted one, framed with the 16
    /// `random` bytes, signed with `nonce` and `TimeStamp` = now.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if the callback was encrypted but no key is configured (cannot
    /// happen for callbacks this engine received).
    pub(crate) fn render(
        &self,
        callback: &Callback,
        reply: &Reply,
        random: &[u8; 16],
        nonce: u32,
    ) -> Result<String, Error> {
        let now = self.now();
        let head = callback.head();
        let (to, from) = (&*head.from_user_name, &*head.to_user_name);
        if reply.is_empty() || !callback.is_encrypted() {
            return Ok(reply.to_xml(to, from, now));
        }
        self.seal(
            random,
            nonce,
            now,
            reply.xml_len_hint(to, from, now),
            |out| {
                reply.write_xml(out, to, from, now);
            },
        )
    }

    /// The encrypted reply envelope for the plaintext `write` appends (about `len_hint`
    /// bytes), framed with `random`, signed with `nonce` and `TimeStamp` = `now`.
    fn seal(
        &self,
        random: &[u8; 16],
        nonce: u32,
        now: u64,
        len_hint: usize,
        write: impl FnOnce(&mut String),
    ) -> Result<String, Error> {
        let crypt = self
            .crypt
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Config))?;
        let mut nonce_text = itoa::Buffer::new();
        let nonce = nonce_text.format(nonce);
        let ciphertext = crypt.encrypt_framed(random, len_hint, write);
        Ok(seal_envelope(&self.config.token, &ciphertext, now, nonce))
    }
}

/// Logs a refused callback at `warn` (kind, code, status and detail; never the body or
/// secrets) and builds its response with [`error_response`].
pub(crate) fn refuse(error: &Error) -> http::Response<Bytes> {
    tracing::warn!(
        kind = ?error.kind(),
        code = ?error.code(),
        status = error.status().as_u16(),
        detail = error.detail().unwrap_or(""),
        "callback refused"
    );
    error_response(error)
}

/// How long a nonce is remembered when no timestamp window is configured: 10 minutes.
const NONCE_WINDOW_WITHOUT_TOLERANCE_S: u64 = 600;

const SUCCESS: &[u8] = b"success";

/// Releases a dedup claim when dropped; forgotten once the claim is completed.
struct ClaimGuard<'a> {
    store: &'a dyn DedupStore,
    key: &'a str,
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        self.store.release(self.key);
    }
}

fn xml_response(body: Bytes) -> http::Response<Bytes> {
    ok_response("application/xml; charset=utf-8", body)
}

fn success_response() -> http::Response<Bytes> {
    ok_response("text/plain; charset=utf-8", Bytes::from_static(SUCCESS))
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, Error> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::with_detail(ErrorKind::InvalidSignature, format!("no {name}")))
}

pub(crate) fn ok_response(content_type: &'static str, body: Bytes) -> http::Response<Bytes> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// The response for a failed callback: the error's status, its reason phrase as the body.
pub(crate) fn error_response(error: &Error) -> http::Response<Bytes> {
    let mut response = ok_response(
        "text/plain; charset=utf-8",
        Bytes::from_static(error.body_text().as_bytes()),
    );
    *response.status_mut() = error.status();
    if error.status() == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    }
    response
}

fn echo_response(echostr: String) -> http::Response<Bytes> {
    ok_response("text/plain; charset=utf-8", Bytes::from(echostr))
}
