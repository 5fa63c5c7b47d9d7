//! The adapters over real HTTP on 127.0.0.1: one suite, written once, run against hyper,
//! hyper's tower service inside axum, actix-web and warp.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use bytes::Bytes;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};
use wechat_callback_cli::build::{Sender, fresh_timestamp_and_nonce};
use wechat_callback_cli::fixture::{self, Fixture};
use wechat_callback_cli::simulate::{self, Callback, defaults};
use wechat_callback_cli::wire::Client;

const KEY: &str = "wxcbDemoEncodingAESKey0123456789abcdefghijk";
const APPID: &str = "wx5e7c1d9a0b3f2468";
const CORPID: &str = "ww0123456789abcdef";

/// The servers under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    Hyper,
    Axum,
    Actix,
    Warp,
}

/// What a test server serves: one engine at `/wechat`, or many accounts at `/wechat/{id}`.
enum Mount {
    One(Box<Engine>),
    Many(wechat_callback::accounts::Accounts),
}

/// Starts a server for `engine` on a free port of 127.0.0.1, mounted at `/wechat`, in a
/// thread of its own that lives as long as the test process; returns the endpoint's URL.
pub(crate) fn spawn(adapter: Adapter, engine: Engine) -> String {
    spawn_mount(adapter, Mount::One(Box::new(engine)))
}

/// As [`spawn`], for many accounts: account `id` at `/wechat/{id}`; returns
/// `http://addr/wechat`.
fn spawn_accounts(adapter: Adapter, accounts: wechat_callback::accounts::Accounts) -> String {
    spawn_mount(adapter, Mount::Many(accounts))
}

fn spawn_mount(adapter: Adapter, mount: Mount) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
        };
        let tokio_listener = |listener: std::net::TcpListener| {
            listener.set_nonblocking(true).expect("nonblocking");
            tokio::net::TcpListener::from_std(listener).expect("tokio listener")
        };
        match adapter {
            Adapter::Hyper => runtime().block_on(async move {
                let service = match mount {
                    Mount::One(engine) => wechat_callback_hyper::service(engine),
                    Mount::Many(accounts) => wechat_callback_hyper::accounts_service(accounts),
                };
                wechat_callback_hyper::serve(tokio_listener(listener), service.at("/wechat")).await
            }),
            Adapter::Axum => runtime().block_on(async move {
                let app = match mount {
                    Mount::One(engine) => axum::Router::new()
                        .route_service("/wechat", wechat_callback_hyper::service(engine)),
                    Mount::Many(accounts) => axum::Router::new()
                        .nest_service("/wechat", wechat_callback_hyper::accounts_service(accounts)),
                };
                axum::serve(tokio_listener(listener), app).await
            }),
            Adapter::Actix => actix_web::rt::System::new().block_on(async move {
                let (one, many) = match mount {
                    Mount::One(engine) => (
                        Some(wechat_callback_actix::configure("/wechat", engine)),
                        None,
                    ),
                    Mount::Many(accounts) => (
                        None,
                        Some(wechat_callback_actix::configure_accounts(
                            "/wechat", accounts,
                        )),
                    ),
                };
                actix_web::HttpServer::new(move || {
                    let app = actix_web::App::new();
                    match (one.clone(), many.clone()) {
                        (Some(one), _) => app.configure(one),
                        (_, Some(many)) => app.configure(many),
                        (None, None) => app,
                    }
                })
                .workers(2)
                .disable_signals()
                .listen(listener)?
                .run()
                .await
            }),
            Adapter::Warp => runtime().block_on(async move {
                use warp::Filter as _;
                let listener = tokio_listener(listener);
                match mount {
                    Mount::One(engine) => {
                        let routes = warp::path("wechat")
                            .and(warp::path::end())
                            .and(wechat_callback_warp::filter(engine));
                        wechat_callback_warp::serve(listener, warp::service(routes)).await
                    }
                    Mount::Many(accounts) => {
                        let routes = warp::path("wechat")
                            .and(wechat_callback_warp::accounts_filter(accounts));
                        wechat_callback_warp::serve(listener, warp::service(routes)).await
                    }
                }
            }),
        }
        .expect("server");
    });
    wait_until_listening(addr);
    format!("http://{addr}/wechat")
}

pub(crate) fn wait_until_listening(addr: std::net::SocketAddr) {
    for _ in 0..200 {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{addr} never accepted");
}

fn echo_router() -> Router {
    Router::new().on_text(|text: &Text| Reply::text(text.content.clone()))
}

fn mp_engine(mode: Mode) -> Engine {
    mp_engine_with(mode, echo_router())
}

pub(crate) fn mp_engine_with(mode: Mode, router: Router) -> Engine {
    let mut config = Config::official_account(Token::new(defaults::TOKEN).unwrap(), APPID)
        .with_timestamp_tolerance(std::time::Duration::from_secs(300))
        .with_mode(mode);
    if mode != Mode::Plain {
        config = config.with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap());
    }
    Engine::new(config, router).unwrap()
}

fn wecom_engine() -> Engine {
    let config = Config::wecom(
        Token::new(defaults::TOKEN).unwrap(),
        EncodingAesKey::new(KEY).unwrap(),
        CORPID,
    );
    Engine::new(config, echo_router()).unwrap()
}

pub(crate) fn mp_sender(mode: Mode) -> Sender {
    match mode {
        Mode::Plain => Sender::plain(defaults::TOKEN),
        mode => Sender::official_account(defaults::TOKEN, KEY, APPID, mode).unwrap(),
    }
}

