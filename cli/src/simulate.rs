//! `wxcb simulate`: plays WeChat's servers against a live endpoint. Builds a callback as
//! WeChat does (fresh timestamp and nonce, signatures, encryption), and checks the answer as
//! WeChat would: status 200, a reply envelope whose `MsgSignature` verifies and whose `Encrypt`
//! decrypts for the account's appid / corpid, and a reply (XML, or JSON for a JSON
//! mini-program) addressed back to the sender.

use bytes::Bytes;
use serde_json::Value;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::{Document, Element};
use wechat_callback::reply::push_cdata_element;
use wechat_callback::{BodyFormat, Platform, Token};

use crate::build::Sender;

/// The demo account the example servers (`examples/`) embed, so that `wxcb simulate` with no
/// credentials talks to `cargo run -p hyper-echo` with none either.
pub mod defaults {
    /// The example servers' address, and so `simulate`'s default `--url`.
    pub const URL: &str = "http://127.0.0.1:8080/wechat";
    /// `WECHAT_TOKEN`'s default.
    pub const TOKEN: &str = "wxcbDemoToken";
    /// `WECHAT_APPID`'s default.
    pub const APPID: &str = "wx5e7c1d9a0b3f2468";
    /// The sender's openid (`FromUserName`): 28 characters, like WeChat's.
    pub const OPENID: &str = "oWxcbDemoUser0000000000000001";
    /// The account's original id (`ToUserName`).
    pub const TO_USER_NAME: &str = "gh_wxcbdemo0001";
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// A text message with this `Content`.
    Text(String),
    /// An event (`subscribe`, `CLICK`, …) with an optional `EventKey`.
    Event {
        /// `Event` as WeChat spells it.
        event: String,
        /// `EventKey`.
        event_key: Option<String>,
    },
    /// An InfoType push (`component_verify_ticket`, `suite_ticket`, …): an open platform's
    /// authorization event or a WeCom suite's command callback.
    Info(String),
    /// This plaintext message (XML, or JSON for a JSON mini-program), as is.
    Raw(String),
}

/// Who sends to whom, and when: what a message's head carries.
#[derive(Debug, Clone, Copy)]
pub struct Addressing<'a> {
    /// `FromUserName`: the user's openid.
    pub from_user_name: &'a str,
    /// `ToUserName`: the account's original id (or corpid).
    pub to_user_name: &'a str,
    /// `CreateTime`, Unix seconds.
    pub create_time: u64,
    /// `MsgId` of a message.
    pub msg_id: u64,
    /// WeCom `AgentID`.
    pub agent_id: Option<&'a str>,
}

impl Callback {
    /// Whether this is an InfoType push (sent without an openid, answered `success`).
    pub fn is_info(&self) -> bool {
        matches!(self, Self::Info(_))
    }

    /// The plaintext body as `sender` sends it: XML, or JSON for a JSON mini-program (numbers
    /// as JSON numbers, as WeChat sends them). An InfoType push is addressed to the account's
    /// receive id: `<AppId>` on the open platform, `<SuiteId>` on a WeCom suite, with
    /// `CreateTime` / `TimeStamp`.
    pub fn render(&self, sender: &Sender, to: &Addressing<'_>) -> String {
        let receive_id = sender
            .crypt()
            .map_or("", |crypt| crypt.receive_id().as_str());
        self.render_as(sender.format(), sender.platform(), receive_id, to)
    }

    /// The plaintext message XML of an official account (or, with `agent_id`, a WeCom
    /// application): [`Callback::render`] without a sender.
    pub fn to_xml(
        &self,
        from_user_name: &str,
        to_user_name: &str,
        create_time: u64,
        msg_id: u64,
        agent_id: Option<&str>,
    ) -> String {
        let to = Addressing {
            from_user_name,
            to_user_name,
            create_time,
            msg_id,
            agent_id,
        };
        self.render_as(BodyFormat::Xml, Platform::OfficialAccount, "", &to)
    }

