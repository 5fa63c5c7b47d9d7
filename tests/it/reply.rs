//! Reply bytes pinned: plaintext XML and the encrypted envelope with fixed randomness.

use bytes::Bytes;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Callback, Config, EncodingAesKey, Engine, Received, Router, Token};

/// Deterministic randomness: every framing byte is `0x11`, the nonce 1234567890.
const RANDOM: [u8; 16] = [0x11; 16];
const NONCE: u32 = 1_234_567_890;

const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn engine() -> Engine {
    let config = Config::official_account(Token::new("pamtest").unwrap(), "wxb11529c136998cb6")
        .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap());
    Engine::new(config, Router::new())
        .unwrap()
        .with_clock(|| 1_700_000_000)
}

fn text_request() -> Callback {
    Callback::from_xml(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>1699999990</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>",
    )
    .unwrap()
}

#[test]
fn plaintext_reply_golden() {
    let body = wechat_callback::adapter::render(
        &engine(),
        &text_request(),
        &Reply::text("你好 ]]> &"),
        &RANDOM,
        NONCE,
    )
    .unwrap();
    assert_eq!(
        body,
        "<xml><ToUserName><![CDATA[o_user]]></ToUserName><FromUserName><![CDATA[gh_acct]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[你好 ]]]]><![CDATA[> &]]></Content></xml>"
    );
}

#[test]
fn encrypted_reply_golden() {
    let engine = engine();
    // A request that arrived encrypted gets an encrypted reply.
    let plain = "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
                 <CreateTime>1699999990</CreateTime><MsgType><![CDATA[text]]></MsgType>\
                 <Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>";
    let crypt = wechat_callback::adapter::crypt(&engine).unwrap();
    let encrypt = crypt.encrypt_with_random(plain, &[0x22; 16]);
    let token = Token::new("pamtest").unwrap();
    let (ts, nonce) = ("1700000000", "42");
    let msg_signature = wechat_callback::crypto::signature(&["pamtest", ts, nonce, &encrypt]);
    let signature = wechat_callback::crypto::signature(&["pamtest", ts, nonce]);
    let uri = format!(
        "/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}"
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    let request = http::Request::post(uri).body(Bytes::from(body)).unwrap();
    let handled = engine.process(&request).unwrap();
    let Received::Message(message) = handled.received else {
        panic!()
    };
    assert!(message.is_encrypted());

    let rendered =
        wechat_callback::adapter::render(&engine, &message, &Reply::text("hello"), &RANDOM, NONCE)
            .unwrap();
    // Checked independently: `openssl enc -d -aes-256-cbc -nopad` gives 16×0x11, length 208,
    // the reply XML, `wxb11529c136998cb6` and 10 pad bytes; Python's hashlib gives the signature.
    assert_eq!(
        rendered,
        "<xml><Encrypt><![CDATA[MKc3h5q5q1DT59tkCzuoSTRYOZYYqHGOhjCYvPHeuCozc9/IBqKdGqP79Jv6MlTC2XnC0IAwf4V+m+TGls+oEIu3cR/pueXEDvRPSym5E22C/HbFTKccFtStvDWcTsPuqc17npLNXunp39M7n6BXA0hlqLoMZzr7NrdRDgMXemKiEEpe6RE87pih2PAp+noVs7iJxk9swGPrUo9YoalI2zBP3UcAP6g5TP+o2tzbjycAQIuBQQlLrcLg+3t/7ixiAvwzRCd/brlnc5x4bGotckGapnX/mYNr0m5cTAQWFpvpT8ccI3UtTWhMkMIQ3MeUF0tQnxEqSP4hgCwfbrrm2w==]]></Encrypt>\
         <MsgSignature><![CDATA[5b9d8904b30709c556c7665ea1eac06692c64667]]></MsgSignature>\
         <TimeStamp>1700000000</TimeStamp><Nonce><![CDATA[1234567890]]></Nonce></xml>"
    );
    // And it opens, as WeChat would open it: signature, appid, content.
    let envelope = EncryptedReply::from_xml(&rendered).unwrap();
    let inner = envelope.open(crypt, &token).unwrap();
    let reply = Callback::from_xml(&inner).unwrap();
    assert_eq!(reply.head().to_user_name, "o_user");
    assert_eq!(reply.head().from_user_name, "gh_acct");
    let wechat_callback::message::Message::Text(Text { content, .. }) = reply.message() else {
        panic!()
    };
    assert_eq!(content, "hello");
}

#[test]
fn empty_reply_is_success_even_when_encrypted() {
    let body =
        wechat_callback::adapter::render(&engine(), &text_request(), &Reply::Empty, &RANDOM, NONCE)
            .unwrap();
    assert_eq!(body, "success");
}