/// Sends `content` as a text message and returns the endpoint's answer.
fn send_text(client: &Client, url: &str, sender: &Sender, content: &str) -> http::Response<Bytes> {
    // A fresh MsgId, as WeChat gives every message: the engine answers a repeated one from
    // its dedup store.
    send_text_with_id(client, url, sender, content, rand::random::<u64>() >> 1)
}

/// Sends `content` as the text message `msg_id` (a retry when it was sent before).
pub(crate) fn send_text_with_id(
    client: &Client,
    url: &str,
    sender: &Sender,
    content: &str,
    msg_id: u64,
) -> http::Response<Bytes> {
    let xml = text_xml(sender, content, msg_id);
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let random: [u8; 16] = rand::random();
    let built = sender
        .message(&xml, &timestamp, &nonce, Some(defaults::OPENID), &random)
        .unwrap();
    client.send(built.http_request(url).unwrap()).unwrap()
}

pub(crate) fn text_xml(sender: &Sender, content: &str, msg_id: u64) -> String {
    Callback::Text(content.to_owned()).to_xml(
        defaults::OPENID,
        defaults::TO_USER_NAME,
        1_700_000_000,
        msg_id,
        sender.is_wecom().then_some("1000002"),
    )
}

/// The reply's `Content`, after checking it is encrypted when it should be, verifies,
/// decrypts for the right receive id and is addressed back to the sender.
pub(crate) fn reply_content(
    sender: &Sender,
    response: &http::Response<Bytes>,
    encrypted: bool,
) -> String {
    let reply = simulate::read_reply(sender, response, sender.encrypts()).unwrap();
    let simulate::Reply::Message {
        body: xml,
        encrypted: was,
    } = reply
    else {
        panic!("empty reply")
    };
    assert_eq!(was, encrypted, "reply encryption");
    let root = simulate::check_addressing(&xml, defaults::OPENID, defaults::TO_USER_NAME).unwrap();
    root.child_text("Content").unwrap().to_owned()
}

fn echostr_plain(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Plain));
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built =
        Sender::plain(defaults::TOKEN).echostr("5837397520665436492", &timestamp, &nonce, &[0; 16]);
    let response = Client::default()
        .send(built.http_request(&url).unwrap())
        .unwrap();
    simulate::check_echo(&response, "5837397520665436492").unwrap();
}

fn echostr_wecom_encrypted(adapter: Adapter) {
    let url = spawn(adapter, wecom_engine());
    let sender = Sender::wecom(defaults::TOKEN, KEY, CORPID, None).unwrap();
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = sender.echostr("1616140317555161061", &timestamp, &nonce, &rand::random());
    assert_ne!(built.query_value("echostr"), Some("1616140317555161061"));
    let response = Client::default()
        .send(built.http_request(&url).unwrap())
        .unwrap();
    simulate::check_echo(&response, "1616140317555161061").unwrap();
}

fn post_in_every_mode(adapter: Adapter) {
    let client = Client::default();
    for mode in [Mode::Plain, Mode::Safe, Mode::Compatible] {
        let url = spawn(adapter, mp_engine(mode));
        let sender = mp_sender(mode);
        let content = format!("{mode:?}: 你好 <&> ]]> 😀");
        let response = send_text(&client, &url, &sender, &content);
        assert_eq!(
            reply_content(&sender, &response, mode != Mode::Plain),
            content
        );
    }
    // Compatible mode also takes plaintext requests, and answers them in plaintext.
    let url = spawn(adapter, mp_engine(Mode::Compatible));
    let plain = mp_sender(Mode::Plain);
    let response = send_text(&client, &url, &plain, "plain in compat");
    assert_eq!(reply_content(&plain, &response, false), "plain in compat");
    // WeCom: encrypted both ways.
    let url = spawn(adapter, wecom_engine());
    let sender = Sender::wecom(defaults::TOKEN, KEY, CORPID, Some("1000002".into())).unwrap();
    let response = send_text(&client, &url, &sender, "企业微信");
    assert_eq!(reply_content(&sender, &response, true), "企业微信");
}

/// Every fixture over HTTP answers exactly as in-process: same status, same body (encrypted
/// replies compared after opening, since each carries fresh random bytes and nonce); and the
/// CLI's `replay --url` path passes each case.
fn fixtures_match_in_process(adapter: Adapter) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
    let files = fixture::collect(&[root.into()]).unwrap();
    assert!(files.len() > 150, "only {} fixtures", files.len());
    let client = Client::default();
    let mut servers: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        let fixture = Fixture::load(file).unwrap();
        let key = serde_json::to_string(&fixture.config).unwrap();
        let url = servers
            .entry(key)
            // Fixtures are separate cases, and some reuse a MsgId with other content: without
            // this a shared server would answer them from its dedup store.
            .or_insert_with(|| spawn(adapter, fixture.config.engine().unwrap().without_dedup()))
            .clone();
        let engine = fixture.config.engine().unwrap();
        let local = engine.handle(fixture.http_request("/wechat").unwrap());
        let remote = client.send(fixture.http_request(&url).unwrap()).unwrap();
        let name = &fixture.name;
        assert_eq!(remote.status(), local.status(), "{name}: status");
        assert_eq!(
            opened(&engine, &fixture, remote.body()),
            opened(&engine, &fixture, local.body()),
            "{name}: body"
        );
        // An authorizer's case goes to `URL/{authorizer_appid}`, which only a server of an
        // accounts file routes (`cli/tests/simulate.rs`, `scripts/accounts-demo.sh`); this
        // server serves one engine at `/wechat`.
        if fixture.config.authorizer_appid.is_none() {
            let outcome = fixture::run_over_http(&fixture, &url, &client, false);
            assert!(outcome.pass, "{name}: {:?}", outcome.problems);
        }
    }
    assert!(servers.len() > 10, "{} accounts", servers.len());
}

