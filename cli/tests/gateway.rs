//! `wxcb serve`, the real binary, on 127.0.0.1: against the 20-line Python backend in
//! `examples/`, and against a backend of this test's own that records what it gets and answers
//! as told (every reply type, `{}`, 204, slow, failing, unreachable).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::Value;
use wechat_callback_cli::build::{Sender, fresh_timestamp_and_nonce};
use wechat_callback_cli::simulate::{self, Callback, defaults};
use wechat_callback_cli::wire::Client;

const SECRET: &str = "backend-shared-secret";

/// A child process killed however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until_listening(port: u16) {
    for _ in 0..500 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nothing listens on {port}");
}

/// `wxcb serve` on a free port, forwarding to `forward`, its log in a file; the demo account
/// of no `WECHAT_*` variables (plain mode), `deadline_ms` its deadline.
struct Gateway {
    _process: Running,
    url: String,
    port: u16,
    log: std::path::PathBuf,
}

impl Gateway {
    fn start(forward: &str, deadline_ms: u64) -> Self {
        Self::start_with(forward, deadline_ms, &[], &[])
    }

    /// With more arguments and environment variables.
    fn start_with(forward: &str, deadline_ms: u64, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("wxcb-serve-{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_wxcb"));
        for var in [
            "WECHAT_TOKEN",
            "WECHAT_AES_KEY",
            "WECHAT_APPID",
            "WECHAT_MODE",
        ] {
            command.env_remove(var);
        }
        let child = command
            .args(["serve", "--forward", forward, "--forward-secret", SECRET])
            .env("WECHAT_ADDR", format!("127.0.0.1:{port}"))
            .env("WECHAT_DEADLINE_MS", deadline_ms.to_string())
            .env_remove("WECHAT_CONFIG")
            .env("RUST_LOG", "warn")
            .env_remove("WECHAT_RECORD_DIR")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("wxcb serve");
        let process = Running(child);
        wait_until_listening(port);
        Self {
            _process: process,
            url: format!("http://127.0.0.1:{port}/wechat"),
            port,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Sends `callback` as message `msg_id` (a retry when sent before); the reply `Content`, or
/// `None` for `success`.
fn send(url: &str, callback: &Callback, msg_id: u64) -> Option<String> {
    let sender = Sender::plain(defaults::TOKEN);
    let xml = callback.to_xml(
        defaults::OPENID,
        defaults::TO_USER_NAME,
        1_700_000_000,
        msg_id,
        None,
    );
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = sender
        .message(&xml, &timestamp, &nonce, Some(defaults::OPENID), &[7; 16])
        .unwrap();
    let response = Client::default()
        .send(built.http_request(url).unwrap())
        .unwrap();
    assert_eq!(response.status(), 200, "{response:?}");
    match simulate::read_reply(&sender, &response, false).unwrap() {
        simulate::Reply::Empty => None,
        simulate::Reply::Message { body, .. } => Some(body),
    }
}

fn text(content: &str) -> Callback {
    Callback::Text(content.to_owned())
}

fn content_of(xml: &str) -> String {
    simulate::check_addressing(xml, defaults::OPENID, defaults::TO_USER_NAME)
        .unwrap()
        .child_text("Content")
        .unwrap()
        .to_owned()
}

#[test]
fn the_python_backend_in_examples_answers_through_the_gateway() {
    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway_backend.py");
    let mut backend = Command::new("python3")
        .arg(&script)
        .arg("0")
        .env("WECHAT_FORWARD_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let stdout = backend.stdout.take().unwrap();
    let backend = Running(backend);
    let line = BufReader::new(stdout).lines().next().unwrap().unwrap();
    let forward = line.trim_start_matches("backend on ").trim().to_owned();
    let gateway = Gateway::start(&forward, 4000);
    let reply = send(&gateway.url, &text("你好 hello"), 1).expect("a reply");
    assert_eq!(content_of(&reply), "you said: 你好 hello");
    let subscribe = Callback::Event {
        event: "subscribe".into(),
        event_key: None,
    };
    assert_eq!(send(&gateway.url, &subscribe, 0), None, "success");
    drop(backend);
}

/// What the test backend got: the signature header and the body.
type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A backend on a free port: records each request, then answers `answer(body)`: the status,
/// the JSON, and how long to wait first.
fn backend(
    answer: impl Fn(&Value) -> (u16, String, Duration) + Send + Sync + 'static,
) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bot", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let recorded = Arc::clone(&seen);
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (recorded, answer) = (Arc::clone(&recorded), Arc::clone(&answer));
            std::thread::spawn(move || serve_one(stream, &recorded, &*answer));
        }
    });
    (url, seen)
}

