//! The engine: one HTTP exchange in, one out. Verifies (signature, timestamp), opens
//! (decrypt, parse), dispatches to the router, renders and seals the reply, and keeps retries
//! from running handlers twice. The work is split at the handler call ([`step`]) so adapters
//! can await async handlers and keep the deadline; [`Engine::handle`] runs it all at once.

mod receive;
mod record;
mod step;

use crate::telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::callback::Callback;
use crate::config::{BodyFormat, Config};
use crate::crypto::{MsgCrypt, seal_envelope, seal_json_envelope};
use crate::dedup::{Claim, Dedup, Key, NonceCheck, Store};
use crate::error::{Error, ErrorKind};
use crate::reply::Reply;
use crate::router::{BoxFuture, Dispatched, Router, block_on, inline_blocking};
use crate::scratch;

pub(crate) use record::Pending as PendingRecord;
pub use record::{Exchange, Recorder};
use step::ClaimGuard;
pub use step::{Claiming, Dispatch, Inbound, Late, LateReply, Pending, RequestParts, Retry, Step};

/// What a callback carried, once verified (and decrypted).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// URL verification (GET): the `echostr` to answer, already decrypted for WeCom.
    Echostr(String),
    /// A message or event (POST).
    Message(Arc<Callback>),
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
type LateHook = Arc<dyn Fn(LateReply) -> BoxFuture<()> + Send + Sync>;

/// Receives WeChat callbacks: verifies, decrypts, parses, dispatches to the [`Router`],
/// renders and encrypts the reply. Cheap to share behind an `Arc`; `handle` takes `&self`.
pub struct Engine {
    pub(crate) config: Config,
    crypt: Option<MsgCrypt>,
    router: Router<()>,
    clock: Clock,
    dedup: Option<Dedup>,
    deadline: Duration,
    late_hook: Option<LateHook>,
    recorder: Option<Arc<dyn Recorder>>,
    pub(crate) appid: Arc<str>,
    account: Option<Arc<str>>,
    /// Metric handles for the account label, registered on first use.
    metrics: telemetry::Handles,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("router", &self.router)
            .field("dedup", &self.dedup)
            .field("deadline", &self.deadline)
            .field("late_reply_hook", &self.late_hook.is_some())
            .field("recorder", &self.recorder.is_some())
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What claiming a received callback in the dedup store gave.
pub(crate) enum Claimed {
    Dispatch(Inbound),
    /// A retry answered from the store.
    Cached(http::Response<Bytes>),
    Wait(Retry),
    /// A shared store to ask, awaiting it.
    Ask(Claiming),
}

impl Claimed {
    /// A shared store to ask for `key` (and the nonce, on a first ask), awaiting it.
    fn ask(
        store: &Arc<dyn crate::dedup::AsyncDedupStore>,
        callback: Arc<Callback>,
        key: Option<Key>,
        check_nonce: bool,
        since: Instant,
        span: tracing::Span,
    ) -> Self {
        Self::Ask(Claiming {
            callback,
            store: Arc::clone(store),
            key,
            check_nonce,
            since,
            span,
        })
    }
}

impl Engine {
    /// The default deadline: 4 seconds. WeChat gives up on an answer 5 s after it sent the
    /// request (公众号 “被动回复用户消息”, 企业微信 “接收消息”); the deadline is counted from when the
    /// body has been read, so the 1 s left covers the request's and the answer's way over the
    /// network (a connection set up from China to a server abroad, TLS included, takes a few
    /// round trips of 150–300 ms) and any proxy in between.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(4);