/// A body with an encrypted reply opened (signature checked, decrypted); any other as is.
fn opened(engine: &Engine, fixture: &Fixture, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body).into_owned();
    match (
        EncryptedReply::from_xml(&text),
        wechat_callback::adapter::crypt(engine),
    ) {
        (Ok(envelope), Some(crypt)) => envelope
            .open(crypt, &Token::new(fixture.config.token.as_str()).unwrap())
            .unwrap(),
        _ => text,
    }
}

fn wrong_method_is_405(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Plain));
    let request = http::Request::builder()
        .method("PUT")
        .uri(&url)
        .body(Bytes::from_static(b"<xml/>"))
        .unwrap();
    let response = Client::default().send(request).unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

/// Writes `head` and `body` on a raw connection, then reads the answer's status line.
fn raw_exchange(url: &str, head: &str, body: &[u8]) -> String {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before taking all of it: that is the point.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// `CONNECT` (whose body is a tunnel that never ends) gets 405 at once, not a timeout.
fn connect_is_405_at_once(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Plain));
    let started = std::time::Instant::now();
    let status = raw_exchange(&url, "CONNECT /wechat HTTP/1.1\r\nHost: x\r\n\r\n", b"");
    assert!(status.starts_with("HTTP/1.1 405"), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A `Content-Length` of 100 MB gets 413 after 1 KB has been sent: nothing waits for the rest.
fn announced_oversized_body_is_413_unread(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Plain));
    let head = "POST /wechat?signature=x&timestamp=1&nonce=2 HTTP/1.1\r\nHost: localhost\r\n\
                Content-Length: 100000000\r\n\r\n";
    let status = raw_exchange(&url, head, &[b'x'; 1024]);
    assert!(status.contains(" 413 "), "{status:?}");
}

/// A chunked body (no length announced) is cut off once it passes the cap: 413 arrives while
/// the body is still unfinished (no last chunk was ever sent).
fn chunked_oversized_body_is_413_when_it_passes_the_cap(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Plain));
    let head = "POST /wechat?signature=x&timestamp=1&nonce=2 HTTP/1.1\r\nHost: localhost\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    let chunk = [b'y'; 64 * 1024];
    let mut body = Vec::new();
    for _ in 0..9 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    let status = raw_exchange(&url, head, &body);
    assert!(status.contains(" 413 "), "{status:?}");
}

/// A body that stops arriving gets 408 once the read timeout passes; nothing hangs.
fn a_stalled_body_is_408(adapter: Adapter) {
    let config = Config::official_account(Token::new(defaults::TOKEN).unwrap(), APPID)
        .with_body_read_timeout(Duration::from_millis(300));
    let url = spawn(adapter, Engine::new(config, echo_router()).unwrap());
    let head = "POST /wechat?signature=x&timestamp=1&nonce=2 HTTP/1.1\r\nHost: localhost\r\n\
                Content-Length: 100\r\n\r\n";
    let status = raw_exchange(&url, head, b"<xml><a>");
    assert!(status.contains(" 408 "), "{status:?}");
}

fn bad_signature_wrong_appid_and_bad_xml(adapter: Adapter) {
    let client = Client::default();
    let url = spawn(adapter, mp_engine(Mode::Safe));
    let wrong_token = Sender::official_account("not-the-token", KEY, APPID, Mode::Safe).unwrap();
    assert_eq!(send_text(&client, &url, &wrong_token, "x").status(), 401);
    let other_appid =
        Sender::official_account(defaults::TOKEN, KEY, "wx_other", Mode::Safe).unwrap();
    assert_eq!(send_text(&client, &url, &other_appid, "x").status(), 403);
    let plain_url = spawn(adapter, mp_engine(Mode::Plain));
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = Sender::plain(defaults::TOKEN)
        .message("<xml><Content>", &timestamp, &nonce, None, &[0; 16])
        .unwrap();
    let response = client
        .send(built.http_request(&plain_url).unwrap())
        .unwrap();
    assert_eq!(response.status(), 400);
    let doctype = "<!DOCTYPE xml [<!ENTITY a \"b\">]><xml><Content>&a;</Content></xml>";
    let built = Sender::plain(defaults::TOKEN)
        .message(doctype, &timestamp, &nonce, None, &[0; 16])
        .unwrap();
    let response = client
        .send(built.http_request(&plain_url).unwrap())
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// A hundred safe-mode messages at once, each answered with its own content.
fn a_hundred_concurrent_requests(adapter: Adapter) {
    let url = spawn(adapter, mp_engine(Mode::Safe));
    let client = Client::default();
    let sender = mp_sender(Mode::Safe);
    let barrier = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let (url, client, sender, barrier) = (
                url.clone(),
                client.clone(),
                sender.clone(),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                let content = format!("message {i} 消息");
                barrier.wait();
                let response = send_text(&client, &url, &sender, &content);
                assert_eq!(reply_content(&sender, &response, true), content);
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a request failed");
    }
}

/// The echo examples' defaults are `wxcb simulate`'s defaults: a server built from no
/// `WECHAT_*` variables answers a simulated callback built from none either.
fn echo_example_defaults_match_simulate(adapter: Adapter) {
    assert_eq!(echo_support::DEMO_TOKEN, defaults::TOKEN);
    assert_eq!(echo_support::DEMO_APPID, defaults::APPID);
    let settings = echo_support::Settings::from_lookup(|_| None).unwrap();
    let url = spawn(
        adapter,
        Engine::new(settings.config, echo_support::router()).unwrap(),
    );
    let client = Client::default();
    let sender = Sender::plain(defaults::TOKEN);
    let response = send_text(&client, &url, &sender, "hello");
    assert_eq!(reply_content(&sender, &response, false), "hello");
    let xml = Callback::Event {
        event: "subscribe".into(),
        event_key: None,
    }
    .to_xml(defaults::OPENID, defaults::TO_USER_NAME, 1, 0, None);
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = sender
        .message(&xml, &timestamp, &nonce, None, &[0; 16])
        .unwrap();
    let response = client.send(built.http_request(&url).unwrap()).unwrap();
    assert_eq!(
        reply_content(&sender, &response, false),
        echo_support::WELCOME
    );
}

/// A handler that panics costs its own request a 500; the next request is served.
fn a_panicking_handler_costs_one_request(adapter: Adapter) {
    let router = Router::new().on_text(|text: &Text| {
        assert!(text.content != "panic", "handler panicked on purpose");
        Reply::text(text.content.clone())
    });
    let config = Config::official_account(Token::new(defaults::TOKEN).unwrap(), APPID);
    let url = spawn(adapter, Engine::new(config, router).unwrap());
    let client = Client::default();
    let sender = mp_sender(Mode::Plain);
    // The engine catches the panic and answers `success`, so WeChat shows the user nothing
    // broken; the server goes on serving.
    let response = send_text(&client, &url, &sender, "panic");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"success");
    let response = send_text(&client, &url, &sender, "after");
    assert_eq!(reply_content(&sender, &response, false), "after");
}

