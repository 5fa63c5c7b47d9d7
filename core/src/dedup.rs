//! Retries without double work, and replayed nonces refused.
//!
//! WeChat retries a callback up to three times when it gets no answer within 5 seconds
//! (公众号 “接收普通消息”: “微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次”).
//! The engine keeps each message's reply in a [`DedupStore`] under a key that names the message
//! ([`Dedup::key`]): a retry of a message whose handlers already ran gets the same reply again
//! (re-encrypted with a fresh nonce where the request was encrypted) without running them; a
//! retry that arrives while the first is still running waits for it, up to
//! [`Dedup::retry_wait`].
//!
//! Keys follow the official rule (“关于重试的消息排重，推荐使用msgid排重。事件类型消息，推荐使用
//! FromUserName + CreateTime 排重”): `MsgId` for messages; `FromUserName` + `CreateTime` +
//! `Event` + `EventKey` for events. WeCom system events (`change_contact`, approval changes)
//! come from one sender many times a second, so on WeCom accounts an event key also carries the
//! SHA-1 of the decrypted message; [`Dedup::with_key`] replaces the key of any kind.
//!
//! The store also backs the optional nonce replay check ([`Dedup::reject_nonce_replays`]).
//!
//! Two kinds of store: a [`DedupStore`] is in process and synchronous ([`MemoryDedupStore`],
//! the default: a mutex and a map, no future, no allocation beyond the entry); an
//! [`AsyncDedupStore`] is shared by replicas over the network (`wechat-callback-redis`), so a
//! retry that WeChat delivers to another replica behind the load balancer still gets the
//! first reply. Its lookups are futures that the adapters await
//! ([`adapter::claim`](crate::adapter::claim)), so no runtime worker blocks on the network;
//! its writes start in the background and return at once. When it cannot be reached the
//! engine answers without deduplication (fail-open, the default: logged at `warn` and counted
//! in `wechat_dedup_store_errors_total`), or refuses with 503 so WeChat retries later
//! ([`Dedup::fail_closed`]).

mod memory;

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use arrayvec::ArrayString;
use bytes::Bytes;

use crate::callback::Callback;
use crate::error::Error;
use crate::message::Kind;
pub use crate::router::BoxFuture;
use crate::signature::Digest20;

pub use memory::MemoryDedupStore;

/// How long the in-memory store remembers a message: 30 seconds, longer than WeChat's three
/// retries (about 5 s apart) take.
pub const DEFAULT_TTL_S: u64 = 30;

/// The in-memory store's default cap on remembered messages (and, separately, nonces): 65,536.
pub const DEFAULT_MAX_ENTRIES: usize = 65_536;

/// The in-memory store's default cap on the bytes of cached replies plus bookkeeping: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// How long a retry waits for the first delivery of its message to finish by default:
/// 4 seconds, under the 5 s WeChat waits for an answer.
pub const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(4);

/// What [`DedupStore::claim`] found for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Nothing recent: the caller runs the handlers and then calls [`DedupStore::complete`]
    /// (or [`DedupStore::release`] when it could not finish).
    First,
    /// A delivery of this message already finished; this is its plaintext response body
    /// (`success` or the reply XML, before encryption).
    Done(Bytes),
    /// A delivery of this message is still running: ask again later
    /// ([`DedupStore::wait`] blocks until something changes, for synchronous callers;
    /// adapters wait without blocking a thread).
    Running,
}

/// What [`DedupStore::check_nonce`] found for a `timestamp` + `nonce` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceCheck {
    /// Not seen within the window; now recorded with this body's digest.
    New,
    /// Seen with the same body: a retry.
    SameBody,
    /// Seen with a different body: a replayed signature.
    OtherBody,
}

