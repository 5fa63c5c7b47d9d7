//! Builds callback requests the way WeChat's servers send them: query parameters, signatures
//! and (for safe / compatible mode and WeCom) the encrypted envelope.
//!
//! Formats follow the official "消息加解密说明" (official accounts) and "回调配置" (WeCom):
//! `signature` = sha1(sorted token, timestamp, nonce); `msg_signature` = sha1(sorted token,
//! timestamp, nonce, Encrypt); official accounts add `openid` and `encrypt_type=aes`.

use bytes::Bytes;
use wechat_callback::crypto;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::reply::push_cdata_element;
use wechat_callback::{EncodingAesKey, Mode, ReceiveId};

/// A request ready to send: method, query pairs in WeChat's order, and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `GET` (URL verification) or `POST` (a message).
    pub method: &'static str,
    /// The query parameters, in the order WeChat sends them.
    pub query: Vec<(&'static str, String)>,
    /// The body: empty for GET, the (plaintext or envelope) XML for POST.
    pub body: String,
}

impl Built {
    /// The query URL-encoded, without the leading `?`.
    pub fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.query {
            out.append_pair(key, value);
        }
        out.finish()
    }

    /// The query value of `key`.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// An `http::Request` for `path` (which may be a full URL).
    ///
    /// # Errors
    /// When `path` joined with the query is not a valid URI.
    pub fn http_request(&self, path: &str) -> Result<http::Request<Bytes>, String> {
        let separator = if path.contains('?') { '&' } else { '?' };
        http::Request::builder()
            .method(self.method)
            .uri(format!("{path}{separator}{}", self.query_string()))
            .body(Bytes::from(self.body.clone()))
            .map_err(|e| format!("cannot build the request: {e}"))
    }
}

/// The sending side of one account: what WeChat's servers hold to sign and encrypt callbacks.
/// `Debug` hides the token.
#[derive(Clone)]
pub struct Sender {
    token: String,
    crypt: Option<MsgCrypt>,
    wecom: bool,
    mode: Mode,
    agent_id: Option<String>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("token", &"***")
            .field("wecom", &self.wecom)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// An official account in plaintext mode: `signature` only, the message as is.
    pub fn plain(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            crypt: None,
            wecom: false,
            mode: Mode::Plain,
            agent_id: None,
        }
    }

    /// An official account in safe or compatible mode, encrypting for `appid`.
    /// [`Mode::Plain`] gives [`Sender::plain`].
    ///
    /// # Errors
    /// When `aes_key` is not a valid 43-character EncodingAESKey.
    pub fn official_account(
        token: impl Into<String>,
        aes_key: &str,
        appid: impl Into<String>,
        mode: Mode,
    ) -> Result<Self, String> {
        let key = EncodingAesKey::new(aes_key).map_err(|e| e.to_string())?;
        Ok(Self {
            crypt: (mode != Mode::Plain)
                .then(|| MsgCrypt::new(&key, ReceiveId::AppId(appid.into()))),
            mode,
            ..Self::plain(token)
        })
    }

    /// A WeCom (企业微信) application: everything encrypted for `corpid`, `msg_signature` only.
    ///
    /// # Errors
    /// When `aes_key` is not a valid 43-character EncodingAESKey.
    pub fn wecom(
        token: impl Into<String>,
        aes_key: &str,
        corpid: impl Into<String>,
        agent_id: Option<String>,
    ) -> Result<Self, String> {
        let key = EncodingAesKey::new(aes_key).map_err(|e| e.to_string())?;
        Ok(Self {
            crypt: Some(MsgCrypt::new(&key, ReceiveId::CorpId(corpid.into()))),
            wecom: true,
            mode: Mode::Safe,
            agent_id,
            ..Self::plain(token)
        })
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The codec, when this sender encrypts.
    pub fn crypt(&self) -> Option<&MsgCrypt> {
        self.crypt.as_ref()
    }

    /// Whether messages are sent encrypted.
    pub fn encrypts(&self) -> bool {
        self.crypt.is_some()
    }

    /// Whether a plaintext reply to an encrypted request is acceptable: only in compatible
    /// mode (WeChat reads both there; safe mode and WeCom need the envelope).
    pub fn accepts_plain_replies(&self) -> bool {
        self.mode != Mode::Safe && !self.wecom
    }

    /// Whether this is a WeCom application.
    pub fn is_wecom(&self) -> bool {
        self.wecom
    }

    /// URL verification: a GET with `echostr` (encrypted with `random` for WeCom, which then
    /// expects the plaintext echoed back).
    pub fn echostr(&self, echostr: &str, timestamp: &str, nonce: &str, random: &[u8; 16]) -> Built {
        let mut query = Vec::with_capacity(4);
        match (&self.crypt, self.wecom) {
            (Some(crypt), true) => {
                let encrypted = crypt.encrypt_with_random(echostr, random);
                let msg_signature = crypto::signature(&[&self.token, timestamp, nonce, &encrypted]);
                query.push(("msg_signature", msg_signature));
                query.push(("timestamp", timestamp.to_owned()));
                query.push(("nonce", nonce.to_owned()));
                query.push(("echostr", encrypted));
            }
            _ => {
                query.push((
                    "signature",
                    crypto::signature(&[&self.token, timestamp, nonce]),
                ));
                query.push(("echostr", echostr.to_owned()));
                query.push(("timestamp", timestamp.to_owned()));
                query.push(("nonce", nonce.to_owned()));
            }
        }
        Built {
            method: "GET",
            query,
            body: String::new(),
        }
    }

    /// A message or event: a POST of `xml` (the plaintext message), encrypted with `random`
    /// when this sender encrypts. Safe mode and WeCom send an envelope with `ToUserName` and
    /// `Encrypt` (and `AgentID`); compatible mode keeps the plaintext fields beside `Encrypt`.
    pub fn message(
        &self,
        xml: &str,
        timestamp: &str,
        nonce: &str,
        openid: Option<&str>,
        random: &[u8; 16],
    ) -> Built {
        let signature = || {
            (
                "signature",
                crypto::signature(&[&self.token, timestamp, nonce]),
            )
        };
        let Some(crypt) = &self.crypt else {
            let mut query = vec![
                signature(),
                ("timestamp", timestamp.to_owned()),
                ("nonce", nonce.to_owned()),
            ];
            query.extend(openid.map(|o| ("openid", o.to_owned())));
            return Built {
                method: "POST",
                query,
                body: xml.to_owned(),
            };
        };
        let encrypted = crypt.encrypt_with_random(xml, random);
        let mut body = String::from("<xml>");
        if self.mode == Mode::Compatible && !self.wecom {
            let inner = xml.trim();
            let inner = inner.strip_prefix("<xml>").unwrap_or(inner);
            body.push_str(inner.strip_suffix("</xml>").unwrap_or(inner));
        } else {
            let to_user_name = wechat_callback::message::Document::parse(xml)
                .ok()
                .and_then(|root| root.child_text("ToUserName").map(str::to_owned))
                .unwrap_or_default();
            push_cdata_element(&mut body, "ToUserName", &to_user_name);
        }
        push_cdata_element(&mut body, "Encrypt", &encrypted);
        if let Some(agent_id) = &self.agent_id {
            push_cdata_element(&mut body, "AgentID", agent_id);
        }
        body.push_str("</xml>");
        let msg_signature = crypto::signature(&[&self.token, timestamp, nonce, &encrypted]);
        let mut query = Vec::with_capacity(7);
        if !self.wecom {
            query.push(signature());
        }
        query.push(("timestamp", timestamp.to_owned()));
        query.push(("nonce", nonce.to_owned()));
        if !self.wecom {
            query.extend(openid.map(|o| ("openid", o.to_owned())));
            query.push(("encrypt_type", "aes".to_owned()));
        }
        query.push(("msg_signature", msg_signature));
        Built {
            method: "POST",
            query,
            body,
        }
    }
}

