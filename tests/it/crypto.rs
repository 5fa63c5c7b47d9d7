//! WXBizMsgCrypt vectors: Tencent's official samples (公众平台 and 企业微信 `WXBizMsgCrypt`),
//! wechatpy, WxJava and EasyWeChat test suites. Each test is named after its vector id.

use wechat_callback::crypto::{self, MsgCrypt, verify_msg_signature};
use wechat_callback::message::Document;
use wechat_callback::{EncodingAesKey, ErrorKind, ReceiveId, Token};

use crate::{input, vector};

fn crypt(v: &serde_json::Value, receive_id: ReceiveId) -> MsgCrypt {
    MsgCrypt::new(
        &EncodingAesKey::new(input(v, "encoding_aes_key")).unwrap(),
        receive_id,
    )
}

/// Checks `msg_signature` over the body's `Encrypt`, decrypts it and compares with the
/// published plaintext and fields.
fn decrypt_message(id: &str, receive_id: fn(String) -> ReceiveId) {
    let v = vector(id);
    let token = Token::new(input(&v, "token")).unwrap();
    let body = Document::parse(input(&v, "body")).unwrap();
    let encrypt = body.child_text("Encrypt").unwrap();
    verify_msg_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        encrypt,
        input(&v, "msg_signature"),
    )
    .unwrap();
    let c = crypt(&v, receive_id(input(&v, "appid").to_owned()));
    let plaintext = c.decrypt(encrypt).unwrap();
    assert_eq!(plaintext, v["expect"]["plaintext"].as_str().unwrap());
    let root = Document::parse(&plaintext).unwrap();
    for (key, value) in v["expect"]["plaintext_fields"].as_object().unwrap() {
        assert_eq!(root.child_text(key), value.as_str(), "{id}: {key}");
    }
}

/// WeCom URL verification: `msg_signature` over the encrypted echostr, then decrypt.
fn verify_echostr(id: &str) {
    let v = vector(id);
    let token = Token::new(input(&v, "token")).unwrap();
    let echostr = input(&v, "echostr");
    verify_msg_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        echostr,
        input(&v, "msg_signature"),
    )
    .unwrap();
    let c = crypt(&v, ReceiveId::CorpId(input(&v, "receive_id").to_owned()));
    assert_eq!(
        c.decrypt(echostr).unwrap(),
        v["expect"]["echostr_plain"].as_str().unwrap()
    );
}

fn random16(v: &serde_json::Value) -> [u8; 16] {
    input(v, "random16").as_bytes().try_into().unwrap()
}

#[test]
fn tencent_mp_sample_decrypt() {
    decrypt_message("tencent_mp_sample_decrypt", ReceiveId::AppId);
}

#[test]
fn tencent_wecom_2014_decrypt_msg() {
    decrypt_message("tencent_wecom_2014_decrypt_msg", ReceiveId::CorpId);
}

#[test]
fn tencent_wecom_2016_decrypt_msg() {
    decrypt_message("tencent_wecom_2016_decrypt_msg", ReceiveId::CorpId);
}

#[test]
fn wechatpy_work_decrypt_message() {
    decrypt_message("wechatpy_work_decrypt_message", ReceiveId::CorpId);
}

#[test]
fn easywechat_encryptor_decrypt() {
    decrypt_message("easywechat_encryptor_decrypt", ReceiveId::AppId);
}

#[test]
fn tencent_wecom_2014_verify_url() {
    verify_echostr("tencent_wecom_2014_verify_url");
}

#[test]
fn tencent_wecom_2016_verify_url() {
    verify_echostr("tencent_wecom_2016_verify_url");
}

#[test]
fn wechatpy_work_check_signature_ok() {
    verify_echostr("wechatpy_work_check_signature_ok");
}

#[test]
fn wechatpy_work_check_signature_fail() {
    let v = vector("wechatpy_work_check_signature_fail");
    let token = Token::new(input(&v, "token")).unwrap();
    let err = verify_msg_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        input(&v, "echostr"),
        input(&v, "msg_signature"),
    )
    .unwrap_err();
    assert_eq!(
        wechat_callback_cli::fixture::class(err.kind()),
        v["expect"]["error"].as_str().unwrap()
    );
}