/// Where the engine remembers recent messages (and nonces). Synchronous and expected to be
/// quick: [`MemoryDedupStore`] takes a mutex for a map lookup. A store that does network I/O
/// blocks the calling thread for it.
///
/// Keys are short strings built by [`Dedup::key`]; an implementation may hash them.
/// [`MemoryDedupStore`] is the default.
pub trait DedupStore: Send + Sync + 'static {
    /// Claims `key` for a first delivery, or reports an earlier one, finished or still
    /// running. Never waits. `now` is the engine's clock, Unix seconds.
    fn claim(&self, key: &str, now: u64) -> Claim;

    /// Blocks the calling thread for at most `timeout` or until a delivery completes or is
    /// released (any key), for synchronous callers waiting on a [`Claim::Running`]. The
    /// default sleeps 10 ms (or `timeout`, if shorter); callers ask again either way.
    fn wait(&self, key: &str, timeout: Duration) {
        let _ = key;
        std::thread::sleep(timeout.min(Duration::from_millis(10)));
    }

    /// Records the plaintext response body of the delivery that claimed `key`, for the
    /// retries that wait for it or come later.
    fn complete(&self, key: &str, body: Bytes, now: u64);

    /// Forgets the claim on `key` of a delivery that could not finish, so a retry runs the
    /// handlers again.
    fn release(&self, key: &str);

    /// Records `digest` (SHA-1 of the body) for `timestamp` + `nonce` for `window_s` seconds
    /// and says whether the pair was seen before, with which body.
    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: &Digest20,
        now: u64,
        window_s: u64,
    ) -> NonceCheck;
}

/// A dedup store shared by several processes over the network (Redis:
/// `wechat_callback_redis::RedisDedupStore`), so that a retry reaching another replica gets
/// the first delivery's reply and the handlers run once across the replicas.
///
/// The lookups ([`claim`](Self::claim), [`check_nonce`](Self::check_nonce),
/// [`wait`](Self::wait)) are `'static` futures the adapters await; they must work on
/// whatever executor polls them (a store on tokio spawns its I/O on its own runtime and hands
/// back the join handle), because [`crate::Engine::handle`] blocks on them in place. The
/// writes ([`complete`](Self::complete), [`release`](Self::release)) must return at once: start
/// the write in the background. An `Err` (an [`ErrorKind::StoreUnavailable`](crate::ErrorKind::StoreUnavailable))
/// means the store could not answer; the engine then applies its policy (see the
/// [module docs](self)). Keys are the engine's ([`Dedup::key`]); the store adds its own
/// namespace (account, prefix).
pub trait AsyncDedupStore: Send + Sync + 'static {
    /// As [`DedupStore::claim`], over the network: claims `key` for a first delivery or reports
    /// an earlier one. `now` is the engine's clock, Unix seconds.
    fn claim(&self, key: &str, now: u64) -> BoxFuture<Result<Claim, Error>>;

    /// Completes when a delivery of `key` may have completed or been released (on any
    /// replica), or after `timeout`; the engine then claims again. Wakes promptly (Redis:
    /// pub/sub), never later than `timeout`.
    fn wait(&self, key: &str, timeout: Duration) -> BoxFuture<()>;

    /// As [`DedupStore::complete`]; returns at once, the write done in the background.
    fn complete(&self, key: &str, body: Bytes, now: u64);

    /// As [`DedupStore::release`]; returns at once, the write done in the background.
    fn release(&self, key: &str);

    /// As [`DedupStore::check_nonce`], over the network. `digest` is the SHA-1 of the
    /// (decrypted) message.
    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: &Digest20,
        now: u64,
        window_s: u64,
    ) -> BoxFuture<Result<NonceCheck, Error>>;
}

/// The engine's store: in process (asked in place) or shared (awaited).
#[derive(Clone)]
pub(crate) enum Store {
    Local(Arc<dyn DedupStore>),
    Shared(Arc<dyn AsyncDedupStore>),
}

impl Store {
    pub(crate) fn complete(&self, key: &str, body: Bytes, now: u64) {
        match self {
            Self::Local(store) => store.complete(key, body, now),
            Self::Shared(store) => store.complete(key, body, now),
        }
    }

