//! Cross-crate integration tests: the published vectors, the recorded fixtures, replies and
//! dispatch through the whole engine, and the adapters over real HTTP.

mod adapters;
mod crypto;
mod dispatch;
mod fixtures;
mod miniprogram;
mod pending;
mod properties;
mod recording;
mod redis;
mod reply;
mod retries;
mod routing;
mod secrets;
mod signature;

use bytes::Bytes;
use serde_json::Value;
use wechat_callback::crypto::{self as wx_crypto, MsgCrypt};
use wechat_callback::{Config, EncodingAesKey, Mode, Token};

/// The EncodingAESKey of the test accounts built by [`mp_config`].
pub(crate) const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
/// Their appid.
pub(crate) const APPID: &str = "wx49f0ab532d5d035a";

/// An official account with `token` in `mode` ([`KEY`] and [`APPID`]; no timestamp window).
pub(crate) fn mp_config(token: &str, mode: Mode) -> Config {
    let config = Config::official_account(Token::new(token).unwrap(), APPID);
    match mode {
        Mode::Plain => config,
        _ => config
            .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
            .with_mode(mode),
    }
}

/// A POST as WeChat sends it to `/wechat`, signed with `token` at `timestamp` / `nonce`:
/// plaintext, or with `crypt` the body encrypted with `random` into an `Encrypt` envelope
/// (`encrypt_type=aes` and `msg_signature` in the query, `ToUserName` `gh_acct`).
pub(crate) fn signed_post(
    token: &str,
    timestamp: u64,
    nonce: &str,
    body: &str,
    crypt: Option<&MsgCrypt>,
    random: &[u8; 16],
) -> http::Request<Bytes> {
    let ts = timestamp.to_string();
    let signature = wx_crypto::signature(&[token, &ts, nonce]);
    let Some(crypt) = crypt else {
        let uri =
            format!("/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&openid=o_user");
        return http::Request::post(uri)
            .body(Bytes::from(body.to_owned()))
            .unwrap();
    };
    let encrypted = crypt.encrypt_with_random(body, random);
    let msg_signature = wx_crypto::signature(&[token, &ts, nonce, &encrypted]);
    let uri = format!(
        "/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&openid=o_user&encrypt_type=aes&msg_signature={msg_signature}"
    );
    let envelope = format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    );
    http::Request::post(uri)
        .body(Bytes::from(envelope))
        .unwrap()
}

/// The published vectors (`fixtures/crypto/_vectors.json`, copied from `shared/vectors`).
pub(crate) fn vector(id: &str) -> Value {
    static VECTORS: &str = include_str!("../../fixtures/crypto/_vectors.json");
    let all: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    all["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

/// A string field of a vector's input.
pub(crate) fn input<'a>(v: &'a Value, key: &str) -> &'a str {
    v["input"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing"))
}