    /// An engine for one account, remembering replies for retries in a
    /// [`crate::dedup::MemoryDedupStore`] ([`Dedup::in_memory`]), with the
    /// [default deadline](Engine::DEFAULT_DEADLINE).
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
        let appid = Arc::from(config.receive_id.as_str());
        Ok(Self {
            config,
            crypt,
            router,
            clock: Arc::new(system_now),
            dedup: Some(Dedup::in_memory()),
            deadline: Self::DEFAULT_DEADLINE,
            late_hook: None,
            recorder: None,
            appid,
            account: None,
            metrics: telemetry::Handles::default(),
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

    /// How long the adapters let async and blocking handlers run before they answer
    /// `success` in their place (default [`Engine::DEFAULT_DEADLINE`], 4 s), counted from when
    /// the body has been read. The handler goes on to completion; its reply, too late for the
    /// HTTP answer, goes to the late-reply hook ([`Engine::with_late_reply_hook`]). Synchronous
    /// handlers run inline and cannot be cut short.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets what happens to a reply that comes after the deadline: `hook` gets a
    /// [`LateReply`] (the account's appid, the user's openid, the kind, the `MsgId` and the
    /// reply), typically to send it through the customer-service API (客服消息). Adapters run
    /// the future it returns on their runtime. Without a hook a late reply is logged at `info`
    /// with its `MsgId`, never its content. An empty reply (`success`) is not late news and
    /// never reaches the hook.
    #[must_use]
    pub fn with_late_reply_hook<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(LateReply) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.late_hook = Some(Arc::new(move |late| Box::pin(hook(late))));
        self
    }

    /// Names the account this engine serves (the `id` of the accounts file, the `{id}` of
    /// `/wechat/{id}`): every callback carries it ([`Callback::account_id`]), so handlers
    /// shared across accounts know which one called.
    #[must_use]
    pub fn with_account_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.account = Some(id.into());
        // Handles registered so far carry the old label.
        self.metrics = telemetry::Handles::default();
        self
    }