    pub(crate) fn release(&self, key: &str) {
        match self {
            Self::Local(store) => store.release(key),
            Self::Shared(store) => store.release(key),
        }
    }
}

/// A key function: the dedup key of a request, or `None` to run its handlers every time.
pub(crate) type KeyFn = Arc<dyn Fn(&Callback) -> Option<String> + Send + Sync>;

/// The engine's retry and replay settings: the store, the wait, key overrides and the nonce
/// check. [`crate::Engine`] uses [`Dedup::in_memory`] unless given another
/// ([`crate::Engine::with_dedup`]) or none ([`crate::Engine::without_dedup`]).
#[derive(Clone)]
pub struct Dedup {
    store: Store,
    retry_wait: Duration,
    keys: HashMap<Kind, KeyFn>,
    nonce_replays: bool,
    fail_closed: bool,
}

impl fmt::Debug for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut overridden: Vec<Kind> = self.keys.keys().copied().collect();
        overridden.sort();
        f.debug_struct("Dedup")
            .field("retry_wait", &self.retry_wait)
            .field("key_overrides", &overridden)
            .field("reject_nonce_replays", &self.nonce_replays)
            .field("shared_store", &matches!(self.store, Store::Shared(_)))
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl Default for Dedup {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl Dedup {
    /// A [`MemoryDedupStore`] with its defaults (30 s, 65,536 entries, 64 MiB), retries waiting
    /// up to [`DEFAULT_RETRY_WAIT`], the official keys, no nonce check.
    pub fn in_memory() -> Self {
        Self::new(MemoryDedupStore::default())
    }

    /// Settings over an in-process `store`.
    pub fn new(store: impl DedupStore) -> Self {
        Self::over(Store::Local(Arc::new(store)))
    }

    /// Settings over a `store` shared by replicas over the network (see [`AsyncDedupStore`]):
    /// fail-open unless [`Dedup::fail_closed`].
    pub fn shared(store: impl AsyncDedupStore) -> Self {
        Self::over(Store::Shared(Arc::new(store)))
    }

    fn over(store: Store) -> Self {
        Self {
            store,
            retry_wait: DEFAULT_RETRY_WAIT,
            keys: HashMap::new(),
            nonce_replays: false,
            fail_closed: false,
        }
    }

    /// When the [shared store](Dedup::shared) cannot be reached, refuses callbacks with
    /// [`ErrorKind::StoreUnavailable`](crate::ErrorKind::StoreUnavailable) (503: WeChat retries
    /// them, up to three times in about 15 s) instead of the default, fail-open: answer
    /// without deduplication, so a retry may run the handlers again. Fail-closed suits handlers
    /// that must never run twice (a payment, a coupon); fail-open keeps the bot answering
    /// while Redis is down. Either way each failure is logged at `warn` and counted.
    #[must_use]
    pub fn fail_closed(mut self) -> Self {
        self.fail_closed = true;
        self
    }

    /// Whether a store failure refuses the callback ([`Dedup::fail_closed`]).
    pub fn is_fail_closed(&self) -> bool {
        self.fail_closed
    }

    /// How long a retry waits for a first delivery that is still running (default 4 s). When
    /// the wait runs out the retry is answered `success` without running the handlers: WeChat
    /// then stops retrying, and the user sees nothing broken.
    #[must_use]
    pub fn with_retry_wait(mut self, wait: Duration) -> Self {
        self.retry_wait = wait;
        self
    }

    /// Replaces the key of `kind` with `key` (for example to add `ChangeType` and `UserID` to
    /// WeCom `change_contact` events). Returning `None` runs the handlers for every delivery.
    #[must_use]
    pub fn with_key(
        mut self,
        kind: Kind,
        key: impl Fn(&Callback) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.keys.insert(kind, Arc::new(key));
        self
    }

    /// Refuses a request whose `timestamp` + `nonce` came before with a different body, as
    /// [`crate::ErrorKind::Replay`]; the same body again is a retry. Checked after the
    /// signature, so only signed requests are recorded; a record lasts twice the timestamp
    /// tolerance ([`crate::Config::with_timestamp_tolerance`]), or 10 minutes without one.
    /// Matters most in plaintext mode, where `signature` does not cover the body. Bodies are
    /// told apart by SHA-1: a plaintext body by its own; an encrypted one, in process, by the
    /// verified `msg_signature` (already a SHA-1 over `Encrypt`), and with a shared store by
    /// the decrypted message's.
    #[must_use]
    pub fn reject_nonce_replays(mut self) -> Self {
        self.nonce_replays = true;
        self
    }

    /// Whether the nonce replay check is on.
    pub fn rejects_nonce_replays(&self) -> bool {
        self.nonce_replays
    }

    /// How long a retry waits for a running first delivery.
    pub fn retry_wait(&self) -> Duration {
        self.retry_wait
    }

    /// The store, borrowed.
    pub(crate) fn store_ref(&self) -> &Store {
        &self.store
    }

    /// The in-process store; `None` for a [shared](Dedup::shared) one.
    pub fn store(&self) -> Option<&dyn DedupStore> {
        match &self.store {
            Store::Local(store) => Some(&**store),
            Store::Shared(_) => None,
        }
    }

    /// The dedup key of `request`: the override for its kind if one was set, otherwise the
    /// official rule. `wecom` adds the message digest to event keys (see the
    /// [module docs](self)). `None` when the request carries too little to tell deliveries
    /// apart (no `MsgId`, and no `FromUserName` or `CreateTime`).
    ///
    /// Shapes: `msg|{ToUserName}|{MsgId}`; messages without `MsgId`:
    /// `msg|{ToUserName}|{FromUserName}|{CreateTime}|{MsgType}`; events:
    /// `evt|{ToUserName}|{FromUserName}|{CreateTime}|{Event}|{EventKey}[|{sha1 hex}]`;
    /// `InfoType` pushes: `info|{ToUserName}|{InfoType}|{sha1 hex of the body}`.
    pub fn key(&self, callback: &Callback, wecom: bool) -> Option<String> {
        self.key_for(callback, wecom).map(Key::into_string)
    }

    /// [`Dedup::key`] as the engine carries it: inline when short.
    pub(crate) fn key_for(&self, callback: &Callback, wecom: bool) -> Option<Key> {
        match self.keys.get(&callback.kind()) {
            Some(key) => key(callback).map(Key::Heap),
            None => official(callback, wecom),
        }
    }
}

/// The longest key held inline, in bytes: a message's official key
/// (`msg|{ToUserName}|{MsgId}`) is about 40, an event's with a short `EventKey` about 80.
const INLINE_KEY: usize = 128;

/// A dedup key as the engine carries it from the claim to the completion: inline (no
/// allocation) when it fits in [`INLINE_KEY`] bytes, as the official keys of messages and of
/// most events do; on the heap when longer, or when a [key override](Dedup::with_key)
/// returned it as a `String`. No `Debug`: keys carry openids, and nothing logs them.
#[derive(Clone)]
pub(crate) enum Key {
    Inline(ArrayString<INLINE_KEY>),
    Heap(String),
}

impl Key {
    fn into_string(self) -> String {
        match self {
            Self::Inline(key) => key.as_str().to_owned(),
            Self::Heap(key) => key,
        }
    }
}

impl Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Self::Inline(key) => key,
            Self::Heap(key) => key,
        }
    }
}

