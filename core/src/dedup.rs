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
//! SHA-1 of the decrypted message; [`Dedup::key_for`] replaces the key of any kind.
//!
//! The store also backs the optional nonce replay check ([`Dedup::reject_nonce_replays`]).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::message::Kind;
use crate::request::Request;
use crate::signature::Digest20;

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
    /// A delivery of this message is still running and did not finish within the wait.
    Busy,
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

/// Where the engine remembers recent messages (and nonces). Synchronous: an implementation
/// backed by a shared cache (Redis, memcached) blocks the calling thread, which is the
/// adapters' blocking pool unless [`crate::Engine::nonblocking_handlers`] was chosen.
///
/// Keys are short strings built by [`Dedup::key`]; an implementation may hash them.
/// [`MemoryDedupStore`] is the default.
pub trait DedupStore: Send + Sync + 'static {
    /// Claims `key` for a first delivery, or reports an earlier one. When an earlier delivery
    /// is still running, waits up to `wait` for it to finish. `now` is the engine's clock,
    /// Unix seconds.
    fn claim(&self, key: &str, now: u64, wait: Duration) -> Claim;

    /// Records the plaintext response body of the delivery that claimed `key`, waking the
    /// retries that wait for it.
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

/// A key function: the dedup key of a request, or `None` to run its handlers every time.
pub type KeyFn = Arc<dyn Fn(&Request) -> Option<String> + Send + Sync>;

/// The engine's retry and replay settings: the store, the wait, key overrides and the nonce
/// check. [`crate::Engine`] uses [`Dedup::in_memory`] unless given another
/// ([`crate::Engine::with_dedup`]) or none ([`crate::Engine::without_dedup`]).
#[derive(Clone)]
pub struct Dedup {
    store: Arc<dyn DedupStore>,
    retry_wait: Duration,
    keys: HashMap<Kind, KeyFn>,
    nonce_replays: bool,
}

impl fmt::Debug for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut overridden: Vec<Kind> = self.keys.keys().copied().collect();
        overridden.sort();
        f.debug_struct("Dedup")
            .field("retry_wait", &self.retry_wait)
            .field("key_overrides", &overridden)
            .field("reject_nonce_replays", &self.nonce_replays)
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

    /// Settings over `store`.
    pub fn new(store: impl DedupStore) -> Self {
        Self {
            store: Arc::new(store),
            retry_wait: DEFAULT_RETRY_WAIT,
            keys: HashMap::new(),
            nonce_replays: false,
        }
    }

    /// How long a retry waits for a first delivery that is still running (default 4 s). When
    /// the wait runs out the retry is answered `success` without running the handlers: WeChat
    /// then stops retrying, and the user sees nothing broken.
    #[must_use]
    pub fn retry_wait(mut self, wait: Duration) -> Self {
        self.retry_wait = wait;
        self
    }

    /// Replaces the key of `kind` with `key` (for example to add `ChangeType` and `UserID` to
    /// WeCom `change_contact` events). Returning `None` runs the handlers for every delivery.
    #[must_use]
    pub fn key_for(
        mut self,
        kind: Kind,
        key: impl Fn(&Request) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.keys.insert(kind, Arc::new(key));
        self
    }

    /// Refuses a request whose `timestamp` + `nonce` came before with a different body, as
    /// [`crate::ErrorKind::Replay`]; the same body again is a retry. Checked after the
    /// signature, so only signed requests are recorded; a record lasts twice the timestamp
    /// tolerance ([`crate::Config::timestamp_tolerance_secs`]), or 10 minutes without one.
    /// Matters most in plaintext mode, where `signature` does not cover the body.
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
    pub fn wait(&self) -> Duration {
        self.retry_wait
    }

    /// The store.
    pub fn store(&self) -> &dyn DedupStore {
        &*self.store
    }

    /// The dedup key of `request`: the override for its kind if one was set, otherwise the
    /// official rule. `wecom` adds the message digest to event keys (see the
    /// [module docs](self)). `None` when the request carries too little to tell deliveries
    /// apart (no `MsgId`, and no `FromUserName` or `CreateTime`).
    ///
    /// Shapes: `msg|{ToUserName}|{MsgId}`; messages without `MsgId`:
    /// `msg|{ToUserName}|{FromUserName}|{CreateTime}|{MsgType}`; events:
    /// `evt|{ToUserName}|{FromUserName}|{CreateTime}|{Event}|{EventKey}[|{sha1 hex}]`.
    pub fn key(&self, request: &Request, wecom: bool) -> Option<String> {
        match self.keys.get(&request.kind()) {
            Some(key) => key(request),
            None => official_key(request, wecom),
        }
    }
}

