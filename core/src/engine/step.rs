//! The engine's work split at the handler call, so a runtime can await between the steps
//! (the sans-IO split of rustls and quinn-proto). See [`crate::adapter`].

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use bytestring::ByteString;

use crate::callback::Callback;
use crate::dedup::{AsyncDedupStore, Key, Store};
use crate::message::Kind;
use crate::query::CallbackQuery;
use crate::reply::Reply;
use crate::router::{BlockingJob, Pending as RouterPending};

/// What the engine made of a request before any handler ran
/// ([`adapter::receive`](crate::adapter::receive)).
#[derive(Debug)]
#[non_exhaustive]
pub enum Step {
    /// The answer is known: URL verification, a refusal, or a retry answered from the dedup
    /// store.
    Respond(http::Response<Bytes>),
    /// Run the handlers ([`adapter::dispatch`](crate::adapter::dispatch)), then answer
    /// ([`adapter::respond`](crate::adapter::respond)).
    Dispatch(Inbound),
    /// A retry whose first delivery is still running: wait without blocking a thread, then
    /// ask again ([`adapter::retry`](crate::adapter::retry)), until
    /// [`Retry::waited`] reaches [`Dedup::retry_wait`](crate::dedup::Dedup::retry_wait) or the
    /// deadline; then answer `success` ([`adapter::give_up`](crate::adapter::give_up)).
    Wait(Retry),
    /// Ask the [shared dedup store](crate::dedup::AsyncDedupStore) (Redis) whether this
    /// callback was delivered before, awaiting it ([`adapter::claim`](crate::adapter::claim)),
    /// then go on with the step it gives. Never comes from the in-process store.
    Claim(Claiming),
}

/// A callback whose dedup claim (and nonce check) waits on a shared store's answer.
pub struct Claiming {
    pub(crate) callback: Arc<Callback>,
    pub(crate) store: Arc<dyn AsyncDedupStore>,
    /// `None` when the callback has no dedup key (only its nonce is checked).
    pub(crate) key: Option<Key>,
    /// Whether to check the `timestamp` + `nonce` pair first (a first ask, not a retry's).
    pub(crate) check_nonce: bool,
    pub(crate) since: Instant,
    pub(crate) span: tracing::Span,
}

impl Claiming {
    /// The callback.
    pub fn callback(&self) -> &Arc<Callback> {
        &self.callback
    }
}

impl std::fmt::Debug for Claiming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claiming")
            .field("kind", &self.callback.kind())
            .field("keyed", &self.key.is_some())
            .field("check_nonce", &self.check_nonce)
            .finish_non_exhaustive()
    }
}

/// A verified callback whose handlers are to run, holding its dedup claim: dropped without
/// an answer, it releases the claim, so a retry runs the handlers again.
pub struct Inbound {
    pub(crate) callback: Arc<Callback>,
    pub(crate) claim: Option<ClaimGuard>,
    /// The engine's clock when the callback was received, Unix seconds.
    pub(crate) now: u64,
    pub(crate) received: Instant,
    pub(crate) span: tracing::Span,
}

impl Inbound {
    /// The callback.
    pub fn callback(&self) -> &Arc<Callback> {
        &self.callback
    }

    /// The callback's `wechat_callback` span (see [`crate::telemetry`]): adapters run the
    /// handlers' work inside it, so what handlers log carries the account and kind.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// How long ago the callback was received (its body read), by the monotonic clock.
    pub fn elapsed(&self) -> std::time::Duration {
        self.received.elapsed()
    }
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("kind", &self.callback.kind())
            .field("claimed", &self.claim.is_some())
            .finish_non_exhaustive()
    }
}

/// A retry waiting for its first delivery.
pub struct Retry {
    pub(crate) callback: Arc<Callback>,
    pub(crate) store: Store,
    pub(crate) key: Key,
    pub(crate) since: Instant,
    pub(crate) span: tracing::Span,
}

impl Retry {
    /// How long this retry has waited so far.
    pub fn waited(&self) -> std::time::Duration {
        self.since.elapsed()
    }

    /// Blocks the calling thread until the store has news or `timeout` passes (see
    /// [`DedupStore::wait`](crate::dedup::DedupStore::wait) and
    /// [`AsyncDedupStore::wait`]); for synchronous hosts.
    pub fn wait_blocking(&self, timeout: std::time::Duration) {
        match &self.store {
            Store::Local(store) => store.wait(&self.key, timeout),
            Store::Shared(store) => crate::router::block_on(store.wait(&self.key, timeout)),
        }
    }