    /// The account id set with [`Engine::with_account_id`].
    pub fn account_id(&self) -> Option<&str> {
        self.account.as_deref()
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

    /// The retry and replay settings, unless turned off.
    pub fn dedup(&self) -> Option<&Dedup> {
        self.dedup.as_ref()
    }

    /// The deadline for async and blocking handlers ([`Engine::with_deadline`]).
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The codec, when an EncodingAESKey is configured.
    pub(crate) fn crypt(&self) -> Option<&MsgCrypt> {
        self.crypt.as_ref()
    }

    /// The engine's clock, Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Handles one callback on the calling thread and always answers: 200 with the echo or
    /// reply, or the error's status with its reason phrase as the body (the failed check is
    /// logged, never sent).
    ///
    /// Every handler runs here, to the end: async ones on a minimal executor (so they must not
    /// need a runtime's timers or sockets; the adapters run them on theirs, with the deadline),
    /// blocking ones inline. A retry of a message still running waits up to
    /// [`Dedup::retry_wait`], blocking the thread.
    pub fn handle(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        match self.recorded(self.open(&request, None)) {
            Ok(Received::Echostr(echostr)) => echo_response(echostr),
            Ok(Received::Message(callback)) => self.run_to_end(callback).1,
            Err(error) => refuse(&error),
        }
    }

    /// Handles one callback as [`Engine::handle`] does and returns what was received and
    /// answered, for tools and tests.
    ///
    /// # Errors
    /// Any failed check, as listed on [`ErrorKind`].
    pub fn process(&self, request: &http::Request<Bytes>) -> Result<Handled, Error> {
        self.process_on_behalf_of(request, None)
    }

    /// [`Engine::process`] for a callback that arrived at `/{id}/{on_behalf_of}`: an
    /// open-platform authorizer's appid (the console's `$APPID$`) or, on a WeCom suite, the
    /// authorizing corp's corpid (`$CORPID$`, whose receive id its data callbacks carry).
    /// `None` is [`Engine::process`].
    ///
    /// # Errors
    /// Any failed check, as listed on [`ErrorKind`].
    pub fn process_on_behalf_of(
        &self,
        request: &http::Request<Bytes>,
        on_behalf_of: Option<&str>,
    ) -> Result<Handled, Error> {
        match self.recorded(self.open(request, on_behalf_of))? {
            Received::Echostr(echostr) => Ok(Handled {
                response: echo_response(echostr.clone()),
                received: Received::Echostr(echostr),
                reply: None,
                deduplicated: false,
            }),
            Received::Message(callback) => {
                let (reply, response) = self.run_to_end(Arc::clone(&callback));
                Ok(Handled {
                    received: Received::Message(callback),
                    deduplicated: reply.is_none(),
                    reply,
                    response,
                })
            }
        }
    }

    /// The synchronous path after opening: claim, run every handler here, answer. The reply
    /// is `None` when the handlers did not run (a retry).
    fn run_to_end(&self, callback: Arc<Callback>) -> (Option<Reply>, http::Response<Bytes>) {
        let mut claimed = self.claim(callback);
        loop {
            match claimed {
                Claimed::Cached(response) => return (None, response),
                Claimed::Dispatch(inbound) => {
                    let observers = self.observe(&inbound);
                    let reply = match self.dispatch(&inbound) {
                        Dispatch::Ready(reply) => reply,
                        Dispatch::Pending(pending) => block_on(pending.finish(inline_blocking)),
                    };
                    let response = self.respond(inbound, &reply);
                    // No runtime to spawn on: the async observers run here, after the answer
                    // is made, as async handlers do on this path.
                    if let Some(observers) = observers {
                        block_on(observers);
                    }
                    return (Some(reply), response);
                }
                Claimed::Wait(retry) => {
                    let left = self.retry_wait().saturating_sub(retry.waited());
                    if left.is_zero() {
                        return (None, self.give_up(&retry));
                    }
                    retry.wait_blocking(left);
                    claimed = self.reclaim(retry);
                }
                // A shared store's futures run on its own runtime; this thread only waits.
                Claimed::Ask(claiming) => claimed = block_on(self.ask_shared(claiming)),
            }
        }
    }

    /// The first step after the body is read: verify, open, claim ([`Step`]).
    pub(crate) fn receive(&self, request: &http::Request<Bytes>) -> Step {
        self.received(self.open(request, None))
    }

    /// [`Engine::receive`] from the method, query and body.
    pub(crate) fn receive_parts(&self, parts: RequestParts<'_>) -> Step {
        self.received(self.open_parts(parts.method, parts.query, &parts.body, parts.on_behalf_of))
    }

    fn received(&self, opened: Result<Received, Error>) -> Step {
        match self.recorded(opened) {
            Ok(Received::Echostr(echostr)) => Step::Respond(echo_response(echostr)),
            Ok(Received::Message(callback)) => self.claim(callback).into(),
            Err(error) => Step::Respond(refuse(&error)),
        }
    }

    /// Records the callbacks that end as they are opened: URL verification and refusals
    /// (messages are recorded when answered).
    fn recorded(&self, opened: Result<Received, Error>) -> Result<Received, Error> {
        match &opened {
            Ok(Received::Echostr(_)) => {
                self.finish_now(telemetry::KIND_ECHOSTR, "ok", StatusCode::OK);
            }
            Err(error) => {
                self.finish_now(telemetry::KIND_NONE, error.kind().class(), error.status());
            }
            Ok(_) => {}
        }
        opened
    }

    /// The `account` label and span field: the account id, else the appid / corpid.
    fn account_label(&self) -> &Arc<str> {
        self.account.as_ref().unwrap_or(&self.appid)
    }

    /// A span for a callback that ended where it began (URL verification, a refusal).
    fn finish_now(&self, kind: &'static str, outcome: &'static str, status: StatusCode) {
        let account = self.account_label();
        let span = telemetry::short_span(account, kind);
        telemetry::finish(&span, &self.metrics, account, kind, outcome, status, None);
    }

    /// Records the end of a claimed callback.
    fn finish(
        &self,
        span: &tracing::Span,
        callback: &Callback,
        outcome: &'static str,
        status: StatusCode,
        handler: Option<Duration>,
    ) {
        let kind = callback.kind().label();
        telemetry::finish(
            span,
            &self.metrics,
            self.account_label(),
            kind,
            outcome,
            status,
            handler,
        );
    }

    /// Claims a received callback in the dedup store: in place for the in-process store, as
    /// a step to await ([`Claimed::Ask`]) for a shared one.
    fn claim(&self, callback: Arc<Callback>) -> Claimed {
        let received = Instant::now();
        let span = telemetry::span(self.account_label(), &callback);
        let Some(dedup) = self.dedup.as_ref() else {
            return self.unclaimed(callback, received, span);
        };
        // A key function is user code too: one that panics costs its request the dedup
        // check, not the server.
        let key = || dedup.key_for(&callback, self.config.receive_id.is_wecom());
        let key =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(key)).unwrap_or_else(|_| {
                tracing::error!(kind = ?callback.kind(), "dedup key function panicked");
                None
            });
        let check_nonce = dedup.rejects_nonce_replays();
        match (dedup.store_ref(), key) {
            (Store::Shared(store), key) if key.is_some() || check_nonce => {
                Claimed::ask(store, callback, key, check_nonce, received, span)
            }
            (store @ Store::Local(_), Some(key)) => {
                self.ask_store(callback, store.clone(), key, received, span)
            }
            _ => self.unclaimed(callback, received, span),
        }
    }