/// The official dedup key of `request` (see [`Dedup::key`]).
pub fn official_key(request: &Request, wecom: bool) -> Option<String> {
    let head = request.head();
    let fields = request.fields();
    let to = &*head.to_user_name;
    let from = &*head.from_user_name;
    let mut create_time = itoa::Buffer::new();
    let create_time = create_time.format(head.create_time);
    let anonymous = from.is_empty() || head.create_time == 0;
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

/// `parts` (and `last`) joined with `|`, in one exactly sized allocation.
fn join(parts: &[&str], last: Option<&str>) -> String {
    let len = parts
        .iter()
        .chain(&last)
        .map(|p| p.len() + 1)
        .sum::<usize>();
    let mut key = String::with_capacity(len);
    for part in parts.iter().chain(&last) {
        if !key.is_empty() {
            key.push('|');
        }
        key.push_str(part);
    }
    key
}

/// SHA-1 over `parts`, each preceded by its length, so that no two part lists collide.
pub fn digest(parts: &[&[u8]]) -> Digest20 {
    use sha1::{Digest as _, Sha1};
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The default [`DedupStore`]: an in-process map bounded in entries and bytes, whose entries
/// expire a fixed time after their first delivery. Keys are kept as SHA-1 digests (20 bytes
/// whatever the key's length). When a cap is reached the oldest entries go first; a retry of
/// an evicted message runs its handlers again.
pub struct MemoryDedupStore {
    ttl_s: u64,
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
    finished: Condvar,
}

impl fmt::Debug for MemoryDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryDedupStore")
            .field("ttl_s", &self.ttl_s)
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .field("entries", &inner.entries.len())
            .field("bytes", &inner.bytes)
            .field("nonces", &inner.nonces.len())
            .finish()
    }
}

impl Default for MemoryDedupStore {
    fn default() -> Self {
        Self::new(DEFAULT_TTL_S, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES)
    }
}

/// Bookkeeping charged per entry on top of the cached body: map and queue slots.
const ENTRY_OVERHEAD: usize = 96;

#[derive(Default)]
struct Inner {
    entries: HashMap<Digest20, Entry>,
    /// Keys in the order they were claimed, which is also the order they expire in.
    order: VecDeque<(Digest20, u64)>,
    bytes: usize,
    next_id: u64,
    nonces: HashMap<Digest20, (Digest20, u64)>,
    nonce_order: VecDeque<(Digest20, u64)>,
}

struct Entry {
    id: u64,
    expires: u64,
    body: Option<Bytes>,
}

impl Entry {
    fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.body.as_ref().map_or(0, Bytes::len)
    }
}

impl MemoryDedupStore {
    /// A store remembering messages for `ttl_s` seconds, at most `max_entries` of them and
    /// about `max_bytes` of cached replies and bookkeeping (96 bytes an entry).
    pub fn new(ttl_s: u64, max_entries: usize, max_bytes: usize) -> Self {
        Self {
            ttl_s,
            max_entries: max_entries.max(1),
            max_bytes,
            inner: Mutex::new(Inner::default()),
            finished: Condvar::new(),
        }
    }

