//! The Redis dedup store (`wechat-callback-redis`) against a real `redis-server` (Debian's
//! package; `.ci/run` installs it), started on a free port for each test and stopped after:
//! replicas in two processes sharing retries, concurrent first deliveries, Redis stopped
//! (fail-open) and started again, a waiting retry woken by the publish, nonces across
//! replicas, and the synchronous path off any runtime.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use wechat_callback::dedup::Dedup;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Mode, Router};
use wechat_callback_cli::build::fresh_timestamp_and_nonce;
use wechat_callback_cli::simulate::defaults;
use wechat_callback_cli::wire::Client;
use wechat_callback_redis::{Options, RedisDedupStore};

use crate::adapters::{
    Adapter, KillOnDrop, mp_engine_with, mp_sender, reply_content, send_text_with_id, spawn,
    text_xml, wait_until_listening,
};

/// A `redis-server` of this test's own on a free port of 127.0.0.1, no persistence; stopped
/// when dropped.
struct RedisServer {
    port: u16,
    process: Option<KillOnDrop>,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            port,
            process: None,
        };
        server.run();
        server
    }

    /// Starts (again) on the same port and waits until it answers `PING`.
    fn run(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; .ci/run installs it)");
        self.process = Some(KillOnDrop(child));
        for _ in 0..300 {
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} never answered PING", self.port);
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut pong = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut pong).is_ok()
            && &pong == b"+PONG\r\n"
    }

    fn stop(&mut self) {
        self.process = None;
        assert!(!self.answers(), "redis-server still answers");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// Set in a replica process (this test binary re-run), unset in the tests.
const REPLICA: &str = "WXCB_TEST_REDIS_REPLICA";
const LISTENING: &str = "replica listening on ";

/// A replica: `hyper-echo` exactly as `cargo run -p hyper-echo` runs it, with the
/// environment the parent test gives (`WECHAT_REDIS_URL`, `WECHAT_REPLICA`).
#[test]
#[ignore = "a replica process, started by the redis tests"]
fn redis_replica_process() {
    if std::env::var_os(REPLICA).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(async {
            let metrics = echo_support::install_metrics();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("{LISTENING}{}", listener.local_addr()?);
            hyper_echo::serve(listener, metrics, std::future::pending()).await
        })
        .expect("serve");
}

/// A replica process and where it answers.
struct Replica {
    _process: KillOnDrop,
    addr: std::net::SocketAddr,
}

impl Replica {
    fn start(name: &str, redis: &RedisServer) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "redis::redis_replica_process", "--ignored"])
            .args(["--nocapture", "--test-threads", "1"])
            .env(REPLICA, "1")
            .env("WECHAT_REDIS_URL", redis.url())
            .env("WECHAT_REPLICA", name)
            .env("RUST_LOG", "error")
            .env_remove("WECHAT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("replica process");
        let stdout = child.stdout.take().expect("stdout");
        let process = KillOnDrop(child);
        let mut lines = std::io::BufReader::new(stdout).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.split_once(LISTENING).map(|(_, a)| a.trim().to_owned()))
            .expect("the replica's address")
            .parse()
            .expect("an address");
        // Keep reading what it prints (its banner, late replies), so it never writes to a
        // closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        wait_until_listening(addr);
        Self {
            _process: process,
            addr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/wechat", self.addr)
    }

    /// The replica's `GET /metrics` text.
    fn metrics(&self, client: &Client) -> String {
        let request = http::Request::get(format!("http://{}/metrics", self.addr))
            .body(Bytes::new())
            .unwrap();
        let response = client.send(request).unwrap();
        String::from_utf8(response.body().to_vec()).unwrap()
    }
}

/// The reply `Content` of `content` sent as message `msg_id` to `url`, plain mode.
fn ask(client: &Client, url: &str, content: &str, msg_id: u64) -> String {
    let sender = mp_sender(Mode::Plain);
    let response = send_text_with_id(client, url, &sender, content, msg_id);
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    reply_content(&sender, &response, false)
}

fn fresh_id() -> u64 {
    rand::random::<u64>() >> 1
}

#[test]
fn replicas_in_two_processes_share_retries_through_redis() {
    let mut redis = RedisServer::start();
    let (a, b) = (Replica::start("a", &redis), Replica::start("b", &redis));
    let client = Client::default();

    // WeChat's retry reaches the other replica while the first delivery still runs: it waits
    // for it and answers with its reply; the handler ran once, on `a`.
    let id = fresh_id();
    let first = {
        let (client, url) = (client.clone(), a.url());
        std::thread::spawn(move || ask(&client, &url, "slow:800", id))
    };
    std::thread::sleep(Duration::from_millis(200));
    let retry = ask(&client, &b.url(), "slow:800", id);
    assert_eq!(first.join().unwrap(), "slept 800 ms on a");
    assert_eq!(retry, "slept 800 ms on a", "the retry got the first reply");
    // A later retry, to either replica: the same reply, from Redis.
    assert_eq!(ask(&client, &b.url(), "slow:800", id), "slept 800 ms on a");

    // The same message delivered to both at once: one runs it, both answer its reply.
    let id = fresh_id();
    let barrier = Arc::new(Barrier::new(2));
    let both: Vec<_> = [a.url(), b.url()]
        .into_iter()
        .map(|url| {
            let (client, barrier) = (client.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                ask(&client, &url, "slow:300", id)
            })
        })
        .collect();
    let answers: Vec<String> = both.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(answers[0], answers[1], "one handler run, one reply");
    assert!(
        answers[0] == "slept 300 ms on a" || answers[0] == "slept 300 ms on b",
        "{answers:?}"
    );

    // Redis stopped mid-run: fail-open. Each replica answers at once, without deduplication
    // (so here the handler runs on both), and counts the failure.
    redis.stop();
    let id = fresh_id();
    let started = Instant::now();
    assert_eq!(ask(&client, &a.url(), "store down", id), "store down");
    assert_eq!(ask(&client, &b.url(), "store down", id), "store down");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered within WeChat's 5 s"
    );
    let metrics = a.metrics(&client);
    assert!(
        metrics.lines().any(|line| line.starts_with(
            "wechat_dedup_store_errors_total{account=\"wx5e7c1d9a0b3f2468\",op=\"claim\"}"
        )),
        "{metrics}"
    );

    // Redis back: both replicas reconnect, and retries are shared again.
    redis.run();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let id = fresh_id();
        let first = ask(&client, &a.url(), "slow:50", id);
        let retry = ask(&client, &b.url(), "slow:50", id);
        if first == "slept 50 ms on a" && retry == first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not deduplicated 15 s after Redis came back: {first} / {retry}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Replies `ran on {name}` after `sleep_ms` of async sleep.
