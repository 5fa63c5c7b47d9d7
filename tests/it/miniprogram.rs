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
pub(crate) const ENCRYPT: &str = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";

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

fn event(json: &str) -> wechat_callback::message::Event {
    let callback = Callback::from_json(json).unwrap();
    match callback.message() {
        Message::Event(event) => event.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mini_program_events_are_typed_from_json() {
    use wechat_callback::message::Event;
    // A real version-2 body (community post, 2025-11): `label` a string here, a number in the doc.
    let Event::WxaMediaCheck(check) = event(
        r#"{"ToUserName":"gh_7bf1f1389686","FromUserName":"or9bw69jaWwJlF-6u0z3qT3KmO2k","CreateTime":1762329554,"MsgType":"event","Event":"wxa_media_check","appid":"wxb04d1be1ede56d47","trace_id":"690b03d2-301f6111-35ffbd44","version":2,"result":{"suggest":"pass","label":"100"},"detail":[{"strategy":"content_model","errcode":0,"suggest":"pass","label":"100","prob":90}]}"#,
    ) else {
        panic!()
    };
    assert_eq!(check.trace_id, "690b03d2-301f6111-35ffbd44");
    assert_eq!(check.version, Some(2));
    assert_eq!(check.suggest.as_deref(), Some("pass"));
    assert_eq!(check.label.as_deref(), Some("100"));
    assert_eq!(check.details.len(), 1);
    assert_eq!(check.details[0].strategy, "content_model");
    assert_eq!(check.details[0].prob, Some(90.0));
    // Version 1, as received in JSON mode.
    let Event::WxaMediaCheck(v1) = event(
        r#"{"ToUserName":"gh_406d9032","FromUserName":"oiRBY5ba","CreateTime":1658730632,"MsgType":"event","Event":"wxa_media_check","isrisky":0,"extra_info_json":"","appid":"wxffc","trace_id":"bd8117e7041fd2424bdac93effdb745f","status_code":0,"detail":[]}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (v1.isrisky, v1.status_code, v1.version),
        (Some(0), Some(0), None)
    );
    assert!(v1.details.is_empty());

    let Event::UserEnterTempsession(enter) = event(
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sessionFrom"}"#,
    ) else {
        panic!()
    };
    assert_eq!(enter.session_from, "sessionFrom");

    let Event::XpayGoodsDeliverNotify(deliver) = event(
        r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1700000000,"MsgType":"event","Event":"xpay_goods_deliver_notify","OpenId":"o1","OutTradeNo":"t1","Env":0,"WeChatPayInfo":{"MchOrderNo":"m1","TransactionId":"w1","PaidTime":1700000001},"GoodsInfo":{"ProductId":"p1","Quantity":2,"OrigPrice":100,"ActualPrice":90,"Attach":"a"}}"#,
    ) else {
        panic!()
    };
    assert_eq!((deliver.openid.as_ref(), deliver.env), ("o1", Some(0)));
    assert_eq!(deliver.paid_time, Some(1_700_000_001));
    assert_eq!(
        (deliver.quantity, deliver.actual_price),
        (Some(2), Some(90))
    );

    let Event::TradeManageOrderSettlement(settled) = event(
        r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":"1700000000","MsgType":"event","Event":"trade_manage_order_settlement","transaction_id":"42","merchant_id":"m","merchant_trade_no":"n","pay_time":1700000000,"shipped_time":"1700000100","estimated_settlement_time":1700600000}"#,
    ) else {
        panic!()
    };
    assert_eq!(settled.shipped_time, Some(1_700_000_100));
    assert_eq!(settled.settlement_time, None);
}

#[test]
fn add_express_path_reads_the_same_from_xml_and_json() {
    use wechat_callback::message::Event;
    let xml = Callback::from_xml(
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1546924844</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[add_express_path]]></Event><DeliveryID><![CDATA[SF]]></DeliveryID><WaybillId><![CDATA[w1]]></WaybillId><Version>3</Version><Count>2</Count><Actions><ActionTime>1546924840</ActionTime><ActionType>100001</ActionType><ActionMsg><![CDATA[揽件阶段]]></ActionMsg></Actions><Actions><ActionTime>1546924841</ActionTime><ActionType>200001</ActionType><ActionMsg><![CDATA[运输阶段]]></ActionMsg></Actions><OrderId><![CDATA[o1]]></OrderId></xml>",
    )
    .unwrap();
    let json = event(
        r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1546924844,"MsgType":"event","Event":"add_express_path","DeliveryID":"SF","WaybillId":"w1","Version":3,"Count":2,"Actions":[{"ActionTime":1546924840,"ActionType":100001,"ActionMsg":"揽件阶段"},{"ActionTime":1546924841,"ActionType":200001,"ActionMsg":"运输阶段"}],"OrderId":"o1"}"#,
    );
    let Message::Event(from_xml) = xml.message() else {
        panic!()
    };
    assert_eq!(from_xml, &json);
    let Event::AddExpressPath(path) = json else {
        panic!()
    };
    assert_eq!(path.actions.len(), 2);
    assert_eq!(path.actions[1].action_type, Some(200_001));
    assert_eq!(path.actions[0].action_msg, "揽件阶段");
}
