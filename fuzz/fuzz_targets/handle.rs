//! `Engine::handle` with any method, query and body, in every mode. The first byte picks the
//! method (bits 0–1), whether the harness signs the request correctly (bit 2) and whether it
//! seals the body as an encrypted message first (bit 3); the rest splits at the first newline
//! into query and body. Every request must get one of the engine's statuses.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wechat_callback::crypto;
use wechat_callback::message::{Document, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};

const TOKEN: &str = "fuzzToken";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const NOW: u64 = 1_700_000_000;

static ENGINES: LazyLock<Vec<Engine>> = LazyLock::new(|| {
    let router = || Router::new().on_text(|t: &Text| Reply::text(t.content.clone()));
    let key = || EncodingAesKey::new(KEY).unwrap();
    let mp = || Config::official_account(Token::new(TOKEN).unwrap(), "wx49f0ab532d5d035a");
    let configs = [
        mp(),
        mp().with_encoding_aes_key(key()),
        mp().with_encoding_aes_key(key()).with_mode(Mode::Safe),
        Config::wecom(Token::new(TOKEN).unwrap(), key(), "ww0123456789abcdef"),
    ];
    configs
        .into_iter()
        .map(|c| {
            Engine::new(c.with_timestamp_tolerance(std::time::Duration::from_secs(300)), router())
                .unwrap()
                .with_clock(|| NOW)
        })
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (query, body) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let method = ["GET", "POST", "POST", "PUT"][usize::from(flags & 3)];
    let query: String = String::from_utf8_lossy(query)
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '#')
        .collect();
    for engine in ENGINES.iter() {
        let mut body = Bytes::copy_from_slice(body);
        if flags & 8 != 0
            && let Some(crypt) = wechat_callback::adapter::crypt(&engine)
        {
            // The body is a plaintext message: sealed the way WeChat seals it, so the fuzzer
            // reaches the parser of decrypted messages.
            let sealed = crypt.encrypt_with_random(&String::from_utf8_lossy(&body), &[1; 16]);
            body = Bytes::from(format!("<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"));
        }
        let mut query = query.clone();
        if flags & 4 != 0 {
            // Signed as WeChat signs: `signature`, and `msg_signature` over the body's
            // `Encrypt`, so the fuzzer gets past the checks into decryption and parsing.
            let (ts, nonce) = (NOW.to_string(), "fuzz");
            let encrypt = Document::from_bytes(body.clone())
                .ok()
                .and_then(|d| d.child_text("Encrypt").map(str::to_owned))
                .unwrap_or_default();
            let signature = crypto::signature(&[TOKEN, &ts, nonce]);
            let msg_signature = crypto::signature(&[TOKEN, &ts, nonce, &encrypt]);
            query = format!(
                "timestamp={ts}&nonce={nonce}&signature={signature}&encrypt_type=aes\
                 &msg_signature={msg_signature}&{query}"
            );
        }
        let Ok(request) = http::Request::builder()
            .method(method)
            .uri(format!("/wechat?{query}"))
            .body(body)
        else {
            continue;
        };
        let status = engine.handle(request).status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 401 | 403 | 405 | 413),
            "status {status}"
        );
    }
});