/// An async handler that awaits something answers as a synchronous one does.
fn a_fast_async_handler_replies_as_usual(adapter: Adapter) {
    let router = Router::new().on_text(|text: Text| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Reply::text(format!("async: {}", text.content))
    });
    let config = Config::official_account(Token::new(defaults::TOKEN).unwrap(), APPID)
        .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
        .with_mode(Mode::Safe);
    let url = spawn(adapter, Engine::new(config, router).unwrap());
    let sender = mp_sender(Mode::Safe);
    let response = send_text(&Client::default(), &url, &sender, "你好");
    assert_eq!(reply_content(&sender, &response, true), "async: 你好");
}

type Lates = Arc<std::sync::Mutex<Vec<wechat_callback::adapter::LateReply>>>;

/// An engine whose text handler sleeps the milliseconds the text names (`slow:N`), counting
/// its runs, with `deadline` and a late-reply hook that records what it gets.
fn slow_engine(deadline: Duration, runs: &Arc<AtomicUsize>, lates: &Lates) -> Engine {
    let runs = Arc::clone(runs);
    let router = Router::new().on_text(move |text: Text| {
        let runs = Arc::clone(&runs);
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let ms: u64 = text
                .content
                .trim_start_matches("slow:")
                .parse()
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Reply::text(format!("slept {ms} ms"))
        }
    });
    let lates = Arc::clone(lates);
    mp_engine_with(Mode::Safe, router)
        .with_deadline(deadline)
        .with_late_reply_hook(move |late| {
            let lates = Arc::clone(&lates);
            async move { lates.lock().unwrap().push(late) }
        })
}

/// Past the deadline the answer is `success`, in time; the reply goes to the hook once; the
/// retries, during the run and after it, never run the handler again.
fn a_slow_handler_is_answered_success_and_its_reply_comes_late(adapter: Adapter) {
    let deadline = Duration::from_millis(400);
    let (runs, lates) = (Arc::new(AtomicUsize::new(0)), Lates::default());
    let url = spawn(adapter, slow_engine(deadline, &runs, &lates));
    let sender = mp_sender(Mode::Safe);
    let client = Client::default();
    let msg_id = rand::random::<u64>() >> 1;
    let started = std::time::Instant::now();
    let first = {
        let (client, url, sender) = (client.clone(), url.clone(), sender.clone());
        std::thread::spawn(move || {
            let response = send_text_with_id(&client, &url, &sender, "slow:1500", msg_id);
            (response, started.elapsed())
        })
    };
    // A retry while the first delivery runs (WeChat's own retries come 5 s apart).
    std::thread::sleep(Duration::from_millis(100));
    let during = send_text_with_id(&client, &url, &sender, "slow:1500", msg_id);
    let (first, took) = first.join().unwrap();
    for response in [&first, &during] {
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"success");
    }
    assert!(took >= deadline, "answered before the deadline: {took:?}");
    assert!(
        took < deadline + Duration::from_secs(1),
        "answered late: {took:?}"
    );
    // The handler goes on; its reply reaches the hook once it finishes, and only once.
    let waited = std::time::Instant::now();
    while lates.lock().unwrap().is_empty() && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = send_text_with_id(&client, &url, &sender, "slow:1500", msg_id);
    assert_eq!(after.body().as_ref(), b"success", "a retry after the run");
    std::thread::sleep(Duration::from_millis(200));
    let lates = lates.lock().unwrap();
    assert_eq!(lates.len(), 1, "{lates:?}");
    let late = &lates[0];
    assert_eq!(late.reply, Reply::text("slept 1500 ms"));
    assert_eq!(late.openid, defaults::OPENID);
    assert_eq!(&*late.appid, APPID);
    assert_eq!(late.msg_id.as_deref(), Some(msg_id.to_string().as_str()));
    assert_eq!(late.kind, wechat_callback::message::Kind::Text);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");
}

