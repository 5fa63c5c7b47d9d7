//! Secrets stay secret: the token, the EncodingAESKey and decrypted message content never
//! appear in the engine's logs (captured here at every level, `trace` included), in error
//! messages, or in `Debug` output, whatever the request does.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::dedup::Dedup;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, ReceiveId, Router, Token};

const TOKEN: &str = "S3cretT0kenXyz";
const KEY: &str = "Qm9yaW5nU2VjcmV0S2V5Rm9yVGVzdGluZ0xvZ3MxMjM";
const APPID: &str = "wx49f0ab532d5d035a";
const NOW: u64 = 1_700_000_000;
/// Put into every message's content: it is only ever visible after decryption.
const MARKER: &str = "PLAINTEXT-MARKER-4f1a";

/// A `MakeWriter` that appends every log line to one buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

fn message(msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// Every secret in every form it could leak in: as configured, the raw AES key as hex, and
/// the decrypted content.
fn secrets() -> Vec<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(format!("{KEY}="))
        .unwrap();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    vec![TOKEN.into(), KEY.into(), hex, MARKER.into()]
}

#[test]
fn no_secret_reaches_logs_errors_or_debug_output() {
    let key = EncodingAesKey::new(KEY).unwrap();
    let config = Config::official_account(Token::new(TOKEN).unwrap(), APPID)
        .with_encoding_aes_key(key.clone())
        .with_mode(wechat_callback::Mode::Safe)
        .with_timestamp_tolerance(std::time::Duration::from_secs(300));
    let router = Router::new().on_text(|text: &Text| {
        assert!(!text.content.contains("panic"), "{}", text.content);
        Reply::text(text.content.clone())
    });
    let engine = Engine::new(config.clone(), router)
        .unwrap()
        .with_clock(|| NOW)
        .with_dedup(Dedup::in_memory().reject_nonce_replays());
    let crypt = wechat_callback::adapter::crypt(&engine).unwrap();
    let other_appid = MsgCrypt::new(&key, ReceiveId::AppId("wx0000000000000000".into()));

    let post = |nonce: &str, body: &str, crypt: &MsgCrypt| {
        crate::signed_post(TOKEN, NOW, nonce, body, Some(crypt), &[5; 16])
    };
    let mut requests = vec![
        // Valid, then its retry (answered from the dedup store).
        post("1", &message(1, MARKER), crypt),
        post("2", &message(1, MARKER), crypt),
        // A handler that panics with the content in its message.
        post("3", &message(2, &format!("panic {MARKER}")), crypt),
        // Encrypted for another appid.
        post("4", &message(3, MARKER), &other_appid),
        // Not XML once decrypted.
        post("5", &format!("<xml><Content>{MARKER}</Content>"), crypt),
        // The same nonce with another body: a replay.
        post("1", &message(4, MARKER), crypt),
    ];
    // A wrong msg_signature, bad base64, and a timestamp out of the window.
    let mut tampered = post("6", &message(5, MARKER), crypt);
    *tampered.uri_mut() = tampered
        .uri()
        .to_string()
        .replace("msg_signature=", "msg_signature=0")
        .parse()
        .unwrap();
    requests.push(tampered);
    requests.push(
        http::Request::post("/wechat?timestamp=1700000000&nonce=7&msg_signature=00")
            .body(Bytes::from(format!(
                "<xml><Encrypt>{MARKER}!!</Encrypt></xml>"
            )))
            .unwrap(),
    );
    requests.push(crate::signed_post(
        TOKEN,
        NOW - 3_600,
        "8",
        &message(6, MARKER),
        Some(crypt),
        &[5; 16],
    ));

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let mut shown = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        for request in &requests {
            match engine.process(request) {
                Ok(handled) => shown.push(format!("{:?}", handled.deduplicated)),
                Err(error) => {
                    shown.push(error.to_string());
                    shown.push(format!("{error:?}"));
                }
            }
            engine.handle(request.clone());
        }
    });
    shown.push(format!("{engine:?}"));
    shown.push(format!("{config:?}"));
    shown.push(format!("{crypt:?}"));
    shown.push(format!("{key:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The logs did record what happened: refusals and the panic.
    assert!(logs.contains("callback refused"), "{logs}");
    assert!(logs.contains("handler panicked"), "{logs}");
    assert!(logs.contains("retry answered"), "{logs}");
    assert!(
        logs.contains("ReceiveId") && logs.contains("Replay"),
        "{logs}"
    );
    assert!(shown.len() > 15, "{shown:?}");
    for secret in secrets() {
        assert!(!logs.contains(&secret), "{secret} in the logs:\n{logs}");
        for text in &shown {
            assert!(!text.contains(&secret), "{secret} in {text}");
        }
    }
}
