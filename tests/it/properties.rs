//! Properties over generated input (proptest): encryption round-trips for any message and
//! receive id; replies round-trip through XML for any text; and any request, however
//! malformed, gets an HTTP answer from `Engine::handle` without a panic.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use bytes::Bytes;
use proptest::prelude::*;
use wechat_callback::crypto;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::message::{Document, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, ErrorKind, Mode, ReceiveId, Router, Token};

const TOKEN: &str = "propToken";

/// Text built from pieces that stress XML writers: `]]>` and its halves, `\r`, `\r\n`,
/// controls XML cannot carry, U+FFFE, emoji, CJK, markup characters, and any `char`.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<char>().prop_map(String::from),
        Just("]]>".to_owned()),
        Just("]]".to_owned()),
        Just(">".to_owned()),
        Just("\r".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{0}\u{1}\u{1b}".to_owned()),
        Just("\u{FFFE}\u{FFFF}".to_owned()),
        Just("😀👍🏽".to_owned()),
        Just("你好，世界".to_owned()),
        Just("<a>&amp;&#x41;".to_owned()),
        "[ -~]{0,8}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// What an XML reader can get back of `text`: the characters XML 1.0 allows.
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        })
        .collect()
}

fn key_from(bytes: [u8; 32]) -> EncodingAesKey {
    EncodingAesKey::new(&STANDARD_NO_PAD.encode(bytes)).unwrap()
}

proptest! {
    #[test]
    fn encrypt_then_decrypt_gives_the_message_back(
        key in any::<[u8; 32]>(),
        receive_id in "\\PC{1,40}",
        other_id in "\\PC{1,40}",
        message in any::<String>(),
        random in any::<[u8; 16]>(),
    ) {
        let key = key_from(key);
        let crypt = MsgCrypt::new(&key, ReceiveId::AppId(receive_id.clone()));
        let encrypted = crypt.encrypt_with_random(&message, &random);
        prop_assert_eq!(crypt.decrypt(&encrypted).unwrap(), message.as_str());
        let stranger = MsgCrypt::new(&key, ReceiveId::CorpId(other_id.clone()));
        if other_id != receive_id {
            prop_assert_eq!(stranger.decrypt(&encrypted).unwrap_err().kind(), ErrorKind::ReceiveId);
        }
    }

    #[test]
    fn reply_xml_parses_back_to_its_text(
        content in tricky_text(),
        to in tricky_text(),
        from in tricky_text(),
        create_time in any::<u64>(),
    ) {
        let reply = Reply::text(content.clone());
        let xml = reply.to_xml(&to, &from, create_time);
        // The length reserved up front is exact: no growth, no slack.
        prop_assert_eq!(xml.capacity(), xml.len());
        let document = Document::parse(&xml).unwrap();
        prop_assert_eq!(document.child_text("Content").map(str::to_owned), Some(xml_chars(&content)));
        prop_assert_eq!(document.child_text("ToUserName").map(str::to_owned), Some(xml_chars(&to)));
        prop_assert_eq!(document.child_text("FromUserName").map(str::to_owned), Some(xml_chars(&from)));
        prop_assert_eq!(document.child_text("CreateTime").map(str::to_owned), Some(create_time.to_string()));
        prop_assert_eq!(document.child_text("MsgType"), Some("text"));
    }

    #[test]
    fn an_encrypted_reply_opens_to_the_plaintext_reply(content in tricky_text()) {
        let engine = engine(Mode::Safe);
        let message = format!(
            "<xml><ToUserName>gh_acct</ToUserName><FromUserName>o_user</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>{}</Content></xml>",
            escape(&content)
        );
        let request = crate::signed_post(TOKEN, 1_700_000_000, "1", &message, wechat_callback::adapter::crypt(&engine), &[1; 16]);
        let response = engine.handle(request);
        prop_assert_eq!(response.status(), 200);
        let body = std::str::from_utf8(response.body()).unwrap();
        let opened = wechat_callback::crypto::EncryptedReply::from_xml(body)
            .unwrap()
            .open(wechat_callback::adapter::crypt(&engine).unwrap(), &Token::new(TOKEN).unwrap())
            .unwrap();
        let document = Document::parse(&opened).unwrap();
        prop_assert_eq!(document.child_text("Content").map(str::to_owned), Some(xml_chars(&content)));
    }
}

