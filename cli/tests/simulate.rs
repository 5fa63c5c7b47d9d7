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
    serve_service(wechat_callback_hyper::service(engine).at("/wechat"))
}

/// Serves `service` on a free port on a thread of its own; returns `http://…/wechat`.
fn serve_service(service: wechat_callback_hyper::WechatService) -> String {
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

/// Serves every account of the examples' accounts file at `/wechat/{id}` (text echoed, a
/// mini-program answered `success`, as the examples do); returns the base URL.
fn serve_accounts() -> String {
    use wechat_callback::accounts::Accounts;
    let text = std::fs::read_to_string(accounts_file()).unwrap();
    let accounts = Accounts::from_file(
        &text,
        |_| None,
        |account| match account.config().platform() {
            wechat_callback::Platform::MiniProgram => Router::new(),
            _ => Router::new().on_text(|t: &Text| Reply::text(t.content.clone())),
        },
        |_, engine| engine,
    )
    .unwrap();
    serve_service(wechat_callback_hyper::accounts_service(accounts).at("/wechat"))
}

fn accounts_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/accounts.example.toml")
}

/// `wxcb simulate --config FILE --account ID` speaks each account's platform: an official
/// account, a JSON mini-program, WeCom, an open platform (its authorization events and an
/// authorizer's message) and a WeCom suite (a command, a corp's data callback, the provider's
/// URL verification).
#[test]
fn simulate_speaks_every_platform_of_an_accounts_file() {
    let base = serve_accounts();
    let file = accounts_file().to_string_lossy().into_owned();
    let run = |account: &str, extra: &[&str]| {
        let url = format!("{base}/{account}");
        let mut args = vec![
            "simulate",
            "--config",
            file.as_str(),
            "--account",
            account,
            "--url",
            url.as_str(),
        ];
        args.extend_from_slice(extra);
        wxcb(&args)
    };
    let ok = |account: &str, extra: &[&str], expect: &str| {
        let (code, out) = run(account, extra);
        assert_eq!(code, 0, "{account} {extra:?}: {out}");
        assert!(out.contains(expect), "{account} {extra:?}: {out}");
        out
    };
    ok("shop", &["--verify"], "echoed");
    ok("shop", &["--text", "店铺"], "  Content: 店铺");
    let out = ok("mini", &["--text", "小程序"], "empty reply");
    assert!(out.contains("-> POST"), "{out}");
    ok("mini", &["--verify"], "echoed");
    ok("corp", &["--verify"], "echoed");
    ok("corp", &["--text", "企业"], "  Content: 企业");
    ok("op", &["--info", "component_verify_ticket"], "empty reply");
    let out = ok(
        "op",
        &["--on-behalf-of", "wxauthorizer0001", "--text", "代收"],
        "  Content: 代收",
    );
    assert!(out.contains("/wechat/op/wxauthorizer0001?"), "{out}");
    ok("suite", &["--info", "suite_ticket"], "empty reply");
    ok("suite", &["--verify"], "echoed");
    ok(
        "suite",
        &["--on-behalf-of", "wwauthcorp000001", "--text", "套件"],
        "decrypted for wwauthcorp000001",
    );
    // Wrong uses: exit 2 with the reason.
    for (extra, reason) in [
        (
            &["--account", "nobody", "--verify"][..],
            "no account \"nobody\"",
        ),
        (&["--verify"][..], "several accounts"),
    ] {
        let mut args = vec!["simulate", "--config", file.as_str()];
        args.extend_from_slice(extra);
        let (code, out) = wxcb(&args);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(reason), "{out}");
    }
    let (code, out) = run("shop", &["--info", "suite_ticket"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--info is"), "{out}");
    let (code, out) = run("shop", &["--on-behalf-of", "wx1", "--verify"]);
    assert_eq!(code, 2, "{out}");
}

/// `wxcb encrypt --config --account` records a fixture for each platform that `wxcb replay`
/// passes, in-process and against the live accounts server.
#[test]
fn encrypt_records_fixtures_of_every_platform_that_replay_passes() {
    let base = serve_accounts();
    let file = accounts_file().to_string_lossy().into_owned();
    let dir = std::env::temp_dir().join(format!("wxcb-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = |to: &str| {
        format!(
            "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
             <CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>"
        )
    };
    let json = r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"hi","MsgId":1}"#;
    let ticket = "<xml><AppId><![CDATA[wx9c1d0a2b3e4f5061]]></AppId><CreateTime>1</CreateTime>\
                  <InfoType><![CDATA[component_verify_ticket]]></InfoType></xml>";
    let cases: [(&str, &str, &[&str], String, &str); 5] = [
        ("shop", "xml", &[], text("gh_1"), "message"),
        ("mini", "json", &[], json.to_owned(), "message"),
        ("corp", "xml", &[], text("ww0123456789abcdef"), "message"),
        ("op", "xml", &[], ticket.to_owned(), "info"),
        (
            "op",
            "xml",
            &["--on-behalf-of", "wxauthorizer0001"],
            text("gh_1"),
            "message",
        ),
    ];
    let mut paths = Vec::new();
    for (i, (account, format, extra, message, kind)) in cases.iter().enumerate() {
        let message_path = dir.join(format!("message{i}.{format}"));
        std::fs::write(&message_path, message).unwrap();
        let name = format!("recorded_{i}_{account}");
        let mut args = vec![
            "encrypt",
            "--config",
            file.as_str(),
            "--account",
            account,
            "--fixture",
            name.as_str(),
        ];
        args.extend_from_slice(extra);
        let message_arg = message_path.to_string_lossy().into_owned();
        args.extend([
            if *format == "json" { "--json" } else { "--xml" },
            message_arg.as_str(),
        ]);
        let (code, out) = wxcb(&args);
        assert_eq!(code, 0, "{account}: {out}");
        let fixture: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(fixture["expect"]["kind"], *kind, "{out}");
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, out).unwrap();
        paths.push((account.to_owned(), path.to_string_lossy().into_owned()));
    }
    let all: Vec<&str> = paths.iter().map(|(_, p)| p.as_str()).collect();
    let (code, out) = wxcb(&[&["replay"][..], &all].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 passed, 0 failed"), "{out}");
    // Over HTTP each goes to its account's URL (an authorizer's to `/op/{appid}`).
    for (account, path) in &paths {
        let url = format!("{base}/{account}");
        let (code, out) = wxcb(&["replay", "--url", &url, "--resign", path]);
        assert_eq!(code, 0, "{account}: {out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
