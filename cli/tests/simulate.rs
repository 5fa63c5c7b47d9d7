//! `wxcb simulate` and `wxcb replay --url` against a live hyper server on 127.0.0.1.

use std::path::PathBuf;
use std::process::Command;

use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};
use wechat_callback_cli::fixture::Fixture;

const KEY: &str = "wxcbDemoEncodingAESKey0123456789abcdefghijk";
const APPID: &str = "wx5e7c1d9a0b3f2468";
const TOKEN: &str = "wxcbDemoToken";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Serves `engine` at `/wechat` on a free port; returns the URL.
fn serve(engine: Engine) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/wechat", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let service = wechat_callback_hyper::service(engine).at("/wechat");
            wechat_callback_hyper::serve(listener, service).await
        })
    });
    url
}

fn echo_engine(mode: Mode, appid: &str) -> Engine {
    let config = Config::official_account(Token::new(TOKEN).unwrap(), appid)
        .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
        .with_mode(mode)
        .with_timestamp_tolerance(std::time::Duration::from_secs(300));
    let router = Router::new().on_text(|t: &Text| Reply::text(t.content.clone()));
    Engine::new(config, router).unwrap()
}

/// Runs `wxcb` with a clean `WECHAT_*` environment; returns exit code and stdout.
fn wxcb(args: &[&str]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wxcb"));
    for var in [
        "WECHAT_URL",
        "WECHAT_TOKEN",
        "WECHAT_AES_KEY",
        "WECHAT_APPID",
        "WECHAT_MODE",
    ] {
        command.env_remove(var);
    }
    let out = command.args(args).output().expect("wxcb runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn simulate_prints_the_decrypted_reply_and_verifies_echostr() {
    let url = serve(echo_engine(Mode::Safe, APPID));
    let safe = ["--aes-key", KEY, "--mode", "safe"];
    let (code, out) = wxcb(
        &[
            &["simulate", "--url", &url, "--text", "你好 hello"][..],
            &safe,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("MsgSignature verified, decrypted for"),
        "{out}"
    );
    assert!(
        out.contains("<Content><![CDATA[你好 hello]]></Content>"),
        "{out}"
    );
    assert!(out.contains("  Content: 你好 hello"), "{out}");
    let (code, out) = wxcb(
        &[
            &["simulate", "--url", &url, "--event", "subscribe"][..],
            &safe,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("empty reply"), "{out}");
    let (code, out) = wxcb(&["simulate", "--url", &url, "--verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("echoed"), "{out}");
}

#[test]
fn simulate_fails_on_a_wrong_answer() {
    // The endpoint encrypts for another appid: the reply does not open for ours.
    let url = serve(echo_engine(Mode::Safe, "wx_not_ours"));
    let (code, out) = wxcb(&[
        "simulate",
        "--url",
        &url,
        "--aes-key",
        KEY,
        "--mode",
        "safe",
        "--text",
        "x",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL HTTP 403"), "{out}");
    // A wrong token: 401.
    let url = serve(echo_engine(Mode::Compatible, APPID));
    let (code, out) = wxcb(&["simulate", "--url", &url, "--token", "wrong", "--text", "x"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("HTTP 401"), "{out}");
    // Nobody listening.
    let (code, _) = wxcb(&["simulate", "--url", "http://127.0.0.1:9/wechat", "--verify"]);
    assert_eq!(code, 1);
    // Bad arguments: exit 2.
    let (code, _) = wxcb(&["simulate", "--url", &url, "--mode", "safe", "--text", "x"]);
    assert_eq!(code, 2);
}

#[test]
fn replay_url_matches_and_resign_serves_a_live_clock() {
    let cases = [
        "msg_image__safe.json",
        "event_click__safe.json",
        "bad_base64__safe.json",
        "bad_msg_signature__safe.json",
    ];
    let paths: Vec<String> = cases
        .iter()
        .map(|c| fixtures().join(c).to_string_lossy().into_owned())
        .collect();
    let fixture = Fixture::load(&fixtures().join(cases[0])).unwrap();
    let recorded = serve(fixture.config.engine().unwrap());
    let live = serve(Engine::new(fixture.config.to_config().unwrap(), Router::new()).unwrap());
    let replay = |extra: &[&str], url: &str| {
        let mut args = vec!["replay", "--url", url];
        args.extend_from_slice(extra);
        args.extend(paths.iter().map(String::as_str));
        wxcb(&args)
    };
    let (code, out) = replay(&[], &recorded);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 passed, 0 failed"), "{out}");
    // A live clock: the recorded timestamps are stale (only the bad signature still fails
    // the way it should) until the cases are signed again.
    let (code, out) = replay(&[], &live);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 3 failed"), "{out}");
    let (code, out) = replay(&["--resign"], &live);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 passed, 0 failed"), "{out}");
}