    /// How many messages are remembered now (running or finished).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no message is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes charged now: cached bodies plus 96 per entry.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent (every update is a
        // single insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops expired entries, then the oldest while over a cap.
    fn prune(&self, inner: &mut Inner, now: u64) {
        while let Some(&(digest, id)) = inner.order.front() {
            let over = inner.entries.len() > self.max_entries || inner.bytes > self.max_bytes;
            let current = inner.entries.get(&digest).filter(|e| e.id == id);
            match current {
                // A record left behind by a key that was re-claimed or released.
                None => {
                    inner.order.pop_front();
                }
                Some(entry) if over || entry.expires <= now => {
                    inner.bytes -= entry.size();
                    inner.entries.remove(&digest);
                    inner.order.pop_front();
                }
                Some(_) => break,
            }
        }
        // A record left behind by a release is dropped when it reaches the front; keep the
        // queue from growing without bound meanwhile.
        if inner.order.len() > 2 * self.max_entries {
            let entries = &inner.entries;
            inner
                .order
                .retain(|(digest, id)| entries.get(digest).is_some_and(|e| e.id == *id));
        }
    }

    fn insert_running(&self, inner: &mut Inner, digest: Digest20, now: u64) {
        let id = inner.next_id;
        inner.next_id += 1;
        let entry = Entry {
            id,
            expires: now.saturating_add(self.ttl_s),
            body: None,
        };
        inner.bytes += entry.size();
        if let Some(old) = inner.entries.insert(digest, entry) {
            inner.bytes -= old.size();
        }
        inner.order.push_back((digest, id));
        self.prune(inner, now);
    }
}

