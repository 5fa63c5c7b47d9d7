//! The whole engine: verify → decrypt → parse → dispatch → reply → encrypt, through
//! `Engine::handle` on `http` requests.

use std::sync::Mutex;

use bytes::Bytes;
use http::StatusCode;
use wechat_callback::crypto;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::{Click, Image, Message, Subscribe, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Callback, Config, Engine, Mode, Router, Token};

const TOKEN: &str = "dispatchToken";
const NOW: u64 = 1_700_000_000;

fn config(mode: Mode) -> Config {
    crate::mp_config(TOKEN, mode).with_timestamp_tolerance(std::time::Duration::from_secs(300))
}

fn xml(msg_type: &str, inner: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}</xml>",
        NOW - 1
    )
}

/// A request as WeChat would send it: plaintext, or encrypted (safe / compatible).
fn request(engine: &Engine, body: &str, encrypt: bool) -> http::Request<Bytes> {
    let crypt = wechat_callback::adapter::crypt(engine).filter(|_| encrypt);
    crate::signed_post(TOKEN, NOW, "77", body, crypt, &[9; 16])
}

/// Opens a response body as WeChat would: decrypting and checking `MsgSignature` if encrypted.
fn open(engine: &Engine, body: &[u8]) -> (bool, Callback) {
    let body = std::str::from_utf8(body).unwrap();
    match EncryptedReply::from_xml(body) {
        Ok(envelope) => {
            assert_eq!(envelope.timestamp, NOW);
            let inner = envelope
                .open(
                    wechat_callback::adapter::crypt(engine).unwrap(),
                    &Token::new(TOKEN).unwrap(),
                )
                .unwrap();
            (true, Callback::from_xml(&inner).unwrap())
        }
        Err(_) => (false, Callback::from_xml(body).unwrap()),
    }
}

fn router() -> Router {
    struct Seen(Mutex<Vec<String>>);
    Router::<Seen>::new()
        .on_text(|t: &Text| {
            (t.content == "decline")
                .then(|| Reply::text("unreachable"))
                .filter(|_| false)
        })
        .on_text(|t: &Text, r: &Callback, seen: &Seen| {
            seen.0.lock().unwrap().push(t.content.to_string());
            let n = seen.0.lock().unwrap().len();
            (t.content != "decline")
                .then(|| format!("{} from {} (#{n})", t.content, r.head().from_user_name))
        })
        .on_event_subscribe(|s: &Subscribe| Reply::text(format!("welcome, scene {:?}", s.scene())))
        .on_event_click(|c: &Click| Reply::image(format!("media-for-{}", c.event_key)))
        .fallback(|r: &Callback| Reply::text(format!("fallback: {}", r.kind())))
        .with_state(Seen(Mutex::new(Vec::new())))
}

fn engine(mode: Mode) -> Engine {
    Engine::new(config(mode), router())
        .unwrap()
        .with_clock(|| NOW)
}

#[test]
fn handlers_answer_in_every_mode() {
    for (mode, encrypt) in [
        (Mode::Plain, false),
        (Mode::Compatible, false),
        (Mode::Compatible, true),
        (Mode::Safe, true),
    ] {
        let engine = engine(mode);
        let req = request(
            &engine,
            &xml(
                "text",
                "<Content><![CDATA[hi 你好]]></Content><MsgId>9223372036854775809</MsgId>",
            ),
            encrypt,
        );
        let response = engine.handle(req);
        assert_eq!(response.status(), StatusCode::OK, "{mode:?}");
        let (encrypted, reply) = open(&engine, response.body());
        assert_eq!(
            encrypted, encrypt,
            "{mode:?}: the reply is encrypted iff the request was"
        );
        assert_eq!(reply.head().to_user_name, "o_user");
        assert_eq!(reply.head().from_user_name, "gh_acct");
        assert_eq!(reply.head().create_time, NOW);
        let Message::Text(text) = reply.message() else {
            panic!("{reply:?}")
        };
        assert_eq!(text.content, "hi 你好 from o_user (#1)");
    }
}

#[test]
fn decline_falls_through_to_fallback_and_events_dispatch() {
    let engine = engine(Mode::Safe);
    let cases = [
        (xml("text", "<Content>decline</Content>"), "fallback: text"),
        (
            xml(
                "event",
                "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_7]]></EventKey>",
            ),
            "welcome, scene Some(\"7\")",
        ),
        (
            xml("voice", "<MediaId>m</MediaId><Format>amr</Format>"),
            "fallback: voice",
        ),
        (
            xml("event", "<Event>TOTALLY_NEW</Event>"),
            "fallback: event:unknown",
        ),
    ];
    for (body, want) in cases {
        let response = engine.handle(request(&engine, &body, true));
        let (_, reply) = open(&engine, response.body());
        let Message::Text(text) = reply.message() else {
            panic!("{reply:?}")
        };
        assert_eq!(text.content, want);
    }
    let click = xml("event", "<Event>CLICK</Event><EventKey>K1</EventKey>");
    let (_, reply) = open(
        &engine,
        engine.handle(request(&engine, &click, true)).body(),
    );
    let Message::Image(Image { media_id, .. }) = reply.message() else {
        panic!()
    };
    // The parser reads replies too: an image reply's MediaId sits under <Image>.
    assert_eq!(media_id, "");
    assert_eq!(
        reply.fields().find("Image/MediaId").unwrap().text(),
        "media-for-K1"
    );
}