/// The official dedup key of `request` (see [`Dedup::key`]).
pub fn official_key(callback: &Callback, wecom: bool) -> Option<String> {
    official(callback, wecom).map(Key::into_string)
}

fn official(callback: &Callback, wecom: bool) -> Option<Key> {
    let head = callback.head();
    let fields = callback.fields();
    let to = &*head.to_user_name;
    let from = &*head.from_user_name;
    let mut create_time = itoa::Buffer::new();
    let create_time = create_time.format(head.create_time);
    let anonymous = from.is_empty() || head.create_time == 0;
    if let Some(info_type) = head
        .info_type
        .as_deref()
        .filter(|_| head.msg_type.is_empty())
    {
        // InfoType pushes carry no sender and no MsgId (WeCom suites not even CreateTime): a
        // retry repeats the decrypted body exactly, so its digest tells deliveries apart
        // (two contact changes in one second stay two: WxJava #3445).
        let digest = digest(&[fields.source().as_bytes()]);
        let hex = crate::signature::to_hex_array(&digest);
        return Some(join(
            &["info", to, info_type],
            std::str::from_utf8(&hex).ok(),
        ));
    }
    if let Some(event) = &head.event {
        if anonymous {
            return None;
        }
        let event_key = fields.child_text("EventKey").unwrap_or_default();
        let parts = ["evt", to, from, create_time, event, event_key];
        if !wecom {
            return Some(join(&parts, None));
        }
        let digest = digest(&[fields.source().as_bytes()]);
        let hex = crate::signature::to_hex_array(&digest);
        return Some(join(&parts, std::str::from_utf8(&hex).ok()));
    }
    let msg_id = fields
        .child_text("MsgId")
        .or_else(|| fields.child_text("MsgID"))
        .filter(|id| !id.is_empty());
    match msg_id {
        Some(msg_id) => Some(join(&["msg", to, msg_id], None)),
        None if anonymous => None,
        None => Some(join(&["msg", to, from, create_time, &head.msg_type], None)),
    }
}

