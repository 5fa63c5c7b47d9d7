//! `signature` vectors from wechatpy (`tests/test_utils.py`) and silenceper/wechat
//! (`util/signature_test.go`).

use wechat_callback::crypto;
use wechat_callback::crypto::verify_signature;
use wechat_callback::{ErrorKind, Token};

use crate::{input, vector};

fn parts(v: &serde_json::Value) -> Vec<&str> {
    v["input"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

#[test]
fn wechatpy_check_signature_ok() {
    let v = vector("wechatpy_check_signature_ok");
    let expected = v["expect"]["signature"].as_str().unwrap();
    assert_eq!(crypto::signature(&parts(&v)), expected);
    let token = Token::new(input(&v, "token")).unwrap();
    verify_signature(&token, input(&v, "timestamp"), input(&v, "nonce"), expected).unwrap();
}

#[test]
fn wechatpy_check_signature_fail() {
    let v = vector("wechatpy_check_signature_fail");
    let token = Token::new(input(&v, "token")).unwrap();
    let err = verify_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        input(&v, "claimed_signature"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    assert_eq!(err.code(), Some(-40001));
}

#[test]
fn silenceper_signature_abc() {
    let v = vector("silenceper_signature_abc");
    assert_eq!(
        crypto::signature(&parts(&v)),
        v["expect"]["signature"].as_str().unwrap()
    );
}

#[test]
fn wechatpy_signer_789_456_123() {
    let v = vector("wechatpy_signer_789_456_123");
    assert_eq!(
        crypto::signature(&parts(&v)),
        v["expect"]["signature"].as_str().unwrap()
    );
}