/// A fresh `timestamp` (now, Unix seconds) and `nonce` (ten random digits), as WeChat sends.
pub fn fresh_timestamp_and_nonce() -> (String, String) {
    let nonce = rand::random::<u32>() % 1_000_000_000 + 1_000_000_000;
    (now().to_string(), nonce.to_string())
}

/// The system clock, Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechat_callback::{Config, EncodingAesKey, Engine, Received, Router, Token};

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const XML: &str = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>\
        <FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime>\
        <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>\
        <MsgId>7</MsgId></xml>";

    fn engine(config: Config) -> Engine {
        Engine::new(config, Router::new())
            .unwrap()
            .with_clock(|| 100)
    }

    fn received_content(engine: &Engine, built: &Built) -> String {
        let handled = engine.process(&built.http_request("/cb").unwrap()).unwrap();
        let Received::Message(request) = handled.received else {
            panic!("not a message")
        };
        request.fields().child_text("Content").unwrap().to_owned()
    }

    #[test]
    fn every_mode_is_accepted_by_the_engine() {
        let token = || Token::new("tok").unwrap();
        let key = || EncodingAesKey::new(KEY).unwrap();
        let mp = |mode| {
            engine(
                Config::official_account(token(), "wxapp")
                    .with_encoding_aes_key(key())
                    .with_mode(mode),
            )
        };
        for mode in [Mode::Safe, Mode::Compatible] {
            let sender = Sender::official_account("tok", KEY, "wxapp", mode).unwrap();
            let built = sender.message(XML, "100", "5", Some("o1"), &[9; 16]);
            assert_eq!(built.query_value("encrypt_type"), Some("aes"));
            assert_eq!(built.body.contains("<Content>"), mode == Mode::Compatible);
            assert_eq!(received_content(&mp(mode), &built), "hi");
        }
        let plain = Sender::plain("tok").message(XML, "100", "5", None, &[0; 16]);
        assert_eq!(plain.body, XML);
        assert_eq!(received_content(&mp(Mode::Compatible), &plain), "hi");

        let wecom = Sender::wecom("tok", KEY, "ww1", Some("1000002".into())).unwrap();
        let built = wecom.message(XML, "100", "5", Some("ignored"), &[1; 16]);
        assert_eq!(built.query_value("signature"), None);
        assert_eq!(built.query_value("openid"), None);
        assert!(
            built
                .body
                .contains("<AgentID><![CDATA[1000002]]></AgentID>")
        );
        let wecom_engine = engine(Config::wecom(token(), key(), "ww1"));
        assert_eq!(received_content(&wecom_engine, &built), "hi");
        let echo = wecom.echostr("12345", "100", "5", &[2; 16]);
        assert_ne!(echo.query_value("echostr"), Some("12345"));
        let handled = wecom_engine
            .process(&echo.http_request("/cb").unwrap())
            .unwrap();
        assert_eq!(handled.response.body().as_ref(), b"12345");
    }

    #[test]
    fn a_wrong_token_is_refused() {
        let engine = engine(Config::official_account(
            Token::new("tok").unwrap(),
            "wxapp",
        ));
        let built = Sender::plain("other").message(XML, "100", "5", None, &[0; 16]);
        let error = engine
            .process(&built.http_request("/cb").unwrap())
            .unwrap_err();
        assert_eq!(crate::fixture::class(error.kind()), "signature");
        assert!(!format!("{:?}", Sender::plain("secret-token")).contains("secret"));
    }
}