    /// A callback to dispatch with no dedup claim.
    fn unclaimed(
        &self,
        callback: Arc<Callback>,
        received: Instant,
        span: tracing::Span,
    ) -> Claimed {
        Claimed::Dispatch(Inbound {
            callback,
            claim: None,
            now: self.now(),
            received,
            span,
        })
    }

    /// Asks a shared store (see [`Step::Claim`]): the nonce check on a first ask, then the
    /// claim. A store that fails is the dedup policy's ([`Dedup::fail_closed`]).
    pub(crate) async fn ask_shared(&self, claiming: Claiming) -> Claimed {
        let Claiming {
            callback,
            store,
            key,
            check_nonce,
            since,
            span,
        } = claiming;
        let now = self.now();
        if check_nonce {
            let query = callback.query();
            let digest = crate::dedup::digest(&[callback.fields().source().as_bytes()]);
            let checked = store
                .check_nonce(
                    query.timestamp().unwrap_or_default(),
                    query.nonce().unwrap_or_default(),
                    &digest,
                    now,
                    self.nonce_window_s(),
                )
                .await;
            let refusal = match checked {
                Ok(NonceCheck::OtherBody) => Some(Error::with_detail(
                    ErrorKind::Replay,
                    "timestamp and nonce already used with another body",
                )),
                Ok(_) => None,
                Err(error) => self.store_failed(&span, "check_nonce", error),
            };
            if let Some(error) = refusal {
                self.finish(&span, &callback, error.kind().class(), error.status(), None);
                return Claimed::Cached(refuse(&error));
            }
        }
        let Some(key) = key else {
            return self.unclaimed(callback, since, span);
        };
        match store.claim(&key, now).await {
            Ok(claim) => {
                let store = Store::Shared(store);
                self.claimed(claim, now, callback, store, key, since, span)
            }
            Err(error) => match self.store_failed(&span, "claim", error) {
                Some(error) => {
                    self.finish(&span, &callback, error.kind().class(), error.status(), None);
                    Claimed::Cached(refuse(&error))
                }
                None => self.unclaimed(callback, since, span),
            },
        }
    }

    /// A shared store's failure: logged at `warn` and counted; the error to refuse the
    /// callback with when the policy is fail-closed, `None` to go on without deduplication.
    fn store_failed(&self, span: &tracing::Span, op: &'static str, error: Error) -> Option<Error> {
        let fail_closed = self.dedup.as_ref().is_some_and(Dedup::is_fail_closed);
        telemetry::store_error(self.account_label(), op);
        tracing::warn!(
            parent: span,
            op,
            error = %error,
            fail_closed,
            "dedup store unavailable; {}",
            if fail_closed {
                "refused with 503"
            } else {
                "answering without deduplication"
            }
        );
        fail_closed.then(|| Error::new(ErrorKind::StoreUnavailable).with_source(error))
    }

    /// Asks the store again for a waiting retry.
    fn reclaim(&self, retry: Retry) -> Claimed {
        let Retry {
            callback,
            store,
            key,
            since,
            span,
        } = retry;
        self.ask_store(callback, store, key, since, span)
    }

    /// Claims `key` for `callback` (received at `since`): the cached answer of an earlier
    /// delivery, a wait while one runs, or the handlers to run (a first delivery, or a retry
    /// whose first delivery failed and released its claim).
    fn ask_store(
        &self,
        callback: Arc<Callback>,
        store: Store,
        key: Key,
        since: Instant,
        span: tracing::Span,
    ) -> Claimed {
        let now = self.now();
        let claim = match &store {
            Store::Local(local) => local.claim(&key, now),
            Store::Shared(shared) => {
                return Claimed::ask(shared, callback, Some(key), false, since, span);
            }
        };
        self.claimed(claim, now, callback, store, key, since, span)
    }

