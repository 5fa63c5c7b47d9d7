//! A Redis dedup store for `wechat-callback`: replicas behind a load balancer share WeChat's
//! retries.
//!
//! WeChat retries a callback it got no answer to within 5 seconds, up to three times, and
//! behind a load balancer the retry often reaches another replica. With a
//! [`RedisDedupStore`] every replica of an account claims a message in one Redis, so the
//! handlers run once, a retry anywhere gets the first reply (re-encrypted with a fresh nonce),
//! and a replayed `timestamp` + `nonce` is refused on every replica
//! ([`Dedup::reject_nonce_replays`](wechat_callback::dedup::Dedup::reject_nonce_replays)).
//!
//! ```no_run
//! # async fn run(config: wechat_callback::Config, router: wechat_callback::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use wechat_callback::dedup::Dedup;
//! use wechat_callback_redis::RedisDedupStore;
//!
//! let store = RedisDedupStore::connect("redis://127.0.0.1:6379/").await?;
//! let engine = wechat_callback::Engine::new(config, router)?
//!     .with_dedup(Dedup::shared(store.for_account("main")));
//! # Ok(()) }
//! ```
//!
//! # How it works
//! - **Keys** are `{prefix}:{account}:msg:{sha1 hex of the engine's dedup key}` and
//!   `{prefix}:{account}:nonce:{sha1 hex of timestamp|nonce}`: the account from
//!   [`RedisDedupStore::for_account`], hashed so that no openid or content is in a key name.
//! - **Claim**: one Lua script sets the key to `R` (running) for the claim lease unless it
//!   exists, else returns what is there: `R`, or `D` + the plaintext answer of a finished
//!   delivery. **Complete** sets `D` + answer for the TTL (30 s, as the in-memory store) and
//!   publishes the key on `{prefix}:done`; **release** deletes a running claim and publishes.
//!   The lease ([`Options::claim_lease`], 10 s) frees a message whose replica died mid-handler;
//!   a live replica completes its claim by the engine's deadline (4 s) at the latest.
//! - **Waiting retries** are woken by that publish (RESP3 push on the command connection, so
//!   no second connection), and check again at least every [`Options::poll_bound`] (250 ms) in
//!   case a publish was missed while reconnecting.
//! - **No runtime worker blocks**: each lookup runs as a task on the tokio runtime the store
//!   was opened on and the engine awaits its join handle; writes (complete, release) are
//!   spawned and not awaited.
//! - **Redis down**: every call gives up after [`Options::timeout`] (500 ms). The engine then
//!   answers without deduplication (fail-open, logged at `warn`, counted in
//!   `wechat_dedup_store_errors_total`), or with 503 when
//!   [`Dedup::fail_closed`](wechat_callback::dedup::Dedup::fail_closed). The connection is
//!   re-established in the background and the subscription renewed when Redis comes back.
//!
//! Needs Redis 6 or newer (RESP3).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisError, Value};
use sha1::{Digest as _, Sha1};
use tokio::sync::Notify;
use wechat_callback::Error;
use wechat_callback::dedup::{AsyncDedupStore, BoxFuture, Claim, DEFAULT_TTL_S, NonceCheck};

/// The value of a running claim.
const RUNNING: &[u8] = b"R";
/// The first byte of a finished delivery's value, before its plaintext answer.
const DONE: u8 = b'D';

/// Sets `KEYS[1]` to `ARGV[1]` for `ARGV[2]` milliseconds unless it exists; returns the value
/// that was there, or nil when it set it.
const SET_UNLESS_PRESENT: &str = "local v = redis.call('GET', KEYS[1]) \
    if v then return v end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
    return false";

/// Deletes `KEYS[1]` if it is a running claim (never a finished answer), then publishes the
/// key on channel `ARGV[1]`.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == 'R' then redis.call('DEL', KEYS[1]) end \
    redis.call('PUBLISH', ARGV[1], KEYS[1]) \
    return 1";

/// How a [`RedisDedupStore`] names its keys and how long it waits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// First part of every key and of the channel: `wxcb`.
    pub prefix: String,
    /// How long a finished delivery's answer is kept: 30 s, as the in-memory store
    /// ([`DEFAULT_TTL_S`]).
    pub ttl: Duration,
    /// How long a running claim holds before another replica may run the handlers: 10 s.
    /// A live replica completes its claim by the engine's deadline (default 4 s); the lease
    /// frees the message of a replica that died mid-handler.
    pub claim_lease: Duration,
    /// How long one call to Redis (connecting included) may take before it counts as a
    /// failure: 500 ms.
    pub timeout: Duration,
    /// How long a waiting retry waits for a publish before it asks Redis again: 250 ms.
    pub poll_bound: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            prefix: "wxcb".to_owned(),
            ttl: Duration::from_secs(DEFAULT_TTL_S),
            claim_lease: Duration::from_secs(10),
            timeout: Duration::from_millis(500),
            poll_bound: Duration::from_millis(250),
        }
    }
}

