//! `wxcb simulate`: plays WeChat's servers against a live endpoint. Builds a callback as
//! WeChat does (fresh timestamp and nonce, signatures, encryption), and checks the answer as
//! WeChat would: status 200, a reply envelope whose `MsgSignature` verifies and whose `Encrypt`
//! decrypts for the account's appid / corpid, and reply XML addressed back to the sender.

use bytes::Bytes;
use wechat_callback::Token;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::{Document, Element};
use wechat_callback::reply::push_cdata_element;

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
    /// This plaintext message XML, as is.
    Xml(String),
}

impl Callback {
    /// The plaintext message XML from `from_user_name` (openid) to `to_user_name`, with
    /// `CreateTime` (Unix seconds), `MsgId` for messages, and `AgentID` for WeCom.
    pub fn to_xml(
        &self,
        from_user_name: &str,
        to_user_name: &str,
        create_time: u64,
        msg_id: u64,
        agent_id: Option<&str>,
    ) -> String {
        let (msg_type, body) = match self {
            Self::Xml(xml) => return xml.clone(),
            Self::Text(content) => {
                let mut body = String::new();
                push_cdata_element(&mut body, "Content", content);
                body.push_str(&format!("<MsgId>{msg_id}</MsgId>"));
                ("text", body)
            }
            Self::Event { event, event_key } => {
                let mut body = String::new();
                push_cdata_element(&mut body, "Event", event);
                if let Some(key) = event_key {
                    push_cdata_element(&mut body, "EventKey", key);
                }
                ("event", body)
            }
        };
        let mut xml = String::from("<xml>");
        push_cdata_element(&mut xml, "ToUserName", to_user_name);
        push_cdata_element(&mut xml, "FromUserName", from_user_name);
        xml.push_str(&format!("<CreateTime>{create_time}</CreateTime>"));
        push_cdata_element(&mut xml, "MsgType", msg_type);
        xml.push_str(&body);
        if let Some(agent_id) = agent_id {
            xml.push_str(&format!("<AgentID>{agent_id}</AgentID>"));
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
    /// Reply XML; `encrypted` when it came in a verified, decrypted envelope.
    Xml {
        /// The (decrypted) reply XML.
        xml: String,
        /// Whether it arrived encrypted.
        encrypted: bool,
    },
}

/// Reads the endpoint's answer to a message as WeChat would.
///
/// # Errors
/// A message saying what is wrong: a status other than 200; an envelope whose `MsgSignature`
/// does not verify, that does not decrypt, or that was encrypted for another appid / corpid;
/// a plaintext reply to a safe-mode or WeCom request; reply XML that does not parse.
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
    match EncryptedReply::from_xml(text) {
        Ok(envelope) => {
            let crypt = sender
                .crypt()
                .ok_or("an encrypted reply, but no EncodingAESKey was given (--aes-key)")?;
            let token = Token::new(sender.token()).map_err(|e| e.to_string())?;
            let xml = envelope
                .open(crypt, &token)
                .map_err(|e| format!("the reply envelope does not open: {e}"))?;
            wechat_callback::message::Document::parse(&xml)
                .map_err(|e| format!("the decrypted reply is not XML: {e}"))?;
            Ok(Reply::Xml {
                xml,
                encrypted: true,
            })
        }
        Err(_) => {
            if request_was_encrypted && (sender.is_wecom() || !sender.accepts_plain_replies()) {
                return Err("a plaintext reply to an encrypted safe-mode request".into());
            }
            wechat_callback::message::Document::parse(text)
                .map_err(|e| format!("the reply is neither `success` nor XML: {e}"))?;
            Ok(Reply::Xml {
                xml: text.to_owned(),
                encrypted: false,
            })
        }
    }
}

/// Checks reply XML is addressed back: `ToUserName` is the sender's openid and `FromUserName`
/// the account, with a `MsgType`.
///
/// # Errors
/// A message naming the first field that is missing or wrong.
pub fn check_addressing(xml: &str, openid: &str, to_user_name: &str) -> Result<Document, String> {
    let root = wechat_callback::message::Document::parse(xml).map_err(|e| e.to_string())?;
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

    fn exchange(engine: &Engine, sender: &Sender, callback: &Callback) -> http::Response<Bytes> {
        let xml = callback.to_xml(defaults::OPENID, defaults::TO_USER_NAME, 1, 2, None);
        let (timestamp, nonce) = crate::build::fresh_timestamp_and_nonce();
        let built = sender.message(&xml, &timestamp, &nonce, Some(defaults::OPENID), &[3; 16]);
        engine.handle(built.http_request("/wechat").unwrap())
    }

    #[test]
    fn a_safe_mode_round_trip_decrypts_and_is_addressed_back() {
        let sender =
            Sender::official_account(defaults::TOKEN, KEY, defaults::APPID, Mode::Safe).unwrap();
        let engine = echo_engine(Mode::Safe, defaults::APPID);
        let response = exchange(&engine, &sender, &Callback::Text("你好 <&> ]]>".into()));
        let Reply::Xml { xml, encrypted } = read_reply(&sender, &response, true).unwrap() else {
            panic!("empty reply")
        };
        assert!(encrypted);
        let root = check_addressing(&xml, defaults::OPENID, defaults::TO_USER_NAME).unwrap();
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