/// `parts` (and `last`) joined with `|`: inline when the key fits, otherwise in one exactly
/// sized allocation.
fn join(parts: &[&str], last: Option<&str>) -> Key {
    let len = parts
        .iter()
        .chain(&last)
        .map(|p| p.len() + 1)
        .sum::<usize>()
        .saturating_sub(1);
    if len <= INLINE_KEY {
        let mut key = ArrayString::new();
        push_joined(parts, last, |part| key.push_str(part));
        return Key::Inline(key);
    }
    let mut key = String::with_capacity(len);
    push_joined(parts, last, |part| key.push_str(part));
    Key::Heap(key)
}

/// Hands `parts` (and `last`) to `push` in order, with a `|` between each two.
fn push_joined(parts: &[&str], last: Option<&str>, mut push: impl FnMut(&str)) {
    for (i, part) in parts.iter().chain(&last).enumerate() {
        if i > 0 {
            push("|");
        }
        push(part);
    }
}

/// SHA-1 over `parts`, each preceded by its length, so that no two part lists collide.
pub(crate) fn digest(parts: &[&[u8]]) -> Digest20 {
    use sha1::{Digest as _, Sha1};
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_inline_and_long_ones_on_the_heap_with_the_same_text() {
        let key = join(&["msg", "gh_0123456789ab", "24123456789012345678"], None);
        assert!(matches!(key, Key::Inline(_)));
        assert_eq!(&*key, "msg|gh_0123456789ab|24123456789012345678");

        // Exactly INLINE_KEY bytes still fit; one more does not.
        let fill = "k".repeat(INLINE_KEY - "evt|a|".len());
        let at_limit = join(&["evt", "a"], Some(&fill));
        assert!(matches!(at_limit, Key::Inline(_)));
        assert_eq!(at_limit.len(), INLINE_KEY);
        let over = join(&["evt", "a"], Some(&format!("{fill}k")));
        assert!(matches!(over, Key::Heap(_)));
        assert_eq!(over.len(), INLINE_KEY + 1);
        assert_eq!(&*over, format!("evt|a|{fill}k"));
        assert_eq!(over.clone().into_string(), &*over);
        assert_eq!(at_limit.clone().into_string(), &*at_limit);

        // Multi-byte text is joined whole, never cut.
        let cjk = join(&["evt", "微信", "菜单"], None);
        assert_eq!(&*cjk, "evt|微信|菜单");
    }
}