impl DedupStore for MemoryDedupStore {
    fn claim(&self, key: &str, now: u64, wait: Duration) -> Claim {
        let digest = digest(&[key.as_bytes()]);
        let deadline = Instant::now() + wait;
        let mut inner = self.lock();
        loop {
            match inner.entries.get(&digest) {
                Some(entry) if entry.expires > now => {
                    if let Some(body) = &entry.body {
                        return Claim::Done(body.clone());
                    }
                }
                _ => {
                    self.insert_running(&mut inner, digest, now);
                    return Claim::First;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Claim::Busy;
            }
            inner = self
                .finished
                .wait_timeout(inner, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn complete(&self, key: &str, body: Bytes, now: u64) {
        let digest = digest(&[key.as_bytes()]);
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.get_mut(&digest)
            && entry.body.is_none()
        {
            let added = body.len();
            entry.body = Some(body);
            inner.bytes += added;
            self.prune(&mut inner, now);
        }
        drop(inner);
        self.finished.notify_all();
    }

    fn release(&self, key: &str) {
        let digest = digest(&[key.as_bytes()]);
        let mut inner = self.lock();
        if inner
            .entries
            .get(&digest)
            .is_some_and(|entry| entry.body.is_none())
            && let Some(entry) = inner.entries.remove(&digest)
        {
            inner.bytes -= entry.size();
        }
        drop(inner);
        self.finished.notify_all();
    }

    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: &Digest20,
        now: u64,
        window_s: u64,
    ) -> NonceCheck {
        let pair = crate::dedup::digest(&[timestamp.as_bytes(), nonce.as_bytes()]);
        let mut inner = self.lock();
        let inner = &mut *inner;
        while let Some(&(front, expires)) = inner.nonce_order.front() {
            if expires > now && inner.nonces.len() <= self.max_entries {
                break;
            }
            inner.nonce_order.pop_front();
            if inner.nonces.get(&front).is_some_and(|(_, e)| *e == expires) {
                inner.nonces.remove(&front);
            }
        }
        match inner.nonces.get(&pair) {
            Some((seen, expires)) if *expires > now => {
                if seen == digest {
                    NonceCheck::SameBody
                } else {
                    NonceCheck::OtherBody
                }
            }
            _ => {
                let expires = now.saturating_add(window_s);
                inner.nonces.insert(pair, (*digest, expires));
                inner.nonce_order.push_back((pair, expires));
                NonceCheck::New
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn body(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn first_then_done_until_expiry() {
        let store = MemoryDedupStore::new(30, 100, 1 << 20);
        assert_eq!(store.claim("k", 1000, Duration::ZERO), Claim::First);
        store.complete("k", body("<xml>r</xml>"), 1000);
        assert_eq!(
            store.claim("k", 1029, Duration::ZERO),
            Claim::Done(body("<xml>r</xml>"))
        );
        assert_eq!(store.claim("other", 1029, Duration::ZERO), Claim::First);
        // 30 s after the first delivery the message is forgotten.
        assert_eq!(store.claim("k", 1030, Duration::ZERO), Claim::First);
    }

    #[test]
    fn running_first_makes_retry_wait_or_busy() {
        let store = Arc::new(MemoryDedupStore::default());
        assert_eq!(store.claim("k", 1, Duration::ZERO), Claim::First);
        assert_eq!(
            store.claim("k", 1, Duration::from_millis(20)),
            Claim::Busy,
            "nobody completes: the wait runs out"
        );
        let waiter = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.claim("k", 1, Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(50));
        store.complete("k", body("done"), 1);
        assert_eq!(waiter.join().unwrap(), Claim::Done(body("done")));
    }

    #[test]
    fn released_claim_lets_a_retry_run() {
        let store = Arc::new(MemoryDedupStore::default());
        assert_eq!(store.claim("k", 1, Duration::ZERO), Claim::First);
        let waiter = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.claim("k", 1, Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(50));
        store.release("k");
        assert_eq!(waiter.join().unwrap(), Claim::First);
        assert_eq!(store.len(), 1, "the waiter's own claim");
    }

    #[test]
    fn concurrent_deliveries_run_once() {
        let store = Arc::new(MemoryDedupStore::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, runs) = (Arc::clone(&store), Arc::clone(&runs));
                std::thread::spawn(move || match store.claim("k", 5, Duration::from_secs(30)) {
                    Claim::First => {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        store.complete("k", body("once"), 5);
                        body("once")
                    }
                    Claim::Done(b) => b,
                    Claim::Busy => body("busy"),
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), body("once"));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn bounded_in_entries_and_bytes() {
        let store = MemoryDedupStore::new(1_000, 50, 1 << 30);
        for i in 0..1_000 {
            let key = format!("k{i}");
            assert_eq!(store.claim(&key, 7, Duration::ZERO), Claim::First);
            store.complete(&key, body("x"), 7);
        }
        assert_eq!(store.len(), 50);
        assert_eq!(
            store.claim("k999", 7, Duration::ZERO),
            Claim::Done(body("x"))
        );
        assert_eq!(
            store.claim("k0", 7, Duration::ZERO),
            Claim::First,
            "evicted"
        );

        let store = MemoryDedupStore::new(1_000, 1_000_000, 10 * 1024);
        let big = Bytes::from(vec![b'x'; 1000]);
        for i in 0..100 {
            let key = format!("k{i}");
            store.claim(&key, 7, Duration::ZERO);
            store.complete(&key, big.clone(), 7);
        }
        assert!(store.bytes() <= 10 * 1024 + 1096, "{}", store.bytes());
        assert!(store.len() < 12, "{}", store.len());
    }

    #[test]
    fn released_records_do_not_pile_up() {
        let store = MemoryDedupStore::new(1_000, 10, 1 << 20);
        for i in 0..10_000 {
            let key = format!("k{}", i % 3);
            store.claim(&key, 7, Duration::ZERO);
            store.release(&key);
        }
        assert!(store.lock().order.len() <= 21);
        assert!(store.is_empty());
        assert_eq!(store.bytes(), 0);
    }

    #[test]
    fn nonces_tell_retries_from_replays() {
        let store = MemoryDedupStore::new(30, 3, 1 << 20);
        let (a, b) = ([1u8; 20], [2u8; 20]);
        assert_eq!(store.check_nonce("100", "n", &a, 100, 60), NonceCheck::New);
        assert_eq!(
            store.check_nonce("100", "n", &a, 120, 60),
            NonceCheck::SameBody
        );
        assert_eq!(
            store.check_nonce("100", "n", &b, 120, 60),
            NonceCheck::OtherBody
        );
        assert_eq!(store.check_nonce("100", "m", &b, 120, 60), NonceCheck::New);
        // After the window the pair is free again.
        assert_eq!(store.check_nonce("100", "n", &b, 160, 60), NonceCheck::New);
        for i in 0..100 {
            store.check_nonce("1", &i.to_string(), &a, 170, 60);
        }
        assert!(store.lock().nonces.len() <= 4);
        assert!(store.lock().nonce_order.len() <= 4);
    }
}