    fn render_as(
        &self,
        format: BodyFormat,
        platform: Platform,
        receive_id: &str,
        to: &Addressing<'_>,
    ) -> String {
        if let Self::Raw(text) = self {
            return text.clone();
        }
        if let Self::Info(info_type) = self {
            let mut xml = String::from("<xml>");
            if platform == Platform::WeComSuite {
                push_cdata_element(&mut xml, "SuiteId", receive_id);
                push_cdata_element(&mut xml, "InfoType", info_type);
                xml.push_str(&format!("<TimeStamp>{}</TimeStamp>", to.create_time));
            } else {
                push_cdata_element(&mut xml, "AppId", receive_id);
                xml.push_str(&format!("<CreateTime>{}</CreateTime>", to.create_time));
                push_cdata_element(&mut xml, "InfoType", info_type);
            }
            xml.push_str("</xml>");
            return xml;
        }
        let mut fields = vec![
            ("ToUserName", Value::from(to.to_user_name)),
            ("FromUserName", Value::from(to.from_user_name)),
            ("CreateTime", Value::from(to.create_time)),
        ];
        match self {
            Self::Text(content) => fields.extend([
                ("MsgType", Value::from("text")),
                ("Content", Value::from(content.as_str())),
                ("MsgId", Value::from(to.msg_id)),
            ]),
            Self::Event { event, event_key } => {
                fields.extend([
                    ("MsgType", Value::from("event")),
                    ("Event", Value::from(event.as_str())),
                ]);
                fields.extend(
                    event_key
                        .as_deref()
                        .map(|key| ("EventKey", Value::from(key))),
                );
            }
            Self::Info(_) | Self::Raw(_) => {}
        }
        fields.extend(to.agent_id.map(|id| ("AgentID", Value::from(id))));
        if format == BodyFormat::Json {
            let object: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
            return Value::Object(object).to_string();
        }
        let mut xml = String::from("<xml>");
        for (name, value) in fields {
            match value {
                Value::String(text) => push_cdata_element(&mut xml, name, &text),
                other => xml.push_str(&format!("<{name}>{other}</{name}>")),
            }
        }
        xml.push_str("</xml>");
        xml
    }
}

/// A reply as WeChat would read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `success` or an empty body: nothing is shown to the user.
    Empty,
    /// A reply message: XML, or JSON for a JSON mini-program; `encrypted` when it came in a
    /// verified, decrypted envelope.
    Message {
        /// The (decrypted) reply body.
        body: String,
        /// Whether it arrived encrypted.
        encrypted: bool,
    },
}

/// Parses a body as JSON when it starts with `{`, else as XML.
///
/// # Errors
/// The parser's error.
pub fn parse_body(body: &str) -> Result<Document, wechat_callback::Error> {
    if body.trim_start().starts_with('{') {
        Document::parse_json(body)
    } else {
        Document::parse(body)
    }
}

/// Reads the endpoint's answer to a message as WeChat would.
///
/// # Errors
/// A message saying what is wrong: a status other than 200; an envelope (XML, or JSON for a
/// JSON mini-program) whose `MsgSignature` does not verify, that does not decrypt, or that was
/// encrypted for another appid / corpid; a plaintext reply to a safe-mode or WeCom request; a
/// reply that does not parse.
pub fn read_reply(
    sender: &Sender,
    response: &http::Response<Bytes>,
    request_was_encrypted: bool,
) -> Result<Reply, String> {
    let body = String::from_utf8_lossy(response.body());
    if response.status() != http::StatusCode::OK {
        return Err(format!(
            "HTTP {} (body {:?}): WeChat would retry, then show the user an error",
            response.status(),
            body.trim()
        ));
    }
    let text = body.trim();
    if text.is_empty() || text == "success" {
        return Ok(Reply::Empty);
    }
    let json = text.starts_with('{');
    if json && sender.format() != BodyFormat::Json {
        return Err("a JSON reply from an account whose data format is XML".into());
    }
    let envelope = if json {
        EncryptedReply::from_json(text)
    } else {
        EncryptedReply::from_xml(text)
    };
    match envelope {
        Ok(envelope) => {
            let crypt = sender
                .crypt()
                .ok_or("an encrypted reply, but no EncodingAESKey was given (--aes-key)")?;
            let token = Token::new(sender.token()).map_err(|e| e.to_string())?;
            let body = envelope
                .open(crypt, &token)
                .map_err(|e| format!("the reply envelope does not open: {e}"))?;
            parse_body(&body).map_err(|e| format!("the decrypted reply does not parse: {e}"))?;
            Ok(Reply::Message {
                body,
                encrypted: true,
            })
        }
        Err(_) => {
            if request_was_encrypted && !sender.accepts_plain_replies() {
                return Err("a plaintext reply to an encrypted safe-mode request".into());
            }
            parse_body(text).map_err(|e| {
                format!("the reply is neither `success` nor a message that parses: {e}")
            })?;
            Ok(Reply::Message {
                body: text.to_owned(),
                encrypted: false,
            })
        }
    }
}