impl Options {
    /// With `prefix` instead of `wxcb`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With answers kept for `ttl`.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// With running claims held for `lease`.
    #[must_use]
    pub fn claim_lease(mut self, lease: Duration) -> Self {
        self.claim_lease = lease;
        self
    }

    /// With each call to Redis given up after `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With waiting retries asking again after `bound` without a publish.
    #[must_use]
    pub fn poll_bound(mut self, bound: Duration) -> Self {
        self.poll_bound = bound;
        self
    }
}

/// A [`AsyncDedupStore`] in Redis, shared by every replica that opens the same Redis with the
/// same prefix (see the [crate docs](crate)). Cheap to clone; clones share the connection.
/// Its `Debug` shows the options and account, never the URL (which may carry a password).
#[derive(Clone)]
pub struct RedisDedupStore {
    shared: Arc<Shared>,
    account: Arc<str>,
}

struct Shared {
    connection: ConnectionManager,
    runtime: tokio::runtime::Handle,
    options: Options,
    channel: String,
    waiters: Arc<Waiters>,
}

impl fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("account", &self.account)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

/// The retries waiting on a key, by the key's full name.
#[derive(Default)]
struct Waiters(Mutex<HashMap<Vec<u8>, Arc<Notify>>>);

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Arc<Notify>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, key: &[u8]) -> Arc<Notify> {
        Arc::clone(self.lock().entry(key.to_vec()).or_default())
    }

    fn unregister(&self, key: &[u8], notify: Arc<Notify>) {
        drop(notify);
        let mut waiters = self.lock();
        // Clones are made under the lock: one reference left is the map's own.
        if waiters.get(key).is_some_and(|n| Arc::strong_count(n) == 1) {
            waiters.remove(key);
        }
    }

    fn wake(&self, key: &[u8]) {
        if let Some(notify) = self.lock().get(key) {
            notify.notify_waiters();
        }
    }

    /// Reads a push: a publish on the channel wakes the retries waiting on its key.
    fn push(&self, info: PushInfo) {
        if info.kind != PushKind::Message {
            return;
        }
        if let Some(Value::BulkString(key)) = info.data.get(1) {
            self.wake(key);
        }
    }
}

impl RedisDedupStore {
    /// Opens a store on the Redis at `url` (`redis://[:password@]host:port/[db]`) with the
    /// default [`Options`], connecting and subscribing in the background: a server starts even
    /// while Redis is down (and runs fail-open until it is up). Must be called within a tokio
    /// runtime, on which the store then does its I/O.
    ///
    /// # Errors
    /// A URL that is not a Redis URL; called outside a tokio runtime.
    pub fn open(url: &str) -> Result<Self, RedisError> {
        Self::open_with(url, Options::default())
    }