    /// For a [shared store](AsyncDedupStore): the future that completes when the first
    /// delivery may have finished (woken by the store) or after `timeout`. `None` for the
    /// in-process store: sleep a short while ([`RETRY_POLL`](crate::adapter::RETRY_POLL)) and
    /// ask again.
    pub fn wait_shared(
        &self,
        timeout: std::time::Duration,
    ) -> Option<crate::router::BoxFuture<()>> {
        match &self.store {
            Store::Local(_) => None,
            Store::Shared(store) => Some(store.wait(&self.key, timeout)),
        }
    }
}

impl std::fmt::Debug for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("kind", &self.callback.kind())
            .field("waited", &self.since.elapsed())
            .finish_non_exhaustive()
    }
}

/// A dedup claim, released when dropped unless completed.
pub(crate) struct ClaimGuard {
    pub(crate) store: Store,
    pub(crate) key: Key,
    completed: bool,
}

impl ClaimGuard {
    pub(crate) fn new(store: Store, key: Key) -> Self {
        Self {
            store,
            key,
            completed: false,
        }
    }

    /// Records the delivery's plaintext answer for its retries.
    pub(crate) fn complete(mut self, body: Bytes, now: u64) {
        self.store.complete(&self.key, body, now);
        self.completed = true;
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.completed {
            self.store.release(&self.key);
        }
    }
}

/// What [`adapter::dispatch`](crate::adapter::dispatch) gave.
#[derive(Debug)]
#[non_exhaustive]
pub enum Dispatch {
    /// A synchronous handler answered (or every handler declined: [`Reply::Empty`]).
    Ready(Reply),
    /// An async or blocking handler is to run: [`Pending::finish`] on the runtime.
    Pending(Pending),
}

/// Async or blocking handler work, and the rest of the handler chain after it.
pub struct Pending(pub(crate) RouterPending);

impl Pending {
    /// Runs the work and the rest of the chain to the reply: async handlers are awaited
    /// here, blocking ones handed to `spawn_blocking` (`tokio::task::spawn_blocking`), which
    /// reports `Err` when the job panicked. A handler that panics is logged and answered
    /// `success`. Spawn this on the runtime to let it finish after the deadline.
    pub async fn finish<B, F, E>(self, spawn_blocking: B) -> Reply
    where
        B: Fn(BlockingJob) -> F,
        F: std::future::Future<Output = Result<Option<Reply>, E>>,
    {
        self.0.finish(spawn_blocking).await
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("kind", &self.0.callback().kind())
            .finish_non_exhaustive()
    }
}

/// Who a late reply is for: taken when the deadline passed, handed with the reply to the
/// late-reply hook once the handler finishes ([`adapter::late_reply`](crate::adapter::late_reply)).
#[derive(Debug, Clone)]
pub struct Late {
    pub(crate) appid: Arc<str>,
    pub(crate) callback: Arc<Callback>,
}

/// A reply that came after the engine's deadline, when the HTTP answer (`success`) had already
/// gone: what the late-reply hook gets ([`Engine::with_late_reply_hook`](crate::Engine::with_late_reply_hook)),
/// to send it through the customer-service API (客服消息, within 48 hours of the user's
/// message) instead.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LateReply {
    /// The account's receive id: its appid (WeCom: corpid).
    pub appid: Arc<str>,
    /// The user to answer: the callback's `FromUserName` (official accounts: openid; WeCom:
    /// userid).
    pub openid: ByteString,
    /// The callback's kind.
    pub kind: Kind,
    /// The callback's `MsgId` (or `MsgID`), when it has one.
    pub msg_id: Option<ByteString>,
    /// The reply the handlers gave.
    pub reply: Reply,
}

impl LateReply {
    pub(crate) fn new(late: Late, reply: Reply) -> Self {
        let callback = late.callback;
        let fields = callback.fields();
        let msg_id = fields
            .child("MsgId")
            .or_else(|| fields.child("MsgID"))
            .map(|e| e.shared_text())
            .filter(|id| !id.is_empty());
        Self {
            appid: late.appid,
            openid: callback.head().from_user_name.clone(),
            kind: callback.kind(),
            msg_id,
            reply,
        }
    }
}

/// What the engine reads of a request, for frameworks that hand these over apart (warp,
/// actix-web) and for callbacks received on behalf of another account.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    /// `GET` (URL verification) or `POST`; any other is answered 405.
    pub method: &'a str,
    /// The query string.
    pub query: CallbackQuery,
    /// The whole body.
    pub body: Bytes,
    /// The account the callback is for when it is not the engine's own: an open-platform
    /// authorizer's appid (the `$APPID$` of the console's URL, `/wechat/{id}/{authorizer_appid}`),
    /// or the corpid of a corp that authorized a WeCom suite (`$CORPID$`, `/wechat/{id}/{corpid}`:
    /// its data callbacks are encrypted for that corpid, and so is the reply).
    /// Handlers read it from [`Callback::on_behalf_of`](crate::Callback::on_behalf_of).
    pub on_behalf_of: Option<&'a str>,
}