/// Checks a reply (XML or JSON) is addressed back: `ToUserName` is the sender's openid and
/// `FromUserName` the account, with a `MsgType`.
///
/// # Errors
/// A message naming the first field that is missing or wrong.
pub fn check_addressing(reply: &str, openid: &str, to_user_name: &str) -> Result<Document, String> {
    let root = parse_body(reply).map_err(|e| e.to_string())?;
    for (field, want) in [("ToUserName", openid), ("FromUserName", to_user_name)] {
        let got = root.child_text(field).unwrap_or_default();
        if got != want {
            return Err(format!("reply {field} is {got:?}, expected {want:?}"));
        }
    }
    if root.child_text("MsgType").is_none_or(str::is_empty) {
        return Err("reply has no MsgType".into());
    }
    Ok(root)
}

/// Checks the answer to URL verification: 200 with exactly the (plaintext) `echostr`.
///
/// # Errors
/// A message with the status and what came back instead.
pub fn check_echo(response: &http::Response<Bytes>, echostr: &str) -> Result<(), String> {
    let body = String::from_utf8_lossy(response.body());
    if response.status() != http::StatusCode::OK || body != echostr {
        return Err(format!(
            "URL verification failed: HTTP {} with {:?}, expected 200 with {echostr:?}",
            response.status(),
            body
        ));
    }
    Ok(())
}