    /// [`RedisDedupStore::open`] with `options`.
    ///
    /// # Errors
    /// As [`RedisDedupStore::open`].
    pub fn open_with(url: &str, options: Options) -> Result<Self, RedisError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            RedisError::from((
                redis::ErrorKind::Client,
                "RedisDedupStore::open needs a tokio runtime",
            ))
        })?;
        let info = url.into_connection_info()?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(settings))?;
        let waiters = Arc::new(Waiters::default());
        let pushes = Arc::clone(&waiters);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1))
            .set_push_sender(move |info: PushInfo| {
                pushes.push(info);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let connection = {
            let _entered = runtime.enter();
            ConnectionManager::new_lazy_with_config(client, config)?
        };
        let channel = format!("{}:done", options.prefix);
        let store = Self {
            shared: Arc::new(Shared {
                connection,
                runtime,
                options,
                channel,
                waiters,
            }),
            account: Arc::from("default"),
        };
        let subscriber = store.clone();
        store.shared.runtime.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while let Err(error) = subscriber.subscribe().await {
                tracing::warn!(%error, "redis dedup store: not subscribed yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });
        Ok(store)
    }

    /// Opens a store ([`RedisDedupStore::open`]) and waits until Redis answers and the
    /// channel is subscribed: a server that must not start without its Redis.
    ///
    /// # Errors
    /// A URL that is not a Redis URL; Redis not reachable within the timeout.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Self::connect_with(url, Options::default()).await
    }

    /// [`RedisDedupStore::connect`] with `options`.
    ///
    /// # Errors
    /// As [`RedisDedupStore::connect`].
    pub async fn connect_with(url: &str, options: Options) -> Result<Self, RedisError> {
        let store = Self::open_with(url, options)?;
        store.subscribe().await?;
        Ok(store)
    }

    /// This store for account `id` (the accounts file's id, or any name for one account):
    /// its keys under `{prefix}:{id}:`, its failures counted with `account = id`. Shares the
    /// connection.
    #[must_use]
    pub fn for_account(&self, id: &str) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            account: Arc::from(id),
        }
    }

    /// The account whose keys this store names (`default` unless [`for_account`](Self::for_account)).
    pub fn account(&self) -> &str {
        &self.account
    }

    async fn subscribe(&self) -> Result<(), RedisError> {
        let mut connection = self.shared.connection.clone();
        let channel = self.shared.channel.clone();
        tokio::time::timeout(self.shared.options.timeout, connection.subscribe(channel))
            .await
            .map_err(|_| RedisError::from((redis::ErrorKind::Io, "subscribe timed out")))?
    }

    /// The full name of the key of `space` for `key`.
    fn key(&self, space: &str, parts: &[&str]) -> Vec<u8> {
        let mut hasher = Sha1::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                hasher.update(b"|");
            }
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut name = format!("{}:{}:{space}:", self.shared.options.prefix, self.account);
        for byte in digest {
            use std::fmt::Write as _;
            let _ = write!(name, "{byte:02x}");
        }
        name.into_bytes()
    }

    /// Runs `work` on the store's runtime within the timeout; its answer, or why there is none.
    fn ask<T, F>(&self, op: &'static str, work: F) -> BoxFuture<Result<T, Error>>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, RedisError>> + Send + 'static,
    {
        let timeout = self.shared.options.timeout;
        let task = self
            .shared
            .runtime
            .spawn(async move { tokio::time::timeout(timeout, work).await });
        Box::pin(async move {
            match task.await {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Ok(Err(error))) => Err(Error::store_unavailable(
                    format!("redis {op} failed"),
                    Some(Box::new(error)),
                )),
                Ok(Err(_)) => Err(Error::store_unavailable(
                    format!("redis {op}: no answer within {} ms", timeout.as_millis()),
                    None,
                )),
                Err(_) => Err(Error::store_unavailable(
                    format!("redis {op}: the store's runtime is gone"),
                    None,
                )),
            }
        })
    }

    /// Runs the write `work` in the background; a failure is logged at `warn` and counted.
    fn write<F>(&self, op: &'static str, work: F)
    where
        F: Future<Output = Result<(), RedisError>> + Send + 'static,
    {
        let timeout = self.shared.options.timeout;
        let account = Arc::clone(&self.account);
        self.shared.runtime.spawn(async move {
            let failure = match tokio::time::timeout(timeout, work).await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {} ms", timeout.as_millis()),
            };
            wechat_callback::telemetry::store_error(&account, op);
            tracing::warn!(
                account = &*account,
                op,
                error = failure,
                "redis dedup store write failed"
            );
        });
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl AsyncDedupStore for RedisDedupStore {
    fn claim(&self, key: &str, _now: u64) -> BoxFuture<Result<Claim, Error>> {
        let name = self.key("msg", &[key]);
        let lease = millis(self.shared.options.claim_lease);
        let mut connection = self.shared.connection.clone();
        self.ask("claim", async move {
            let found: Option<Vec<u8>> = redis::cmd("EVAL")
                .arg(SET_UNLESS_PRESENT)
                .arg(1)
                .arg(&name)
                .arg(RUNNING)
                .arg(lease)
                .query_async(&mut connection)
                .await?;
            Ok(match found {
                None => Claim::First,
                Some(value) if value.first() == Some(&DONE) => {
                    Claim::Done(Bytes::from(value).slice(1..))
                }
                // `R`, or a value this store did not write: never run the handlers twice.
                Some(_) => Claim::Running,
            })
        })
    }

    fn wait(&self, key: &str, timeout: Duration) -> BoxFuture<()> {
        let name = self.key("msg", &[key]);
        let shared = Arc::clone(&self.shared);
        let task = self.shared.runtime.spawn(async move {
            let notify = shared.waiters.register(&name);
            {
                let notified = notify.notified();
                let mut notified = std::pin::pin!(notified);
                notified.as_mut().enable();
                // Registered first, then checked: a publish after this check wakes the wait,
                // one before it shows in the check.
                let mut connection = shared.connection.clone();
                let mut get = redis::cmd("GET");
                let check = get
                    .arg(&name)
                    .query_async::<Option<Vec<u8>>>(&mut connection);
                let running = matches!(
                    tokio::time::timeout(shared.options.timeout, check).await,
                    Ok(Ok(Some(value))) if value == RUNNING
                );
                if running {
                    let bound = timeout.min(shared.options.poll_bound);
                    let _ = tokio::time::timeout(bound, notified).await;
                }
            }
            shared.waiters.unregister(&name, notify);
        });
        Box::pin(async move {
            let _ = task.await;
        })
    }

    fn complete(&self, key: &str, body: Bytes, _now: u64) {
        let name = self.key("msg", &[key]);
        let mut value = Vec::with_capacity(1 + body.len());
        value.push(DONE);
        value.extend_from_slice(&body);
        let ttl = millis(self.shared.options.ttl);
        let channel = self.shared.channel.clone();
        let mut connection = self.shared.connection.clone();
        self.write("complete", async move {
            redis::pipe()
                .cmd("SET")
                .arg(&name)
                .arg(value)
                .arg("PX")
                .arg(ttl)
                .ignore()
                .cmd("PUBLISH")
                .arg(&channel)
                .arg(&name)
                .ignore()
                .query_async::<()>(&mut connection)
                .await
        });
    }

    fn release(&self, key: &str) {
        let name = self.key("msg", &[key]);
        let channel = self.shared.channel.clone();
        let mut connection = self.shared.connection.clone();
        self.write("release", async move {
            redis::cmd("EVAL")
                .arg(RELEASE)
                .arg(1)
                .arg(&name)
                .arg(&channel)
                .query_async::<()>(&mut connection)
                .await
        });
    }

    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: &[u8; 20],
        _now: u64,
        window_s: u64,
    ) -> BoxFuture<Result<NonceCheck, Error>> {
        let name = self.key("nonce", &[timestamp, nonce]);
        let digest = *digest;
        let window = window_s.saturating_mul(1000).max(1);
        let mut connection = self.shared.connection.clone();
        self.ask("check_nonce", async move {
            let found: Option<Vec<u8>> = redis::cmd("EVAL")
                .arg(SET_UNLESS_PRESENT)
                .arg(1)
                .arg(&name)
                .arg(&digest[..])
                .arg(window)
                .query_async(&mut connection)
                .await?;
            Ok(match found {
                None => NonceCheck::New,
                Some(seen) if seen == digest => NonceCheck::SameBody,
                Some(_) => NonceCheck::OtherBody,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_wakes_only_the_waiters_of_its_key() {
        let waiters = Waiters::default();
        let a = waiters.register(b"wxcb:main:msg:aa");
        let b = waiters.register(b"wxcb:main:msg:bb");
        {
            let woken_a = a.notified();
            let woken_b = b.notified();
            let mut woken_a = std::pin::pin!(woken_a);
            let mut woken_b = std::pin::pin!(woken_b);
            woken_a.as_mut().enable();
            woken_b.as_mut().enable();
            waiters.push(PushInfo {
                kind: PushKind::Message,
                data: vec![
                    Value::BulkString(b"wxcb:done".to_vec()),
                    Value::BulkString(b"wxcb:main:msg:aa".to_vec()),
                ],
            });
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            assert!(woken_a.as_mut().poll(&mut cx).is_ready());
            assert!(woken_b.as_mut().poll(&mut cx).is_pending());
        }
        waiters.unregister(b"wxcb:main:msg:aa", a);
        assert!(!waiters.lock().contains_key(&b"wxcb:main:msg:aa"[..]));
        assert!(waiters.lock().contains_key(&b"wxcb:main:msg:bb"[..]));
    }

    #[tokio::test]
    async fn keys_carry_the_account_and_no_content() {
        // Opening is lazy: no Redis needed to name keys.
        let store = RedisDedupStore::open("redis://127.0.0.1:1/").unwrap();
        let main = store.for_account("main");
        let key = String::from_utf8(main.key("msg", &["msg|gh_x|o_secret_openid|1"])).unwrap();
        assert!(key.starts_with("wxcb:main:msg:"), "{key}");
        assert_eq!(key.len(), "wxcb:main:msg:".len() + 40);
        assert!(!key.contains("openid"));
        let other = String::from_utf8(
            store
                .for_account("b")
                .key("msg", &["msg|gh_x|o_secret_openid|1"]),
        )
        .unwrap();
        assert_eq!(key[key.len() - 40..], other[other.len() - 40..]);
        assert_ne!(key, other, "two accounts, two keys");
        assert!(other.starts_with("wxcb:b:msg:"));
        assert_eq!(store.account(), "default");
        let shown = format!(
            "{:?}",
            RedisDedupStore::open("redis://:hunter2@127.0.0.1:1/").unwrap()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn open_outside_a_runtime_is_an_error_not_a_panic() {
        let error = RedisDedupStore::open("redis://127.0.0.1:1/").unwrap_err();
        assert!(error.to_string().contains("tokio runtime"), "{error}");
        assert!(RedisDedupStore::open("http://example.com/").is_err());
    }
}