/// A thousand slow handlers in flight (each its own connection) do not stop fast requests.
fn a_thousand_slow_handlers_do_not_stop_fast_requests(adapter: Adapter) {
    let (runs, lates) = (Arc::new(AtomicUsize::new(0)), Lates::default());
    let url = spawn(adapter, slow_engine(Duration::from_secs(4), &runs, &lates));
    let sender = mp_sender(Mode::Safe);
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/wechat")
        .to_owned();
    let mut slow: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let xml = text_xml(&sender, "slow:6000", 10_000 + i);
            let (timestamp, nonce) = fresh_timestamp_and_nonce();
            let built = sender
                .message(&xml, &timestamp, &nonce, None, &rand::random())
                .unwrap();
            let request = built.http_request(&url).unwrap();
            let mut stream = TcpStream::connect(&address).expect("connect");
            let head = format!(
                "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\n\r\n",
                request.uri().path_and_query().unwrap(),
                request.body().len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(request.body()).unwrap();
            stream
        })
        .collect();
    let waited = std::time::Instant::now();
    while runs.load(Ordering::SeqCst) < 1000 && waited.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1000,
        "every slow handler started"
    );
    let client = Client::default();
    for i in 0..5 {
        let started = std::time::Instant::now();
        let response = send_text(&client, &url, &sender, "slow:0");
        assert_eq!(
            reply_content(&sender, &response, true),
            "slept 0 ms",
            "fast #{i}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "fast #{i} took {:?} behind the slow ones",
            started.elapsed()
        );
    }
    // The slow ones are answered `success` at the deadline.
    for stream in &mut slow[..10] {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 256];
        let n = stream.read(&mut buf).expect("an answer");
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("success"), "{answer}");
    }
}

/// An async handler that panics is answered `success`; the server goes on.
fn a_panicking_async_handler_is_answered_success(adapter: Adapter) {
    let router = Router::new().on_text(|text: Text| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(text.content != "panic", "async handler panicked on purpose");
        Reply::text(text.content.to_string())
    });
    let url = spawn(adapter, mp_engine_with(Mode::Plain, router));
    let client = Client::default();
    let sender = mp_sender(Mode::Plain);
    let response = send_text(&client, &url, &sender, "panic");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"success");
    let response = send_text(&client, &url, &sender, "after");
    assert_eq!(reply_content(&sender, &response, false), "after");
}

/// A handler marked `blocking` runs on the pool and answers as usual, and a blocked pool
/// thread does not hold up the inline handlers.
fn a_blocking_handler_runs_on_the_pool(adapter: Adapter) {
    let router = Router::new()
        .on_text(|text: &Text| (text.content == "fast").then_some("fast"))
        .on_text(wechat_callback::blocking(|text: &Text| {
            std::thread::sleep(Duration::from_millis(300));
            Reply::text(format!("blocked: {}", text.content))
        }));
    let url = spawn(adapter, mp_engine_with(Mode::Plain, router));
    let client = Client::default();
    let sender = mp_sender(Mode::Plain);
    let slow = {
        let (client, url, sender) = (client.clone(), url.clone(), sender.clone());
        std::thread::spawn(move || send_text(&client, &url, &sender, "slow"))
    };
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let fast = send_text(&client, &url, &sender, "fast");
    assert_eq!(reply_content(&sender, &fast, false), "fast");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    let slow = slow.join().unwrap();
    assert_eq!(reply_content(&sender, &slow, false), "blocked: slow");
}

macro_rules! suite {
    ($name:ident, $adapter:expr) => {
        mod $name {
            use super::Adapter;
            const ADAPTER: Adapter = $adapter;

            #[test]
            fn echostr_plain() {
                super::echostr_plain(ADAPTER);
            }
            #[test]
            fn echostr_wecom_encrypted() {
                super::echostr_wecom_encrypted(ADAPTER);
            }
            #[test]
            fn post_in_every_mode() {
                super::post_in_every_mode(ADAPTER);
            }
            #[test]
            fn fixtures_match_in_process() {
                super::fixtures_match_in_process(ADAPTER);
            }
            #[test]
            fn wrong_method_is_405() {
                super::wrong_method_is_405(ADAPTER);
            }
            #[test]
            fn announced_oversized_body_is_413_unread() {
                super::announced_oversized_body_is_413_unread(ADAPTER);
            }
            #[test]
            fn chunked_oversized_body_is_413_when_it_passes_the_cap() {
                super::chunked_oversized_body_is_413_when_it_passes_the_cap(ADAPTER);
            }
            #[test]
            fn a_stalled_body_is_408() {
                super::a_stalled_body_is_408(ADAPTER);
            }
            #[test]
            fn bad_signature_wrong_appid_and_bad_xml() {
                super::bad_signature_wrong_appid_and_bad_xml(ADAPTER);
            }
            #[test]
            fn a_hundred_concurrent_requests() {
                super::a_hundred_concurrent_requests(ADAPTER);
            }
            #[test]
            fn a_panicking_handler_costs_one_request() {
                super::a_panicking_handler_costs_one_request(ADAPTER);
            }
            #[test]
            fn echo_example_defaults_match_simulate() {
                super::echo_example_defaults_match_simulate(ADAPTER);
            }
            #[test]
            fn connect_is_405_at_once() {
                super::connect_is_405_at_once(ADAPTER);
            }
            #[test]
            fn a_fast_async_handler_replies_as_usual() {
                super::a_fast_async_handler_replies_as_usual(ADAPTER);
            }
            #[test]
            fn a_slow_handler_is_answered_success_and_its_reply_comes_late() {
                super::a_slow_handler_is_answered_success_and_its_reply_comes_late(ADAPTER);
            }
            #[test]
            fn a_thousand_slow_handlers_do_not_stop_fast_requests() {
                super::a_thousand_slow_handlers_do_not_stop_fast_requests(ADAPTER);
            }
            #[test]
            fn a_panicking_async_handler_is_answered_success() {
                super::a_panicking_async_handler_is_answered_success(ADAPTER);
            }
            #[test]
            fn a_blocking_handler_runs_on_the_pool() {
                super::a_blocking_handler_runs_on_the_pool(ADAPTER);
            }
        }
    };
}