#[test]
fn no_handler_answers_success() {
    let engine = Engine::new(config(Mode::Safe), Router::new())
        .unwrap()
        .with_clock(|| NOW);
    let response = engine.handle(request(&engine, &xml("text", "<Content>x</Content>"), true));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"success");
}

#[test]
fn url_verification() {
    let engine = engine(Mode::Safe);
    let signature = crypto::signature(&[TOKEN, "1700000000", "5"]);
    let get = http::Request::get(format!(
        "/w?signature={signature}&timestamp=1700000000&nonce=5&echostr=hello%2B1"
    ))
    .body(Bytes::new())
    .unwrap();
    let response = engine.handle(get);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"hello+1");
}

#[test]
fn failures_get_statuses_and_bodies_that_do_not_tell_the_check() {
    let engine = engine(Mode::Safe);
    let good = request(&engine, &xml("text", "<Content>x</Content>"), true);
    let tamper = |uri: String, body: Bytes| http::Request::post(uri).body(body).unwrap();
    let uri = good.uri().to_string();
    let body = good.body().clone();

    let bad_sig = tamper(
        uri.replace("msg_signature=", "msg_signature=0"),
        body.clone(),
    );
    assert_eq!(engine.handle(bad_sig).status(), StatusCode::UNAUTHORIZED);

    let put = http::Request::put(uri.clone()).body(body.clone()).unwrap();
    let response = engine.handle(put);
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");

    let huge = Bytes::from(vec![
        b' ';
        wechat_callback::Config::DEFAULT_MAX_BODY_BYTES + 1
    ]);
    assert_eq!(
        engine.handle(tamper(uri.clone(), huge)).status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Every decrypt-stage failure answers the same body.
    let mut bodies = std::collections::BTreeSet::new();
    for encrypt in ["!!!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=="] {
        let ts = NOW.to_string();
        let msg_signature = crypto::signature(&[TOKEN, &ts, "77", encrypt]);
        let signature = crypto::signature(&[TOKEN, &ts, "77"]);
        let uri = format!(
            "/w?signature={signature}&timestamp={ts}&nonce=77&encrypt_type=aes&msg_signature={msg_signature}"
        );
        let response = engine.handle(tamper(
            uri,
            Bytes::from(format!("<xml><Encrypt>{encrypt}</Encrypt></xml>")),
        ));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        bodies.insert(response.body().clone());
    }
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies.first().unwrap().as_ref(), b"Bad Request");
}

#[test]
fn garbage_never_panics_and_never_answers_5xx() {
    // A deterministic sweep of mutated bodies and queries through every mode.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for mode in [Mode::Plain, Mode::Compatible, Mode::Safe] {
        let engine = engine(mode);
        let valid = request(
            &engine,
            &xml("text", "<Content>x</Content><MsgId>1</MsgId>"),
            mode != Mode::Plain,
        );
        let uri = valid.uri().to_string();
        for _ in 0..700 {
            let mut body = valid.body().to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % (body.len() + 1);
                match next() % 3 {
                    0 if at < body.len() => body[at] = next() as u8,
                    1 => body.truncate(at),
                    _ => body.insert(at, b"<>&;]!/"[(next() % 7) as usize]),
                }
            }
            let req = http::Request::post(uri.clone())
                .body(Bytes::from(body))
                .unwrap();
            let status = engine.handle(req).status();
            assert!(
                status == StatusCode::OK || status.is_client_error(),
                "{status}"
            );
        }
    }
}

/// The open platform's and WeCom suites' own pushes (`InfoType`, no `MsgType`) are typed and
/// dispatched by `InfoType`; an unknown `InfoType` reaches `on_unknown_info`; all answer
/// `success`.
#[test]
fn info_type_pushes_are_dispatched_by_info_type() {
    use wechat_callback::message::{Authorized, SuiteChangeContact, UnknownInfo};
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
    let router = Router::new()
        .on_info_authorized(move |auth: &Authorized| {
            a.lock()
                .unwrap()
                .push(format!("authorized {}", auth.authorizer_appid));
        })
        .on_info_change_contact(move |change: &SuiteChangeContact| {
            b.lock().unwrap().push(format!(
                "contact {} {}",
                change.auth_corp_id, change.change_type
            ));
        })
        .on_unknown_info(move |info: &UnknownInfo| {
            c.lock()
                .unwrap()
                .push(format!("unknown {}", info.info_type));
        });
    let engine = Engine::new(config(Mode::Plain), router)
        .unwrap()
        .with_clock(|| NOW);
    for body in [
        format!(
            "<xml><AppId>wxcomp</AppId><CreateTime>{NOW}</CreateTime><InfoType>authorized</InfoType>\
             <AuthorizerAppid>wxauth</AuthorizerAppid><AuthorizationCode>c</AuthorizationCode></xml>"
        ),
        "<xml><SuiteId>ww1</SuiteId><AuthCorpId>wwcorp</AuthCorpId><InfoType>change_contact</InfoType>\
         <TimeStamp>1403610513</TimeStamp><ChangeType>create_user</ChangeType><UserID>z</UserID></xml>"
            .to_owned(),
        "<xml><AppId>wxcomp</AppId><InfoType>notify_future</InfoType></xml>".to_owned(),
    ] {
        let response = engine.handle(request(&engine, &body, false));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body().as_ref(), b"success");
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "authorized wxauth",
            "contact wwcorp create_user",
            "unknown notify_future"
        ]
    );
}