#[test]
fn tencent_wecom_json_decrypt_msg() {
    // The JSON sample: only the crypto is checked (its published plaintext is malformed JSON).
    let v = vector("tencent_wecom_json_decrypt_msg");
    let token = Token::new(input(&v, "token")).unwrap();
    let encrypt = input(&v, "encrypt");
    verify_msg_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        encrypt,
        input(&v, "msg_signature"),
    )
    .unwrap();
    let c = crypt(&v, ReceiveId::CorpId(input(&v, "appid").to_owned()));
    assert_eq!(
        c.decrypt(encrypt).unwrap(),
        v["expect"]["plaintext"].as_str().unwrap()
    );
}

#[test]
fn wechatpy_work_encrypt_message() {
    let v = vector("wechatpy_work_encrypt_message");
    let c = crypt(&v, ReceiveId::CorpId(input(&v, "appid").to_owned()));
    let encrypt = c.encrypt_with_random(input(&v, "plaintext"), &random16(&v));
    assert_eq!(encrypt, v["expect"]["encrypt"].as_str().unwrap());
    let signature = crypto::signature(&[
        input(&v, "token"),
        input(&v, "timestamp"),
        input(&v, "nonce"),
        &encrypt,
    ]);
    assert_eq!(signature, v["expect"]["msg_signature"].as_str().unwrap());
    assert_eq!(c.decrypt(&encrypt).unwrap(), input(&v, "plaintext"));
}

#[test]
fn wxjava_aes_encrypt_cjk() {
    let v = vector("wxjava_aes_encrypt_cjk");
    let c = crypt(&v, ReceiveId::AppId(input(&v, "appid").to_owned()));
    let encrypt = c.encrypt_with_random(input(&v, "plaintext"), &random16(&v));
    assert_eq!(encrypt, v["expect"]["encrypt"].as_str().unwrap());
}

#[test]
fn wxjava_aes_encrypt_xml() {
    let v = vector("wxjava_aes_encrypt_xml");
    let c = crypt(&v, ReceiveId::AppId(input(&v, "appid").to_owned()));
    let encrypt = c.encrypt_with_random(input(&v, "plaintext"), &random16(&v));
    assert_eq!(encrypt, v["expect"]["encrypt"].as_str().unwrap());
    assert_eq!(c.decrypt(&encrypt).unwrap(), input(&v, "plaintext"));
}

#[test]
fn easywechat_encryptor_wrong_appid() {
    let v = vector("easywechat_encryptor_wrong_appid");
    let base = vector("easywechat_encryptor_decrypt");
    let body = Document::parse(input(&base, "body")).unwrap();
    let c = crypt(&v, ReceiveId::AppId(input(&v, "appid").to_owned()));
    let err = c.decrypt(body.child_text("Encrypt").unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReceiveId);
    assert_eq!(
        wechat_callback_cli::fixture::class(err.kind()),
        v["expect"]["error"].as_str().unwrap()
    );
}

#[test]
fn easywechat_encryptor_wrong_signature() {
    let v = vector("easywechat_encryptor_wrong_signature");
    let base = vector("easywechat_encryptor_decrypt");
    let body = Document::parse(input(&base, "body")).unwrap();
    let token = Token::new(input(&v, "token")).unwrap();
    let err = verify_msg_signature(
        &token,
        input(&v, "timestamp"),
        input(&v, "nonce"),
        body.child_text("Encrypt").unwrap(),
        input(&v, "msg_signature"),
    )
    .unwrap_err();
    assert_eq!(
        wechat_callback_cli::fixture::class(err.kind()),
        v["expect"]["error"].as_str().unwrap()
    );
}

#[test]
fn every_vector_has_a_test() {
    // Keeps this file in step with the vector file: a new vector needs a test named after it.
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/crypto/_vectors.json")).unwrap();
    let this_file = include_str!("crypto.rs");
    let signature_file = include_str!("signature.rs");
    for v in all["vectors"].as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        let test = format!("fn {id}()");
        assert!(
            this_file.contains(&test) || signature_file.contains(&test),
            "no test for vector {id}"
        );
    }
}