    /// What a store's answer (asked at `now`) means for `callback`.
    #[allow(clippy::too_many_arguments)]
    fn claimed(
        &self,
        claim: Claim,
        now: u64,
        callback: Arc<Callback>,
        store: Store,
        key: Key,
        since: Instant,
        span: tracing::Span,
    ) -> Claimed {
        match claim {
            Claim::Done(plain) => {
                tracing::debug!(parent: &span, "retry answered with the cached reply");
                let response = match self.plain_response(&callback, &plain, now) {
                    Ok(response) => {
                        self.finish(&span, &callback, "deduplicated", response.status(), None);
                        response
                    }
                    Err(error) => {
                        self.finish(&span, &callback, error.kind().class(), error.status(), None);
                        refuse(&error)
                    }
                };
                Claimed::Cached(response)
            }
            Claim::Running => Claimed::Wait(Retry {
                callback,
                store,
                key,
                since,
                span,
            }),
            // `First`, and whatever a store may add: run the handlers.
            _ => Claimed::Dispatch(Inbound {
                callback,
                claim: Some(ClaimGuard::new(store, key)),
                now,
                received: since,
                span,
            }),
        }
    }

    pub(crate) fn retry(&self, retry: Retry) -> Step {
        self.reclaim(retry).into()
    }

    /// How long a retry may wait for its first delivery.
    pub(crate) fn retry_wait(&self) -> Duration {
        self.dedup
            .as_ref()
            .map_or(Duration::ZERO, Dedup::retry_wait)
    }

    /// The answer to a retry that waited long enough: `success`.
    pub(crate) fn give_up(&self, retry: &Retry) -> http::Response<Bytes> {
        self.finish(
            &retry.span,
            &retry.callback,
            "deduplicated",
            StatusCode::OK,
            None,
        );
        tracing::warn!(
            parent: &retry.span,
            kind = ?retry.callback.kind(),
            waited_ms = retry.waited().as_millis() as u64,
            "retry arrived while the first delivery was still running; answered success"
        );
        success_response()
    }

    /// Runs the synchronous observers of a callback about to be dispatched, and returns the
    /// async observers' work for the runtime to spawn.
    pub(crate) fn observe(&self, inbound: &Inbound) -> Option<BoxFuture<()>> {
        self.router.observe_callback(&inbound.callback)
    }

    /// Starts the handlers: synchronous ones run here until one answers; an async or blocking
    /// one comes back as [`Dispatch::Pending`]. A handler that panics here is logged and
    /// answered with `success`, so WeChat shows the user nothing broken and the next request
    /// is served.
    pub(crate) fn dispatch(&self, inbound: &Inbound) -> Dispatch {
        let _entered = inbound.span.enter();
        let callback = &inbound.callback;
        let run = std::panic::AssertUnwindSafe(|| match self.router.intercept_before(callback) {
            Some(reply) => Dispatched::Ready(reply),
            None => self.router.run(callback),
        });
        match std::panic::catch_unwind(run) {
            Ok(Dispatched::Ready(reply)) => Dispatch::Ready(reply),
            Ok(Dispatched::Pending(pending)) => Dispatch::Pending(Pending(pending)),
            Err(_) => {
                // The panic message itself went to the panic hook (stderr by default); it is
                // not logged here because a handler may have put message content into it.
                tracing::error!(kind = ?callback.kind(), "handler panicked; answered success");
                Dispatch::Ready(Reply::Empty)
            }
        }
    }

    /// The answer for `reply`: `success`, the reply XML, or its encrypted envelope; the dedup
    /// claim completed with it.
    pub(crate) fn respond(&self, inbound: Inbound, reply: &Reply) -> http::Response<Bytes> {
        let handler_time = inbound.elapsed();
        let Inbound {
            callback,
            claim,
            now,
            span,
            ..
        } = inbound;
        let (outcome, response) = match self.respond_with(&callback, claim, now, reply) {
            Ok(response) => ("ok", response),
            Err(error) => (error.kind().class(), refuse(&error)),
        };
        self.finish(
            &span,
            &callback,
            outcome,
            response.status(),
            Some(handler_time),
        );
        response
    }