suite!(on_hyper, Adapter::Hyper);
suite!(on_axum, Adapter::Axum);
suite!(on_actix, Adapter::Actix);
suite!(on_warp, Adapter::Warp);

/// Starts hyper's or warp's `serve_with` (actix: `with_limits` and `run`) on a free port with `limits`, until `stop` fires;
/// the thread's result says when `serve_with` returned.
fn spawn_with_limits(
    adapter: Adapter,
    engine: Engine,
    limits: wechat_callback_tokio::Limits,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (
    std::net::SocketAddr,
    std::thread::JoinHandle<std::time::Instant>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    if adapter == Adapter::Actix {
        let server = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let mount = wechat_callback_actix::configure("/wechat", engine);
                let app = move || actix_web::App::new().configure(mount.clone());
                let server =
                    wechat_callback_actix::with_limits(actix_web::HttpServer::new(app), &limits, 1)
                        .disable_signals()
                        .listen(listener)
                        .expect("listen")
                        .run();
                let handle = server.handle();
                actix_web::rt::spawn(async move {
                    let _ = stop.await;
                    handle.stop(true).await;
                });
                wechat_callback_actix::run(server, &limits)
                    .await
                    .expect("serve");
            });
            std::time::Instant::now()
        });
        wait_until_listening(addr);
        return (addr, server);
    }
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let stop = async move {
                let _ = stop.await;
            };
            match adapter {
                Adapter::Warp => {
                    use warp::Filter as _;
                    let routes = warp::path("wechat")
                        .and(warp::path::end())
                        .and(wechat_callback_warp::filter(engine));
                    let service = warp::service(routes);
                    wechat_callback_warp::serve_with(listener, service, limits, stop).await
                }
                _ => {
                    let service = wechat_callback_hyper::service(engine).at("/wechat");
                    wechat_callback_hyper::serve_with(listener, service, limits, stop).await
                }
            }
            .expect("serve");
        });
        std::time::Instant::now()
    });
    wait_until_listening(addr);
    (addr, server)
}

/// `serve_with` stops accepting at its limit: with both slots held by idle connections a
/// third client waits, and is served as soon as one closes.
fn serve_caps_open_connections(adapter: Adapter) {
    let limits = wechat_callback_tokio::Limits::default().with_max_connections(2);
    let (_stop, stop) = tokio::sync::oneshot::channel();
    let (addr, _server) = spawn_with_limits(adapter, mp_engine(Mode::Plain), limits, stop);
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(addr).expect("the OS backlog still accepts");
    third
        .write_all(b"PUT /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        third.read(&mut buf).is_err(),
        "served past the limit of 2 connections"
    );
    drop(idle);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = third.read(&mut buf).expect("served once a slot freed");
    assert!(buf[..n].starts_with(b"HTTP/1.1 405"), "{:?}", &buf[..n]);
}

