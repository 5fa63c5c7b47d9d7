//! Mini-program message push (小程序 “消息推送”) in JSON: the official vectors of the
//! message-push page (URL verification, plaintext JSON, safe-mode JSON), JSON replies, and
//! the leniencies WeChat needs (a JSON body labelled `text/xml`, `List` object or array,
//! numbers as numbers or strings).

use bytes::Bytes;
use http::StatusCode;
use wechat_callback::message::{Message, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{
    BodyFormat, Callback, Config, EncodingAesKey, Engine, Mode, Received, Router, Token,
};

const TOKEN: &str = "AAAAA";
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const APPID: &str = "wxba5fad812f8e6fb9";
/// The safe-mode request's `Encrypt` (message-push page, 安全模式).
const ENCRYPT: &str = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";

fn engine(mode: Mode, router: Router) -> Engine {
    let mut config = Config::mini_program(Token::new(TOKEN).unwrap(), APPID)
        .with_format(BodyFormat::Json)
        .with_mode(mode);
    if mode != Mode::Plain {
        config = config
            .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
            .with_mode(mode);
    }
    Engine::new(config, router).unwrap().without_dedup()
}

fn request(method: &str, query: &str, body: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(format!("/wechat?{query}"))
        .header("content-type", "text/xml")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn url_verification_echoes_echostr() {
    let response = engine(Mode::Plain, Router::new()).handle(request(
        "GET",
        "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492",
        "",
    ));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"4375120948345356249");
}

#[test]
fn plaintext_json_is_read_even_labelled_xml() {
    let body = r#"{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}"#;
    let engine = engine(Mode::Plain, Router::new());
    let handled = engine
        .process(&request(
            "POST",
            "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656",
            body,
        ))
        .unwrap();
    let Received::Message(callback) = &handled.received else {
        panic!("not a message")
    };
    assert_eq!(callback.format(), BodyFormat::Json);
    assert_eq!(callback.head().create_time, 1_714_037_059);
    assert_eq!(callback.head().event.as_deref(), Some("debug_demo"));
    assert_eq!(
        callback.fields().child_text("debug_str"),
        Some("hello world")
    );
    assert_eq!(handled.response.body().as_ref(), b"success");
}

fn safe_query() -> &'static str {
    "signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
}

#[test]
fn safe_mode_json_decrypts_the_official_vector_and_answers_success_unencrypted() {
    let body = format!(r#"{{"ToUserName":"gh_97417a04a28d","Encrypt":"{ENCRYPT}"}}"#);
    let engine = engine(Mode::Safe, Router::new());
    let handled = engine
        .process(&request("POST", safe_query(), &body))
        .unwrap();
    let Received::Message(callback) = &handled.received else {
        panic!("not a message")
    };
    assert!(callback.is_encrypted());
    assert_eq!(callback.format(), BodyFormat::Json);
    assert_eq!(
        callback.head().from_user_name,
        "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
    );
    assert_eq!(
        callback.fields().child_text("debug_str"),
        Some("hello world")
    );
    // `success` goes out unencrypted (an encrypted `success` breaks the chat: royalrick/weapp#87).
    assert_eq!(handled.response.body().as_ref(), b"success");
}

#[test]
fn a_reply_to_a_json_push_is_an_encrypted_json_envelope() {
    let router =
        Router::new().on_text(|text: &Text| Reply::text(format!("echo: {}", text.content)));
    let engine = engine(Mode::Safe, router);
    let crypt = wechat_callback::adapter::crypt(&engine).unwrap().clone();
    let plain = r#"{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":"1714112445","MsgType":"text","Content":"你好","MsgId":23993307130407686}"#;
    let encrypt = crypt.encrypt_with_random(plain, &[7; 16]);
    let msg_signature =
        wechat_callback::crypto::signature(&[TOKEN, "1714112445", "415670741", &encrypt]);
    let query = format!(
        "timestamp=1714112445&nonce=415670741&openid=o&encrypt_type=aes&msg_signature={msg_signature}"
    );
    let body = format!(r#"{{"ToUserName":"gh_97417a04a28d","Encrypt":"{encrypt}"}}"#);
    let handled = engine.process(&request("POST", &query, &body)).unwrap();
    let Received::Message(callback) = &handled.received else {
        panic!("not a message")
    };
    let Message::Text(text) = callback.message() else {
        panic!("{:?}", callback.message())
    };
    assert_eq!(text.msg_id, Some(23_993_307_130_407_686));
    assert_eq!(callback.head().create_time, 1_714_112_445);
    let response = &handled.response;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let envelope: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let (encrypt, timestamp, nonce) = (
        envelope["Encrypt"].as_str().unwrap(),
        envelope["TimeStamp"]
            .as_u64()
            .expect("TimeStamp is a number")
            .to_string(),
        envelope["Nonce"].as_str().expect("Nonce is a string"),
    );
    assert_eq!(
        envelope["MsgSignature"].as_str().unwrap(),
        wechat_callback::crypto::signature(&[TOKEN, &timestamp, nonce, encrypt])
    );
    let reply: serde_json::Value = serde_json::from_str(&crypt.decrypt(encrypt).unwrap()).unwrap();
    assert_eq!(reply["MsgType"], "text");
    assert_eq!(reply["Content"], "echo: 你好");
    assert_eq!(reply["ToUserName"], "o9AgO5Kd5ggOC-bXrbNODIiE3bGY");
    assert_eq!(reply["FromUserName"], "gh_97417a04a28d");
}

#[test]
fn an_empty_encrypt_is_a_decrypt_error_and_a_missing_one_an_xml_error() {
    let engine = engine(Mode::Safe, Router::new());
    let empty_sig = wechat_callback::crypto::signature(&[TOKEN, "1714112445", "415670741", ""]);
    let query =
        format!("timestamp=1714112445&nonce=415670741&encrypt_type=aes&msg_signature={empty_sig}");
    let error = engine
        .process(&request(
            "POST",
            &query,
            r#"{"ToUserName":"gh_1","Encrypt":""}"#,
        ))
        .unwrap_err();
    assert_eq!(error.code(), Some(-40007), "{error}");
    let error = engine
        .process(&request("POST", &query, r#"{"ToUserName":"gh_1"}"#))
        .unwrap_err();
    assert_eq!(error.code(), Some(-40002), "{error}");
    let error = engine
        .process(&request("POST", &query, r#"{"ToUserName":"gh_1","#))
        .unwrap_err();
    assert_eq!(error.code(), Some(-40002), "{error}");
}

#[test]
fn list_as_object_or_array_and_numbers_as_strings_read_the_same() {
    let one = Callback::from_json(
        r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":"1610969440","MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"t1","SubscribeStatusString":"accept","PopupScene":"0"}}"#,
    )
    .unwrap();
    let many = Callback::from_json(
        r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1610969440,"MsgType":"event","Event":"subscribe_msg_popup_event","List":[{"TemplateId":"t1","SubscribeStatusString":"accept","PopupScene":0},{"TemplateId":"t2","SubscribeStatusString":"reject","PopupScene":"0"}]}"#,
    )
    .unwrap();
    assert_eq!(one.head().create_time, many.head().create_time);
    let (Message::Event(one), Message::Event(many)) = (one.message(), many.message()) else {
        panic!("not events")
    };
    let items = |event: &wechat_callback::message::Event| match event {
        wechat_callback::message::Event::SubscribeMsgPopup(popup) => popup
            .items
            .iter()
            .map(|i| i.template_id.to_string())
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(items(one), ["t1"]);
    assert_eq!(items(many), ["t1", "t2"]);
}