    /// [`Engine::respond`]'s answer, or why it could not be made: the reply cannot be
    /// rendered (a callback encrypted without a key), or a cached body is not UTF-8. The
    /// claim is released then, so a retry runs the handlers again.
    fn respond_with(
        &self,
        callback: &Callback,
        claim: Option<ClaimGuard>,
        now: u64,
        reply: &Reply,
    ) -> Result<http::Response<Bytes>, Error> {
        let intercepted;
        let reply = if self.router.intercepts() {
            intercepted = self.router.intercept_after(callback, reply.clone());
            &intercepted
        } else {
            reply
        };
        let Some(claim) = claim else {
            if reply.is_empty() {
                return Ok(success_response());
            }
            // Randomness only where it is used: to frame and sign an encrypted reply.
            let (random, nonce) = if callback.is_encrypted() {
                (rand::random(), rand::random())
            } else {
                ([0; 16], 0)
            };
            return self
                .render(callback, reply, &random, nonce)
                .map(|body| body_response(callback.format(), body));
        };
        let head = callback.head();
        let plain = plain_reply(
            callback,
            reply,
            &head.from_user_name,
            &head.to_user_name,
            now,
        );
        // On an error the claim is dropped, so released: a retry runs the handlers again.
        let response = self.plain_response(callback, &plain, now)?;
        claim.complete(plain, now);
        Ok(response)
    }

    /// The answer when the deadline passed before the handlers answered: `success`, recorded
    /// for the retries; and who the late reply will be for.
    pub(crate) fn respond_late(&self, inbound: Inbound) -> (http::Response<Bytes>, Late) {
        let Inbound {
            callback,
            claim,
            now,
            span,
            ..
        } = inbound;
        self.finish(&span, &callback, "late", StatusCode::OK, None);
        if let Some(claim) = claim {
            claim.complete(Bytes::from_static(SUCCESS), now);
        }
        let late = Late {
            appid: Arc::clone(&self.appid),
            callback,
        };
        (success_response(), late)
    }

    /// Hands a late reply to the hook (the future to run), or logs it when there is none.
    pub(crate) fn late_reply(&self, late: Late, reply: Reply) -> Option<BoxFuture<()>> {
        let reply = self.router.intercept_after(&late.callback, reply);
        if reply.is_empty() {
            return None;
        }
        let late = LateReply::new(late, reply);
        match &self.late_hook {
            Some(hook) => Some(hook(late)),
            None => {
                tracing::info!(
                    kind = ?late.kind,
                    msg_id = late.msg_id.as_deref().unwrap_or(""),
                    "reply after the deadline dropped: no late-reply hook"
                );
                None
            }
        }
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
        let format = callback.format();
        if !callback.is_encrypted() {
            return Ok(body_response(format, plain.clone()));
        }
        let text = simdutf8::compat::from_utf8(plain).map_err(|error| {
            Error::with_detail(
                ErrorKind::Config,
                "dedup store returned a body that is not UTF-8",
            )
            .with_source(error)
        })?;
        let receive_id = self.reply_receive_id(callback);
        let body = self.seal(
            format,
            receive_id,
            &rand::random(),
            rand::random(),
            now,
            text.len(),
            |out| out.push_str(text),
        )?;
        Ok(body_response(format, body))
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
    ) -> Result<Bytes, Error> {
        let now = self.now();
        let head = callback.head();
        let (to, from) = (&*head.from_user_name, &*head.to_user_name);
        if reply.is_empty() || !callback.is_encrypted() {
            return Ok(plain_reply(callback, reply, to, from, now));
        }
        let receive_id = self.reply_receive_id(callback);
        if callback.format() == BodyFormat::Json {
            let json = reply.to_json(to, from, now);
            return self.seal(
                BodyFormat::Json,
                receive_id,
                random,
                nonce,
                now,
                json.len(),
                |out| out.push_str(&json),
            );
        }
        let len_hint = reply.xml_len_estimate(to, from, now);
        self.seal(
            BodyFormat::Xml,
            receive_id,
            random,
            nonce,
            now,
            len_hint,
            |out| reply.write_xml(out, to, from, now),
        )
    }