fn serve_one(stream: TcpStream, seen: &Seen, answer: &dyn Fn(&Value) -> (u16, String, Duration)) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut signature = None;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "x-wechat-callback-signature" => signature = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        let json: Value = serde_json::from_str(&body).unwrap();
        seen.lock().unwrap().push((signature, body));
        let (status, out, wait) = answer(&json);
        std::thread::sleep(wait);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            out.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn hmac_hex(body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[test]
fn forwarded_json_is_signed_and_every_reply_type_comes_back() {
    let (url, seen) = backend(|callback| {
        let content = callback["fields"]["Content"].as_str().unwrap_or_default();
        let reply = match content {
            "image" => r#"{"reply": {"type": "image", "media_id": "MEDIA_1"}}"#.to_owned(),
            "news" => r#"{"reply": {"type": "news", "articles": [{"title": "T", "description": "D", "pic_url": "http://x/p.png", "url": "http://x/a"}]}}"#.to_owned(),
            "music" => r#"{"reply": {"type": "music", "title": "M", "music_url": "http://x/m.mp3", "hq_music_url": "http://x/hq.mp3", "thumb_media_id": "TH"}}"#.to_owned(),
            "kf" => r#"{"reply": {"type": "transfer_customer_service"}}"#.to_owned(),
            "none" => "{}".to_owned(),
            "204" => return (204, String::new(), Duration::ZERO),
            other => serde_json::json!({"reply": {"type": "text", "content": format!("got {other}")}}).to_string(),
        };
        (200, reply, Duration::ZERO)
    });
    let gateway = Gateway::start(&url, 4000);
    assert_eq!(
        content_of(&send(&gateway.url, &text("hi"), 11).unwrap()),
        "got hi"
    );
    let image = send(&gateway.url, &text("image"), 12).unwrap();
    assert!(
        image.contains("<MsgType><![CDATA[image]]></MsgType>") && image.contains("MEDIA_1"),
        "{image}"
    );
    let news = send(&gateway.url, &text("news"), 13).unwrap();
    assert!(
        news.contains("<ArticleCount>1</ArticleCount>") && news.contains("http://x/a"),
        "{news}"
    );
    let music = send(&gateway.url, &text("music"), 14).unwrap();
    assert!(
        music.contains("<MusicUrl><![CDATA[http://x/m.mp3]]></MusicUrl>"),
        "{music}"
    );
    let kf = send(&gateway.url, &text("kf"), 15).unwrap();
    assert!(kf.contains("transfer_customer_service"), "{kf}");
    assert_eq!(send(&gateway.url, &text("none"), 16), None);
    assert_eq!(send(&gateway.url, &text("204"), 17), None);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 7, "one forward a message");
    let (signature, body) = &seen[0];
    assert_eq!(signature.as_deref(), Some(hmac_hex(body).as_str()));
    let json: Value = serde_json::from_str(body).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(json["account"], defaults::APPID);
    assert_eq!(json["platform"], "mp");
    assert_eq!(json["kind"], "message");
    assert_eq!(json["msg_type"], "text");
    assert_eq!(json["event"], Value::Null);
    assert_eq!(json["fields"]["Content"], "hi");
    assert_eq!(json["fields"]["MsgId"], "11");
    assert_eq!(json["fields"]["FromUserName"], defaults::OPENID);
}

#[test]
fn a_slow_failing_or_missing_backend_gets_the_user_success_and_a_warning() {
    let (url, seen) = backend(|callback| match callback["fields"]["Content"].as_str() {
        Some("slow") => (
            200,
            r#"{"reply": {"type": "text", "content": "too late"}}"#.into(),
            Duration::from_millis(1500),
        ),
        Some("fail") => (500, "{}".into(), Duration::ZERO),
        Some("garbage") => (200, "<html>".into(), Duration::ZERO),
        _ => (200, "{}".into(), Duration::ZERO),
    });
    let gateway = Gateway::start(&url, 600);
    let started = Instant::now();
    assert_eq!(send(&gateway.url, &text("slow"), 21), None);
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "answered by the deadline"
    );
    assert_eq!(send(&gateway.url, &text("fail"), 22), None);
    assert_eq!(send(&gateway.url, &text("garbage"), 23), None);
    // Unreachable: a port nobody listens on.
    let nowhere = Gateway::start(&format!("http://127.0.0.1:{}/", free_port()), 600);
    assert_eq!(send(&nowhere.url, &text("anyone?"), 24), None);
    std::thread::sleep(Duration::from_millis(1200));
    let log = gateway.log();
    assert_eq!(log.matches("WARN").count(), 3, "{log}");
    assert!(
        log.contains("status 500") && log.contains("no answer within 400 ms"),
        "{log}"
    );
    assert!(
        !log.contains("garbage") && !log.contains(SECRET),
        "no content or secret: {log}"
    );
    assert!(nowhere.log().contains("WARN"), "{}", nowhere.log());
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn retries_reach_the_backend_once() {
    let (url, seen) = backend(|_| {
        (
            200,
            r#"{"reply": {"type": "text", "content": "once"}}"#.into(),
            Duration::from_millis(300),
        )
    });
    let gateway = Gateway::start(&url, 4000);
    let first = {
        let url = gateway.url.clone();
        std::thread::spawn(move || send(&url, &text("pay"), 31))
    };
    std::thread::sleep(Duration::from_millis(100));
    // WeChat's retry while the first is still with the backend, and one after.
    let during = send(&gateway.url, &text("pay"), 31).unwrap();
    let first = first.join().unwrap().unwrap();
    let after = send(&gateway.url, &text("pay"), 31).unwrap();
    for reply in [&first, &during, &after] {
        assert_eq!(content_of(reply), "once");
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the backend saw the message once"
    );
}

