//! Decryption of any `Encrypt` value, as text and as base64 of any ciphertext (so AES, the
//! padding, the length prefix and the receive id check all see arbitrary bytes), and the
//! encrypt → decrypt round trip for any message.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::{EncodingAesKey, ReceiveId};

const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

fuzz_target!(|data: &[u8]| {
    let key = EncodingAesKey::new(KEY).unwrap();
    let crypt = MsgCrypt::new(&key, ReceiveId::AppId("wx49f0ab532d5d035a".into()));
    let _ = crypt.decrypt(&String::from_utf8_lossy(data));
    let _ = crypt.decrypt(&STANDARD.encode(data));
    let message = String::from_utf8_lossy(data);
    let sealed = crypt.encrypt_with_random(&message, &[7; 16]);
    assert_eq!(crypt.decrypt(&sealed).unwrap(), message);
});