/// Every leaf of `element` as `(path, text)`, paths joined with `/` (`Articles/item/Title`).
pub fn flatten(element: Element<'_>) -> Vec<(String, String)> {
    fn walk(element: Element<'_>, prefix: &str, out: &mut Vec<(String, String)>) {
        for child in element.children() {
            let path = if prefix.is_empty() {
                child.name().to_owned()
            } else {
                format!("{prefix}/{}", child.name())
            };
            if !child.has_children() {
                out.push((path, child.text().to_owned()));
            } else {
                walk(child, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(element, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechat_callback::message::Text;
    use wechat_callback::reply::Reply as R;
    use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router};

    const KEY: &str = "wxcbDemoEncodingAESKey0123456789abcdefghijk";

    fn echo_engine(mode: Mode, appid: &str) -> Engine {
        let config = Config::official_account(Token::new(defaults::TOKEN).unwrap(), appid)
            .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
            .with_mode(mode);
        let router = Router::new().on_text(|t: &Text| R::text(t.content.clone()));
        Engine::new(config, router).unwrap()
    }

    const TO: Addressing<'static> = Addressing {
        from_user_name: defaults::OPENID,
        to_user_name: defaults::TO_USER_NAME,
        create_time: 1,
        msg_id: 2,
        agent_id: None,
    };

    fn exchange(engine: &Engine, sender: &Sender, callback: &Callback) -> http::Response<Bytes> {
        let message = callback.render(sender, &TO);
        let (timestamp, nonce) = crate::build::fresh_timestamp_and_nonce();
        let built = sender
            .message(
                &message,
                &timestamp,
                &nonce,
                Some(defaults::OPENID),
                &[3; 16],
            )
            .unwrap();
        engine.handle(built.http_request("/wechat").unwrap())
    }

    #[test]
    fn a_safe_mode_round_trip_decrypts_and_is_addressed_back() {
        let sender =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Safe).unwrap();
        let engine = echo_engine(Mode::Safe, defaults::APPID);
        let response = exchange(&engine, &sender, &Callback::Text("你好 <&> ]]>".into()));
        let Reply::Message { body, encrypted } = read_reply(&sender, &response, true).unwrap()
        else {
            panic!("empty reply")
        };
        assert!(encrypted);
        let root = check_addressing(&body, defaults::OPENID, defaults::TO_USER_NAME).unwrap();
        assert_eq!(root.child_text("Content"), Some("你好 <&> ]]>"));
        let fields = flatten(root.root());
        assert!(fields.contains(&("MsgType".into(), "text".into())));
        let event = Callback::Event {
            event: "subscribe".into(),
            event_key: None,
        };
        assert_eq!(
            read_reply(&sender, &exchange(&engine, &sender, &event), true),
            Ok(Reply::Empty)
        );
    }

    /// A JSON mini-program: the message goes out as JSON in a JSON envelope, and a reply comes
    /// back as the JSON envelope `{"Encrypt","MsgSignature","TimeStamp","Nonce"}`.
    #[test]
    fn a_json_mini_program_round_trip_reads_the_json_envelope() {
        let config = Config::mini_program(Token::new(defaults::TOKEN).unwrap(), defaults::APPID)
            .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
            .with_mode(Mode::Safe)
            .with_format(wechat_callback::BodyFormat::Json);
        let sender = Sender::for_config(&config, None).unwrap();
        let router = Router::new().on_text(|t: &Text| R::text(t.content.clone()));
        let engine = Engine::new(config, router).unwrap();
        let message = Callback::Text("小程序".into()).render(&sender, &TO);
        assert!(
            message.starts_with('{') && message.contains(r#""MsgId":2"#),
            "{message}"
        );
        let response = exchange(&engine, &sender, &Callback::Text("小程序".into()));
        assert!(response.body().starts_with(b"{\"Encrypt\":"));
        let Reply::Message { body, encrypted } = read_reply(&sender, &response, true).unwrap()
        else {
            panic!("empty reply")
        };
        assert!(encrypted);
        let root = check_addressing(&body, defaults::OPENID, defaults::TO_USER_NAME).unwrap();
        assert_eq!(root.child_text("Content"), Some("小程序"));
        // An XML sender does not take a JSON answer.
        let xml_sender =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Safe).unwrap();
        assert!(read_reply(&xml_sender, &response, true).is_err());
    }

    #[test]
    fn a_reply_for_another_appid_or_with_a_bad_status_fails() {
        let sender =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Safe).unwrap();
        let engine = echo_engine(Mode::Safe, defaults::APPID);
        let other = Sender::official_account(defaults::TOKEN, KEY, "wx_other", Mode::Safe).unwrap();
        let response = exchange(&engine, &sender, &Callback::Text("hi".into()));
        let problem = read_reply(&other, &response, true).unwrap_err();
        assert!(problem.contains("does not open"), "{problem}");
        let wrong_token = Sender::plain("not-the-token");
        let response = exchange(&engine, &wrong_token, &Callback::Text("hi".into()));
        assert!(
            read_reply(&sender, &response, false)
                .unwrap_err()
                .contains("HTTP 401")
        );
        assert!(
            check_addressing(
                "<xml><ToUserName>x</ToUserName></xml>",
                defaults::OPENID,
                defaults::TO_USER_NAME
            )
            .is_err()
        );
    }

    #[test]
    fn a_plaintext_reply_to_a_safe_mode_request_fails() {
        let sender =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Safe).unwrap();
        let plain = http::Response::new(Bytes::from_static(
            b"<xml><ToUserName>a</ToUserName><MsgType>text</MsgType></xml>",
        ));
        assert!(read_reply(&sender, &plain, true).is_err());
        let compat =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Compatible)
                .unwrap();
        assert!(read_reply(&compat, &plain, true).is_ok());
    }
}