/// Runs `wxcb` with `args`; exit code, stdout and stderr.
fn wxcb(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wxcb"))
        .args(args)
        .env_remove("WECHAT_CONFIG")
        .output()
        .expect("wxcb");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_records_callbacks_that_replay_from_the_accounts_file_and_list() {
    let accounts = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/accounts.example.toml");
    let accounts = accounts.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("wxcb-records-{}", free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    let (url, _) = backend(|callback| {
        let content = callback["fields"]["Content"].as_str().unwrap_or_default();
        let reply =
            serde_json::json!({"reply": {"type": "text", "content": format!("got {content}")}});
        (200, reply.to_string(), Duration::ZERO)
    });
    let gateway = Gateway::start_with(
        &url,
        4000,
        &["--config", accounts],
        &[("WECHAT_RECORD_DIR", dir.to_str().unwrap())],
    );
    let shop = format!("http://127.0.0.1:{}/wechat/shop", gateway.port);
    let simulate = |what: &[&str]| {
        let (code, out, err) = wxcb(
            &[
                &[
                    "simulate",
                    "--config",
                    accounts,
                    "--account",
                    "shop",
                    "--url",
                    &shop,
                ][..],
                what,
            ]
            .concat(),
        );
        assert_eq!(code, 0, "{out}{err}");
        out
    };
    // A safe-mode text (its reply encrypted), an event, URL verification, and a forgery.
    assert!(simulate(&["--text", "record me"]).contains("got record me"));
    simulate(&["--event", "subscribe"]);
    simulate(&["--verify"]);
    let forged = Client::default()
        .send(
            http::Request::post(format!("{shop}?signature=0&timestamp=1&nonce=2"))
                .body(bytes::Bytes::from_static(b"<xml></xml>"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(forged.status(), 401);

    // Written off the request path: wait for the four files.
    let started = Instant::now();
    let files = loop {
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .map(|d| {
                // Finished recordings only (one being written is `*.json.partial`).
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= 4 || started.elapsed() > Duration::from_secs(5) {
            break files;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(files.len(), 4, "{files:?}");
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for text in &texts {
        // No secret of the account: not its token, not its EncodingAESKey.
        assert!(!text.contains("wxcbDemoToken"), "{text}");
        assert!(
            !text.contains("wxcbDemoEncodingAESKey0123456789abcdefghijk"),
            "{text}"
        );
        let fixture: Value = serde_json::from_str(text).unwrap();
        assert_eq!(fixture["config"]["account"], "shop");
        assert_eq!(fixture["config"]["mode"], "safe");
    }
    let text = texts
        .iter()
        .find(|t| t.contains("\"Content\": \"record me\""))
        .expect("the text");
    let fixture: Value = serde_json::from_str(text).unwrap();
    assert_eq!(fixture["expect"]["msg_type"], "text");
    assert_eq!(fixture["recorded"]["status"], 200);
    assert!(
        fixture["recorded"]["reply"]
            .as_str()
            .unwrap()
            .contains("got record me")
    );
    assert!(
        fixture["body"].as_str().unwrap().contains("<Encrypt>"),
        "the body as sent"
    );

    // Replay: the secrets come from the accounts file; without it, a clear failure.
    let dir_arg = dir.to_str().unwrap();
    let (code, out, _) = wxcb(&["replay", dir_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--config"), "{out}");
    let (code, out, err) = wxcb(&["replay", "--config", accounts, dir_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("4 passed, 0 failed\n"), "{out}");

    // Listing and filtering.
    let (code, out, _) = wxcb(&["records", dir_arg]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "{out}");
    let (_, out, _) = wxcb(&["records", "--kind", "text", dir_arg]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("shop") && out.contains(defaults::OPENID) && out.contains("\"record me\""),
        "{out}"
    );
    let (_, out, _) = wxcb(&[
        "records",
        "--kind",
        "subscribe",
        "--sender",
        defaults::OPENID,
        dir_arg,
    ]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, out, _) = wxcb(&["records", "--outcome", "signature", dir_arg]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("signature 401"), "{out}");
    let (_, out, _) = wxcb(&["records", "--since", "2999-01-01", dir_arg]);
    assert_eq!(out.lines().count(), 0, "{out}");
    let (_, out, _) = wxcb(&[
        "records",
        "--json",
        "--account",
        "shop",
        "--outcome",
        "ok",
        dir_arg,
    ]);
    assert_eq!(out.lines().count(), 3, "{out}");
    let (code, _, err) = wxcb(&["records", "--since", "yesterday", dir_arg]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