    /// The receive id a reply to `callback` is encrypted for: the authorizing corp's corpid
    /// for a WeCom suite's data callback, the configured id otherwise.
    fn reply_receive_id<'a>(&'a self, callback: &'a Callback) -> &'a str {
        match callback.on_behalf_of() {
            Some(corpid) if self.config.platform == crate::config::Platform::WeComSuite => corpid,
            _ => self.config.receive_id.as_str(),
        }
    }

    /// The encrypted reply envelope (XML or JSON, as `format`) for the plaintext `write`
    /// appends (about `len_hint` bytes), framed with `random`, signed with `nonce` and
    /// `TimeStamp` = `now`. The plaintext is framed and encrypted in this thread's scratch
    /// buffer; the envelope is written once, exactly sized.
    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        format: BodyFormat,
        receive_id: &str,
        random: &[u8; 16],
        nonce: u32,
        now: u64,
        len_hint: usize,
        write: impl FnOnce(&mut String),
    ) -> Result<Bytes, Error> {
        let crypt = self
            .crypt
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Config))?;
        let mut nonce_text = itoa::Buffer::new();
        let nonce = nonce_text.format(nonce);
        let envelope = scratch::with_buffer(|buf| {
            crypt.encrypt_framed_into(buf, random, len_hint, write, receive_id);
            match format {
                BodyFormat::Xml => seal_envelope(&self.config.token, buf, now, nonce),
                BodyFormat::Json => seal_json_envelope(&self.config.token, buf, now, nonce),
            }
        });
        Ok(Bytes::from(envelope))
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
pub(crate) const NONCE_WINDOW_WITHOUT_TOLERANCE_S: u64 = 600;

const SUCCESS: &[u8] = b"success";

fn xml_response(body: Bytes) -> http::Response<Bytes> {
    ok_response(XML, body)
}

/// A reply body in its format: XML, or JSON for a mini-program in JSON format.
fn body_response(format: BodyFormat, body: Bytes) -> http::Response<Bytes> {
    match format {
        BodyFormat::Xml => xml_response(body),
        BodyFormat::Json => ok_response(JSON, body),
    }
}

/// The plaintext reply for `callback` in its body's format (`success` when empty). XML is
/// written in one pass into this thread's scratch buffer and copied into a body of exactly its
/// size.
fn plain_reply(callback: &Callback, reply: &Reply, to: &str, from: &str, now: u64) -> Bytes {
    if reply.is_empty() {
        return Bytes::from_static(SUCCESS);
    }
    match callback.format() {
        BodyFormat::Xml => scratch::with_text(|out| {
            out.reserve(reply.xml_len_estimate(to, from, now));
            reply.write_xml(out, to, from, now);
            Bytes::copy_from_slice(out.as_bytes())
        }),
        BodyFormat::Json => Bytes::from(reply.to_json(to, from, now)),
    }
}

pub(crate) fn success_response() -> http::Response<Bytes> {
    ok_response(TEXT, Bytes::from_static(SUCCESS))
}

pub(crate) fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, Error> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::with_detail(ErrorKind::InvalidSignature, format!("no {name}")))
}

/// The `Content-Type`s of responses, checked when compiling rather than on every response.
const XML: HeaderValue = HeaderValue::from_static("application/xml; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// A `200 OK` response of `body` with `content_type` (one of the constants above).
pub(crate) fn ok_response(content_type: HeaderValue, body: Bytes) -> http::Response<Bytes> {
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

/// The response for a failed callback: the error's status, its reason phrase as the body.
pub(crate) fn error_response(error: &Error) -> http::Response<Bytes> {
    let mut response = ok_response(TEXT, Bytes::from_static(error.body_text().as_bytes()));
    *response.status_mut() = error.status();
    if error.status() == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    }
    response
}

fn echo_response(echostr: String) -> http::Response<Bytes> {
    ok_response(TEXT, Bytes::from(echostr))
}

impl From<Claimed> for Step {
    fn from(claimed: Claimed) -> Self {
        match claimed {
            Claimed::Dispatch(inbound) => Step::Dispatch(inbound),
            Claimed::Cached(response) => Step::Respond(response),
            Claimed::Wait(retry) => Step::Wait(retry),
            Claimed::Ask(claiming) => Step::Claim(claiming),
        }
    }
}