/// A client that never finishes its request head (slowloris), and one that goes quiet on a
/// kept-alive connection, are cut off after the head timeout.
fn slow_and_idle_clients_are_cut_off(adapter: Adapter) {
    let limits = wechat_callback_tokio::Limits::default()
        .with_header_read_timeout(Duration::from_millis(500));
    let (_stop, stop) = tokio::sync::oneshot::channel();
    let (addr, _server) = spawn_with_limits(adapter, mp_engine(Mode::Plain), limits, stop);
    let mut slowloris = TcpStream::connect(addr).expect("connect");
    slowloris
        .write_all(b"POST /wechat HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut idle = TcpStream::connect(addr).expect("connect");
    idle.write_all(b"PUT /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    for stream in [&mut slowloris, &mut idle] {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(error) => panic!("still open after {:?}: {error}", started.elapsed()),
            }
        }
        let seen = String::from_utf8_lossy(&seen);
        assert!(!seen.contains("HTTP/1.1 200"), "{seen}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Shutdown stops accepting, lets the in-flight request answer, lets a handler past its
/// deadline reach the late-reply hook, then returns.
fn shutdown_waits_for_in_flight_work(adapter: Adapter) {
    let (runs, lates) = (Arc::new(AtomicUsize::new(0)), Lates::default());
    let engine = slow_engine(Duration::from_millis(300), &runs, &lates);
    let (stop_now, stop) = tokio::sync::oneshot::channel();
    let (addr, server) = spawn_with_limits(
        adapter,
        engine,
        wechat_callback_tokio::Limits::default(),
        stop,
    );
    let url = format!("http://{addr}/wechat");
    let sender = mp_sender(Mode::Safe);
    let client = Client::default();
    let (in_time, late) = {
        let (c1, u1, s1) = (client.clone(), url.clone(), sender.clone());
        let (c2, u2, s2) = (client.clone(), url.clone(), sender.clone());
        (
            std::thread::spawn(move || send_text(&c1, &u1, &s1, "slow:200")),
            std::thread::spawn(move || send_text(&c2, &u2, &s2, "slow:1000")),
        )
    };
    std::thread::sleep(Duration::from_millis(100));
    stop_now.send(()).unwrap();
    let in_time = in_time.join().unwrap();
    assert_eq!(reply_content(&sender, &in_time, true), "slept 200 ms");
    assert_eq!(late.join().unwrap().body().as_ref(), b"success");
    let returned = server.join().unwrap();
    let lates = lates.lock().unwrap();
    assert_eq!(
        lates.len(),
        1,
        "the late handler finished before serve returned"
    );
    assert_eq!(lates[0].reply, Reply::text("slept 1000 ms"));
    assert!(returned.elapsed() < Duration::from_secs(5));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn hyper_serve_caps_open_connections() {
    serve_caps_open_connections(Adapter::Hyper);
}

#[test]
fn warp_serve_caps_open_connections() {
    serve_caps_open_connections(Adapter::Warp);
}

#[test]
fn hyper_cuts_off_slow_and_idle_clients() {
    slow_and_idle_clients_are_cut_off(Adapter::Hyper);
}

#[test]
fn warp_cuts_off_slow_and_idle_clients() {
    slow_and_idle_clients_are_cut_off(Adapter::Warp);
}

#[test]
fn actix_caps_open_connections() {
    serve_caps_open_connections(Adapter::Actix);
}

#[test]
fn actix_cuts_off_slow_and_idle_clients() {
    slow_and_idle_clients_are_cut_off(Adapter::Actix);
}

#[test]
fn hyper_shutdown_waits_for_in_flight_work() {
    shutdown_waits_for_in_flight_work(Adapter::Hyper);
}

#[test]
fn warp_shutdown_waits_for_in_flight_work() {
    shutdown_waits_for_in_flight_work(Adapter::Warp);
}

#[test]
fn actix_shutdown_waits_for_in_flight_work() {
    shutdown_waits_for_in_flight_work(Adapter::Actix);
}

/// Set in the child process of [`recovers_from_running_out_of_descriptors`].
const FD_CHILD: &str = "WXCB_TEST_FD_CHILD";
/// The child's line on stdout that gives its address.
const FD_CHILD_ADDR: &str = "fd-child listening on ";

/// Kills the child server however the test ends.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server that runs out of file descriptors (`accept` fails with EMFILE) keeps going: once
/// the head timeout closes idle connections, it accepts again and answers. The server runs in
/// a child process (this same test, `test_name`, re-run with [`FD_CHILD`] set) limited to 64
/// descriptors with `ulimit -n`; 150 idle connections exhaust them.
fn recovers_from_running_out_of_descriptors(adapter: Adapter, test_name: &str) {
    use std::io::BufRead as _;
    if std::env::var_os(FD_CHILD).is_some() {
        let limits = wechat_callback_tokio::Limits::default()
            .with_header_read_timeout(Duration::from_secs(1));
        let (_stop, stop) = tokio::sync::oneshot::channel();
        let (addr, server) = spawn_with_limits(adapter, mp_engine(Mode::Plain), limits, stop);
        println!("{FD_CHILD_ADDR}{addr}");
        let _ = server.join();
        unreachable!("the server stopped");
    }
    let child = std::process::Command::new("sh")
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().expect("test binary"))
        .args(["--exact", test_name, "--nocapture", "--test-threads", "1"])
        .env(FD_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let addr: std::net::SocketAddr = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // libtest prints the test's name first, on the same line.
        .find_map(|line| {
            line.split_once(FD_CHILD_ADDR)
                .map(|(_, addr)| addr.trim().to_owned())
        })
        .expect("the child's address")
        .parse()
        .expect("an address");
    // The kernel completes these connections into the listen backlog; the server accepts
    // until it has no descriptor left.
    let flood: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut client = TcpStream::connect(addr).expect("connect");
    client
        .write_all(b"PUT /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        client.read(&mut buf).is_err(),
        "answered at once: the server never ran out of descriptors"
    );
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let n = client
        .read(&mut buf)
        .expect("answered once descriptors were freed");
    assert!(buf[..n].starts_with(b"HTTP/1.1 405"), "{:?}", &buf[..n]);
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "the server exited"
    );
    drop(flood);
}

#[test]
fn hyper_recovers_from_running_out_of_descriptors() {
    recovers_from_running_out_of_descriptors(
        Adapter::Hyper,
        "adapters::hyper_recovers_from_running_out_of_descriptors",
    );
}

#[test]
fn warp_recovers_from_running_out_of_descriptors() {
    recovers_from_running_out_of_descriptors(
        Adapter::Warp,
        "adapters::warp_recovers_from_running_out_of_descriptors",
    );
}

#[test]
fn actix_recovers_from_running_out_of_descriptors() {
    recovers_from_running_out_of_descriptors(
        Adapter::Actix,
        "adapters::actix_recovers_from_running_out_of_descriptors",
    );
}

/// Three accounts of three platforms on one server, with one router: each answers its own
/// requests, handlers learn which account called, and an unknown id gets 404.
fn many_accounts_share_one_server(adapter: Adapter) {
    let text = "[[account]]\nid = \"shop\"\nplatform = \"mp\"\nappid = \"wx5e7c1d9a0b3f2468\"\n\
                token = \"${SHOP_TOKEN}\"\nencoding_aes_key = \"${KEY}\"\nmode = \"safe\"\n\
                timestamp_tolerance_s = 300\n\n\
                [[account]]\nid = \"corp\"\nplatform = \"wecom\"\nappid = \"ww0123456789abcdef\"\n\
                token = \"corpToken\"\nencoding_aes_key = \"${KEY}\"\n\n\
                [[account]]\nid = \"mini\"\nplatform = \"miniprogram\"\nappid = \"wxba5fad812f8e6fb9\"\n\
                token = \"AAAAA\"\nencoding_aes_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n\
                mode = \"safe\"\nformat = \"json\"\n\n\
                [[account]]\nid = \"op\"\nplatform = \"open_platform\"\nappid = \"wx9c1d0a2b3e4f5061\"\n\
                token = \"opToken\"\nencoding_aes_key = \"${KEY}\"\n\n\
                [[account]]\nid = \"suite\"\nplatform = \"wecom_suite\"\nappid = \"ww9c1d0a2b3e4f5062\"\n\
                token = \"suiteToken\"\nencoding_aes_key = \"${KEY}\"\nprovider_corpid = \"wwprovider000001\"\n";
    let env = |name: &str| match name {
        "SHOP_TOKEN" => Some(defaults::TOKEN.to_owned()),
        "KEY" => Some(KEY.to_owned()),
        _ => None,
    };
    let router = |_: &wechat_callback::accounts::Account| {
        Router::new().on_text(|text: &Text, callback: &wechat_callback::Callback| {
            let account = callback.account_id().unwrap_or("?");
            match callback.on_behalf_of() {
                Some(authorizer) => {
                    Reply::text(format!("{account}/{authorizer}: {}", text.content))
                }
                None => Reply::text(format!("{account}: {}", text.content)),
            }
        })
    };
    let accounts =
        wechat_callback::accounts::Accounts::from_file(text, env, router, |_, e| e).unwrap();
    let base = spawn_accounts(adapter, accounts);
    let client = Client::default();

    let shop = mp_sender(Mode::Safe);
    let response = send_text(&client, &format!("{base}/shop"), &shop, "你好");
    assert_eq!(reply_content(&shop, &response, true), "shop: 你好");

    let corp = Sender::wecom("corpToken", KEY, CORPID, Some("1000002".into())).unwrap();
    let response = send_text(&client, &format!("{base}/corp"), &corp, "hi");
    assert_eq!(response.status(), 200);
    // The shop's message sent to the corp's URL fails the corp's checks.
    let misdirected = send_text(&client, &format!("{base}/corp"), &shop, "lost");
    assert_eq!(misdirected.status(), 401);

    // The official mini-program vector, at the mini-program's URL.
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "{base}/mini?signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
        ))
        .header("content-type", "text/xml")
        .body(Bytes::from(format!(
            "{{\"ToUserName\":\"gh_97417a04a28d\",\"Encrypt\":\"{}\"}}",
            crate::miniprogram::ENCRYPT
        )))
        .unwrap();
    let response = client.send(request).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"success");

    // An open-platform authorizer's message at /wechat/{id}/{authorizer_appid}: decrypted
    // with the component's key and appid; the handler learns the authorizer.
    let op = Sender::official_account("opToken", KEY, "wx9c1d0a2b3e4f5061", Mode::Safe).unwrap();
    let response = send_text(&client, &format!("{base}/op/wxauthorizer0001"), &op, "代收");
    assert_eq!(
        reply_content(&op, &response, true),
        "op/wxauthorizer0001: 代收"
    );
    let response = send_text(&client, &format!("{base}/op"), &op, "自己");
    assert_eq!(reply_content(&op, &response, true), "op: 自己");

    // A WeCom suite: command callbacks for the suite id at /wechat/suite, data callbacks from
    // an authorizing corp at /wechat/suite/{corpid}, encrypted (and answered) for that corpid,
    // URL verification for the provider's corpid.
    let data = Sender::wecom("suiteToken", KEY, "wwauthcorp000001", None).unwrap();
    let response = send_text(
        &client,
        &format!("{base}/suite/wwauthcorp000001"),
        &data,
        "数据",
    );
    assert_eq!(
        reply_content(&data, &response, true),
        "suite/wwauthcorp000001: 数据"
    );
    let command = Sender::wecom("suiteToken", KEY, "ww9c1d0a2b3e4f5062", None).unwrap();
    let ticket = "<xml><SuiteId><![CDATA[ww9c1d0a2b3e4f5062]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
                  <TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[t]]></SuiteTicket></xml>";
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = command
        .message(ticket, &timestamp, &nonce, None, &[3; 16])
        .unwrap();
    let response = client
        .send(built.http_request(&format!("{base}/suite")).unwrap())
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"success");
    // The data callback sent to the command URL fails the receive-id check (-40005).
    let response = send_text(&client, &format!("{base}/suite"), &data, "misrouted");
    assert_eq!(response.status(), 403);
    let provider = Sender::wecom("suiteToken", KEY, "wwprovider000001", None).unwrap();
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let echo = provider.echostr("echo-123", &timestamp, &nonce, &[4; 16]);
    let response = client
        .send(echo.http_request(&format!("{base}/suite")).unwrap())
        .unwrap();
    assert_eq!(response.body().as_ref(), b"echo-123");

    for path in ["/nobody", "", "/shop/extra", "/", "/op/bad%2Fid", "/op/a/b"] {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{base}{path}"))
            .body(Bytes::from_static(b"<xml/>"))
            .unwrap();
        let response = client.send(request).unwrap();
        assert_eq!(response.status(), 404, "{path:?}");
    }
}

#[test]
fn hyper_serves_many_accounts() {
    many_accounts_share_one_server(Adapter::Hyper);
}

#[test]
fn axum_serves_many_accounts() {
    many_accounts_share_one_server(Adapter::Axum);
}

#[test]
fn actix_serves_many_accounts() {
    many_accounts_share_one_server(Adapter::Actix);
}

#[test]
fn warp_serves_many_accounts() {
    many_accounts_share_one_server(Adapter::Warp);
}
