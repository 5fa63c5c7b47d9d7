//! The default store: in process, bounded in entries and bytes.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use super::{
    Claim, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, DEFAULT_TTL_S, DedupStore, NonceCheck, digest,
};
use crate::signature::Digest20;

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

/// A map keyed by SHA-1 digests. They are spread evenly already and no sender can aim one
/// at another's bucket, so `foldhash` stands in for SipHash: by callgrind on the reference
/// corpus, the map lookups of a first delivery went from 750 instructions to 200.
type DigestMap<V> = HashMap<Digest20, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Inner {
    entries: DigestMap<Entry>,
    /// Keys in the order they were claimed, which is also the order they expire in.
    order: VecDeque<(Digest20, u64)>,
    bytes: usize,
    next_id: u64,
    nonces: DigestMap<(Digest20, u64)>,
    nonce_order: VecDeque<(Digest20, u64)>,
    /// Threads in [`DedupStore::wait`] now. `complete` and `release` notify only when there
    /// are some: `Condvar::notify_all` is a system call (a futex wake) even with no waiter.
    waiters: usize,
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

    /// Releases the lock and wakes the threads in [`DedupStore::wait`], if there are any.
    fn wake(&self, inner: MutexGuard<'_, Inner>) {
        let waiting = inner.waiters > 0;
        drop(inner);
        if waiting {
            self.finished.notify_all();
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
    fn claim(&self, key: &str, now: u64) -> Claim {
        let digest = digest(&[key.as_bytes()]);
        let mut inner = self.lock();
        match inner.entries.get(&digest) {
            Some(entry) if entry.expires > now => match &entry.body {
                Some(body) => Claim::Done(body.clone()),
                None => Claim::Running,
            },
            _ => {
                self.insert_running(&mut inner, digest, now);
                Claim::First
            }
        }
    }

    /// Waits on a condition variable that every `complete` and `release` notifies.
    fn wait(&self, _key: &str, timeout: Duration) {
        let mut inner = self.lock();
        // Counted under the lock that `wait_timeout` releases atomically: a `complete` that
        // takes the lock after this sees the waiter, so no wake-up is lost.
        inner.waiters += 1;
        let (mut inner, _) = self
            .finished
            .wait_timeout(inner, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        inner.waiters -= 1;
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
        self.wake(inner);
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
        self.wake(inner);
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Claims, waiting up to `wait` for a running delivery, as the synchronous engine does.
    fn claim_waiting(store: &MemoryDedupStore, key: &str, now: u64, wait: Duration) -> Claim {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match store.claim(key, now) {
                Claim::Running if std::time::Instant::now() < deadline => {
                    store.wait(key, deadline - std::time::Instant::now());
                }
                other => return other,
            }
        }
    }

    /// A thread claiming `k` and waiting up to 30 s for the running delivery; it reports
    /// what it got and how long it took.
    fn spawn_waiter(
        store: &Arc<MemoryDedupStore>,
    ) -> std::thread::JoinHandle<(Claim, std::time::Duration)> {
        let store = Arc::clone(store);
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let claim = claim_waiting(&store, "k", 1, Duration::from_secs(30));
            (claim, started.elapsed())
        })
    }

    /// The waiter's claim, after checking it was woken, not timed out.
    fn woken(waiter: std::thread::JoinHandle<(Claim, std::time::Duration)>) -> Claim {
        let (claim, waited) = waiter.join().unwrap();
        assert!(
            waited < Duration::from_secs(10),
            "not woken: waited {waited:?}"
        );
        claim
    }

    fn body(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn first_then_done_until_expiry() {
        let store = MemoryDedupStore::new(30, 100, 1 << 20);
        assert_eq!(store.claim("k", 1000), Claim::First);
        store.complete("k", body("<xml>r</xml>"), 1000);
        assert_eq!(store.claim("k", 1029), Claim::Done(body("<xml>r</xml>")));
        assert_eq!(store.claim("other", 1029), Claim::First);
        // 30 s after the first delivery the message is forgotten.
        assert_eq!(store.claim("k", 1030), Claim::First);
    }

    #[test]
    fn running_first_makes_retry_wait_or_see_it_running() {
        let store = Arc::new(MemoryDedupStore::default());
        assert_eq!(store.claim("k", 1), Claim::First);
        assert_eq!(
            claim_waiting(&store, "k", 1, Duration::from_millis(20)),
            Claim::Running,
            "nobody completes: the wait runs out"
        );
        let waiter = spawn_waiter(&store);
        std::thread::sleep(Duration::from_millis(50));
        store.complete("k", body("done"), 1);
        assert_eq!(woken(waiter), Claim::Done(body("done")));
    }

    #[test]
    fn released_claim_lets_a_retry_run() {
        let store = Arc::new(MemoryDedupStore::default());
        assert_eq!(store.claim("k", 1), Claim::First);
        let waiter = spawn_waiter(&store);
        std::thread::sleep(Duration::from_millis(50));
        store.release("k");
        assert_eq!(woken(waiter), Claim::First);
        assert_eq!(store.len(), 1, "the waiter's own claim");
    }

    #[test]
    fn concurrent_deliveries_run_once() {
        let store = Arc::new(MemoryDedupStore::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, runs) = (Arc::clone(&store), Arc::clone(&runs));
                std::thread::spawn(move || {
                    match claim_waiting(&store, "k", 5, Duration::from_secs(30)) {
                        Claim::First => {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(30));
                            store.complete("k", body("once"), 5);
                            body("once")
                        }
                        Claim::Done(b) => b,
                        Claim::Running => body("busy"),
                    }
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
            assert_eq!(store.claim(&key, 7), Claim::First);
            store.complete(&key, body("x"), 7);
        }
        assert_eq!(store.len(), 50);
        assert_eq!(store.claim("k999", 7), Claim::Done(body("x")));
        assert_eq!(store.claim("k0", 7), Claim::First, "evicted");

        let store = MemoryDedupStore::new(1_000, 1_000_000, 10 * 1024);
        let big = Bytes::from(vec![b'x'; 1000]);
        for i in 0..100 {
            let key = format!("k{i}");
            store.claim(&key, 7);
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
            store.claim(&key, 7);
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