/// `text` as XML character data, for building requests (`\r` as a reference so it survives).
fn escape(text: &str) -> String {
    xml_chars(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}

fn engine(mode: Mode) -> Engine {
    let router = Router::new().on_text(|t: &Text| Reply::text(t.content.clone()));
    Engine::new(crate::mp_config(TOKEN, mode), router)
        .unwrap()
        .with_clock(|| 1_700_000_000)
        .without_dedup()
}

fn wecom_engine() -> Engine {
    let config = Config::wecom(
        Token::new(TOKEN).unwrap(),
        EncodingAesKey::new(crate::KEY).unwrap(),
        "ww0123456789abcdef",
    );
    Engine::new(config, Router::new()).unwrap()
}

/// Statuses the engine may answer with: 200, or a refusal.
const STATUSES: [u16; 6] = [200, 400, 401, 403, 405, 413];

/// A query string from pieces: known parameters with arbitrary values, and junk.
fn query() -> impl Strategy<Value = String> {
    let value = "[0-9a-zA-Z%+=/._~-]{0,48}";
    let pair = prop_oneof![
        (
            "(signature|msg_signature|timestamp|nonce|echostr|openid|encrypt_type)",
            value
        )
            .prop_map(|(k, v)| format!("{k}={v}")),
        Just("encrypt_type=aes".to_owned()),
        "[0-9a-zA-Z%+=&._~-]{0,24}",
    ];
    prop::collection::vec(pair, 0..8).prop_map(|pairs| pairs.join("&"))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        tricky_text().prop_map(String::into_bytes),
        tricky_text().prop_map(|t| format!("<xml><Encrypt>{t}</Encrypt></xml>").into_bytes()),
        tricky_text().prop_map(|t| format!(
            "<xml><MsgType>text</MsgType><Content>{t}</Content></xml>"
        )
        .into_bytes()),
    ]
}

proptest! {
    #[test]
    fn any_request_gets_an_answer(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("HEAD")],
        query in query(),
        body in body(),
    ) {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/wechat?{query}"))
            .body(Bytes::from(body))
            .unwrap();
        for engine in [engine(Mode::Plain), engine(Mode::Compatible), engine(Mode::Safe), wecom_engine()] {
            let status = engine.handle(request.clone()).status().as_u16();
            prop_assert!(STATUSES.contains(&status), "{status}");
        }
    }

    /// Signed correctly, so the checks pass and arbitrary content reaches the parser (plain)
    /// or base64, AES and the parser (safe).
    #[test]
    fn any_signed_content_gets_an_answer(
        body in body(),
        encrypt in tricky_text(),
        plaintext in body(),
        nonce in "[0-9a-z]{1,10}",
    ) {
        let ts = "1700000000";
        let signature = crypto::signature(&[TOKEN, ts, &nonce]);
        let plain = http::Request::post(format!("/wechat?signature={signature}&timestamp={ts}&nonce={nonce}"))
            .body(Bytes::from(body))
            .unwrap();
        prop_assert!(STATUSES.contains(&engine(Mode::Plain).handle(plain).status().as_u16()));

        let safe = engine(Mode::Safe);
        let envelope = |encrypt: &str| {
            let msg_signature = crypto::signature(&[TOKEN, ts, &nonce, encrypt]);
            http::Request::post(format!(
                "/wechat?timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}"
            ))
            .body(Bytes::from(format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")))
            .unwrap()
        };
        let encrypt = encrypt.replace("]]>", "");
        prop_assert!(STATUSES.contains(&safe.handle(envelope(&encrypt)).status().as_u16()));
        // Properly encrypted arbitrary plaintext: decryption succeeds, the parser gets junk.
        let plaintext = String::from_utf8_lossy(&plaintext).into_owned();
        let sealed = wechat_callback::adapter::crypt(&safe).unwrap().encrypt_with_random(&plaintext, &[7; 16]);
        prop_assert!(STATUSES.contains(&safe.handle(envelope(&sealed)).status().as_u16()));
    }
}