fn named_router(name: &'static str, sleep_ms: u64) -> Router {
    Router::new().on_text(move |_: Text| async move {
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
        Some(Reply::text(format!("ran on {name}")))
    })
}

/// Replies `ran on {name}` at once (synchronous: [`Engine::handle`](wechat_callback::Engine::handle)
/// runs it off any runtime).
fn named_now(name: &'static str) -> Router {
    Router::new().on_text(move |_: &Text| Reply::text(format!("ran on {name}")))
}

#[test]
fn a_waiting_retry_is_woken_by_the_publish() {
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Polling so rarely that only the publish can wake the retry within its 3 s wait.
    let options = Options::default().poll_bound(Duration::from_secs(60));
    let store = runtime
        .block_on(RedisDedupStore::connect_with(&redis.url(), options))
        .expect("connect");
    let engines = ["a", "b"].map(|name| {
        let dedup =
            Dedup::shared(store.for_account("woken")).with_retry_wait(Duration::from_secs(3));
        mp_engine_with(Mode::Plain, named_router(name, 500)).with_dedup(dedup)
    });
    let [a, b] = engines.map(|engine| spawn(Adapter::Hyper, engine));
    let client = Client::default();
    let id = fresh_id();
    let first = {
        let client = client.clone();
        std::thread::spawn(move || {
            let reply = ask(&client, &a, "x", id);
            (reply, Instant::now())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let retry = ask(&client, &b, "x", id);
    let retry_done = Instant::now();
    let (first, first_done) = first.join().unwrap();
    assert_eq!(first, "ran on a");
    assert_eq!(
        retry, "ran on a",
        "woken with the first reply, not given up on"
    );
    // Measured, not asserted (a timing): how long after the first answer the retry answered.
    eprintln!(
        "retry answered {:?} after the first delivery",
        retry_done.saturating_duration_since(first_done)
    );
}

#[test]
fn a_replayed_nonce_is_refused_on_every_replica_and_handle_works_off_any_runtime() {
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime
        .block_on(RedisDedupStore::connect(&redis.url()))
        .expect("connect");
    let engine = |name| {
        let dedup = Dedup::shared(store.for_account("nonces")).reject_nonce_replays();
        mp_engine_with(Mode::Plain, named_now(name)).with_dedup(dedup)
    };
    let (a, b) = (engine("a"), engine("b"));
    let sender = mp_sender(Mode::Plain);
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let request = |msg_id: u64| -> http::Request<Bytes> {
        let xml = text_xml(&sender, "pay", msg_id);
        sender
            .message(&xml, &timestamp, &nonce, Some(defaults::OPENID), &[0; 16])
            .unwrap()
            .http_request("http://127.0.0.1/wechat")
            .unwrap()
    };
    // `Engine::handle` on this thread, no runtime: the store's futures run on its own.
    let first = a.handle(request(1));
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        std::str::from_utf8(first.body())
            .unwrap()
            .contains("ran on a")
    );
    // The same signed query and body on the other replica: a retry, the first reply.
    let again = b.handle(request(1));
    assert_eq!(again.body(), first.body());
    // The same signed query with another body: a captured signature reused. Refused.
    assert_eq!(b.handle(request(2)).status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a.handle(request(3)).status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn a_store_opened_while_redis_is_down_serves_fail_open_then_fail_closed_refuses() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/");
    assert!(
        runtime.block_on(RedisDedupStore::connect(&url)).is_err(),
        "connect waits for Redis"
    );
    let store = {
        let _entered = runtime.enter();
        RedisDedupStore::open(&url).expect("open is lazy")
    };
    let open = mp_engine_with(Mode::Plain, named_now("a"))
        .with_dedup(Dedup::shared(store.for_account("down")));
    let closed = mp_engine_with(Mode::Plain, named_now("a"))
        .with_dedup(Dedup::shared(store.for_account("down")).fail_closed());
    let sender = mp_sender(Mode::Plain);
    let request = || {
        let (timestamp, nonce) = fresh_timestamp_and_nonce();
        let xml = text_xml(&sender, "x", 5);
        sender
            .message(&xml, &timestamp, &nonce, Some(defaults::OPENID), &[0; 16])
            .unwrap()
            .http_request("http://127.0.0.1/wechat")
            .unwrap()
    };
    let started = Instant::now();
    let served = open.handle(request());
    assert_eq!(served.status(), StatusCode::OK);
    assert!(
        std::str::from_utf8(served.body())
            .unwrap()
            .contains("ran on a")
    );
    let refused = closed.handle(request());
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up in time"
    );
}
