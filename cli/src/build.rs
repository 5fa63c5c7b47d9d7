//! Builds callback requests the way WeChat's servers send them, for every platform: query
//! parameters, signatures and (for safe / compatible mode, WeCom, the open platform and WeCom
//! suites) the encrypted envelope, in XML or, for a JSON mini-program, JSON.
//!
//! Formats follow the official "消息加解密说明" (official accounts) and "回调配置" (WeCom):
//! `signature` = sha1(sorted token, timestamp, nonce); `msg_signature` = sha1(sorted token,
//! timestamp, nonce, Encrypt); official accounts add `openid` and `encrypt_type=aes`.

use bytes::Bytes;
use wechat_callback::crypto;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::message::Document;
use wechat_callback::reply::push_cdata_element;
use wechat_callback::{BodyFormat, Config, EncodingAesKey, Mode, Platform, ReceiveId};

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

/// The sending side of one account: what WeChat's servers hold to sign and encrypt callbacks,
/// for every platform (`mp`, `miniprogram` in XML or JSON, `wecom`, `open_platform`,
/// `wecom_suite`). `Debug` hides the token.
#[derive(Clone)]
pub struct Sender {
    token: String,
    platform: Platform,
    format: BodyFormat,
    mode: Mode,
    /// Encrypts messages (and opens replies): `None` in plaintext mode.
    crypt: Option<MsgCrypt>,
    /// Encrypts WeCom's URL-verification `echostr`: `None` where `echostr` is sent plain.
    echo_crypt: Option<MsgCrypt>,
    key: Option<EncodingAesKey>,
    agent_id: Option<String>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("token", &"***")
            .field("platform", &self.platform)
            .field("format", &self.format)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// An official account in plaintext mode: `signature` only, the message as is.
    pub fn plain(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            platform: Platform::OfficialAccount,
            format: BodyFormat::Xml,
            mode: Mode::Plain,
            crypt: None,
            echo_crypt: None,
            key: None,
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
            key: Some(key),
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
        let crypt = MsgCrypt::new(&key, ReceiveId::CorpId(corpid.into()));
        Ok(Self {
            platform: Platform::WeCom,
            mode: Mode::Safe,
            echo_crypt: Some(crypt.clone()),
            crypt: Some(crypt),
            key: Some(key),
            agent_id,
            ..Self::plain(token)
        })
    }

    /// WeChat's side of the account `config` describes (an engine's [`Config`], or one entry
    /// of the accounts file), sending to its URL or, with `on_behalf_of`, to
    /// `{URL}/{on_behalf_of}`:
    /// - `mp`, `miniprogram`: encrypted for the appid unless the mode is plain; a JSON
    ///   mini-program sends JSON bodies and envelopes.
    /// - `wecom`: everything encrypted for the corpid.
    /// - `open_platform`: always encrypted for the component appid, also an authorizer's
    ///   messages (`on_behalf_of` is then the authorizer's appid, which changes only the URL).
    /// - `wecom_suite`: command callbacks encrypted for the suite id, data callbacks for the
    ///   authorizing corp (`on_behalf_of`, its corpid), URL verification for the provider's
    ///   corpid (`provider_corpid`, else the suite id).
    ///
    /// # Errors
    /// When the platform needs an EncodingAESKey and `config` has none.
    pub fn for_config(config: &Config, on_behalf_of: Option<&str>) -> Result<Self, String> {
        let token = config.token().expose_secret().to_owned();
        let receive_id = config.receive_id().as_str();
        let platform = config.platform();
        let needs_key = || {
            config.encoding_aes_key().ok_or_else(|| {
                format!(
                    "an EncodingAESKey is needed ({} account, {:?} mode)",
                    platform.name(),
                    config.mode()
                )
            })
        };
        let (crypt, echo_crypt) = match platform {
            Platform::WeCom => {
                let crypt = MsgCrypt::new(needs_key()?, ReceiveId::CorpId(receive_id.into()));
                (Some(crypt.clone()), Some(crypt))
            }
            Platform::WeComSuite => {
                let key = needs_key()?;
                let corp = on_behalf_of.unwrap_or(receive_id);
                let provider = config.provider_corpid().unwrap_or(receive_id);
                (
                    Some(MsgCrypt::new(key, ReceiveId::CorpId(corp.into()))),
                    Some(MsgCrypt::new(key, ReceiveId::CorpId(provider.into()))),
                )
            }
            Platform::OpenPlatform => (
                Some(MsgCrypt::new(
                    needs_key()?,
                    ReceiveId::AppId(receive_id.into()),
                )),
                None,
            ),
            _ if config.mode() == Mode::Plain => (None, None),
            _ => (
                Some(MsgCrypt::new(
                    needs_key()?,
                    ReceiveId::AppId(receive_id.into()),
                )),
                None,
            ),
        };
        Ok(Self {
            token,
            platform,
            format: config.format(),
            mode: match (&crypt, platform) {
                (None, _) => Mode::Plain,
                (Some(_), Platform::OfficialAccount | Platform::MiniProgram) => config.mode(),
                (Some(_), _) => Mode::Safe,
            },
            crypt,
            echo_crypt,
            key: config.encoding_aes_key().cloned(),
            agent_id: config.agent_id().map(str::to_owned),
        })
    }

    /// The same sender encrypting messages for another receive id (an appid, or a corpid on
    /// WeCom), to record a wrong-receive-id case.
    ///
    /// # Errors
    /// When this sender has no EncodingAESKey.
    pub fn encrypting_for(mut self, receive_id: &str) -> Result<Self, String> {
        let key = self
            .key
            .as_ref()
            .ok_or("encrypting for another receive id needs an EncodingAESKey")?;
        let receive_id = if self.is_wecom() {
            ReceiveId::CorpId(receive_id.into())
        } else {
            ReceiveId::AppId(receive_id.into())
        };
        self.crypt = Some(MsgCrypt::new(key, receive_id));
        Ok(self)
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The codec messages are encrypted with and replies opened with, when this sender
    /// encrypts.
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
        self.mode != Mode::Safe
    }

    /// Whether this is WeCom (a self-built application or a suite): `msg_signature` only, the
    /// `echostr` encrypted.
    pub fn is_wecom(&self) -> bool {
        matches!(self.platform, Platform::WeCom | Platform::WeComSuite)
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The data format of bodies and replies (JSON only for a JSON mini-program).
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// URL verification: a GET with `echostr` (encrypted with `random` for WeCom, which then
    /// expects the plaintext echoed back).
    pub fn echostr(&self, echostr: &str, timestamp: &str, nonce: &str, random: &[u8; 16]) -> Built {
        let mut query = Vec::with_capacity(4);
        if let Some(crypt) = &self.echo_crypt {
            let encrypted = crypt.encrypt_with_random(echostr, random);
            let msg_signature = crypto::signature(&[&self.token, timestamp, nonce, &encrypted]);
            query.push(("msg_signature", msg_signature));
            query.push(("timestamp", timestamp.to_owned()));
            query.push(("nonce", nonce.to_owned()));
            query.push(("echostr", encrypted));
        } else {
            query.push((
                "signature",
                crypto::signature(&[&self.token, timestamp, nonce]),
            ));
            query.push(("echostr", echostr.to_owned()));
            query.push(("timestamp", timestamp.to_owned()));
            query.push(("nonce", nonce.to_owned()));
        }
        Built {
            method: "GET",
            query,
            body: String::new(),
        }
    }

    /// A message, event or InfoType push: a POST of `message` (the plaintext body: XML, or
    /// JSON for a JSON mini-program), encrypted with `random` when this sender encrypts.
    ///
    /// The envelope is the platform's: `ToUserName` + `Encrypt` (safe mode, a JSON object for
    /// a JSON mini-program); the plaintext fields beside `Encrypt` (compatible mode);
    /// `AppId` + `Encrypt` for an open platform's authorization event (a body without
    /// `ToUserName`); `ToUserName` + `Encrypt` + `AgentID` for WeCom, where a suite's command
    /// callback (no `ToUserName`) is addressed to its `SuiteId`.
    ///
    /// # Errors
    /// In compatible mode, when a JSON mini-program's `message` is not one JSON object (its
    /// fields are copied beside `Encrypt`).
    pub fn message(
        &self,
        message: &str,
        timestamp: &str,
        nonce: &str,
        openid: Option<&str>,
        random: &[u8; 16],
    ) -> Result<Built, String> {
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
            return Ok(Built {
                method: "POST",
                query,
                body: message.to_owned(),
            });
        };
        let encrypted = crypt.encrypt_with_random(message, random);
        // Malformed messages are sent as they are (to record bad cases); they just have no
        // addressing to copy into the envelope.
        let doc = match self.format {
            BodyFormat::Json => Document::parse_json(message).ok(),
            BodyFormat::Xml => Document::parse(message).ok(),
        };
        let to_user_name = doc.as_ref().and_then(|doc| doc.child_text("ToUserName"));
        let body = match self.format {
            BodyFormat::Json => json_envelope(message, to_user_name, &encrypted, self.mode)?,
            BodyFormat::Xml => {
                let mut body = String::from("<xml>");
                match (self.mode, self.platform, to_user_name) {
                    (Mode::Compatible, _, _) => {
                        let inner = message.trim();
                        let inner = inner.strip_prefix("<xml>").unwrap_or(inner);
                        body.push_str(inner.strip_suffix("</xml>").unwrap_or(inner));
                    }
                    (_, Platform::OpenPlatform, None) => {
                        push_cdata_element(&mut body, "AppId", crypt.receive_id().as_str());
                    }
                    (_, Platform::WeComSuite, None) => {
                        let suite = doc
                            .as_ref()
                            .and_then(|doc| doc.child_text("SuiteId"))
                            .unwrap_or(crypt.receive_id().as_str());
                        push_cdata_element(&mut body, "ToUserName", suite);
                    }
                    (_, _, to) => push_cdata_element(&mut body, "ToUserName", to.unwrap_or("")),
                }
                push_cdata_element(&mut body, "Encrypt", &encrypted);
                match (&self.agent_id, self.platform) {
                    (Some(agent_id), _) => push_cdata_element(&mut body, "AgentID", agent_id),
                    (None, Platform::WeComSuite) => body.push_str("<AgentID></AgentID>"),
                    (None, _) => {}
                }
                body.push_str("</xml>");
                body
            }
        };
        let msg_signature = crypto::signature(&[&self.token, timestamp, nonce, &encrypted]);
        let mut query = Vec::with_capacity(7);
        if !self.is_wecom() {
            query.push(signature());
        }
        query.push(("timestamp", timestamp.to_owned()));
        query.push(("nonce", nonce.to_owned()));
        if !self.is_wecom() {
            query.extend(openid.map(|o| ("openid", o.to_owned())));
            query.push(("encrypt_type", "aes".to_owned()));
        }
        query.push(("msg_signature", msg_signature));
        Ok(Built {
            method: "POST",
            query,
            body,
        })
    }
}

/// A JSON mini-program's encrypted body: `{"ToUserName","Encrypt"}` in safe mode (the official
/// page's order), the message's own fields with `Encrypt` added in compatible mode.
fn json_envelope(
    message: &str,
    to_user_name: Option<&str>,
    encrypted: &str,
    mode: Mode,
) -> Result<String, String> {
    if mode == Mode::Compatible {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(message).map_err(|e| format!("the message: {e}"))?;
        object.insert("Encrypt".into(), encrypted.into());
        return serde_json::to_string(&object).map_err(|e| e.to_string());
    }
    let string = |s: &str| serde_json::to_string(s).unwrap_or_default();
    Ok(format!(
        "{{\"ToUserName\":{},\"Encrypt\":{}}}",
        string(to_user_name.unwrap_or("")),
        string(encrypted)
    ))
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
    use wechat_callback::{Callback, Config, EncodingAesKey, Engine, Received, Router, Token};

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
            let built = sender
                .message(XML, "100", "5", Some("o1"), &[9; 16])
                .unwrap();
            assert_eq!(built.query_value("encrypt_type"), Some("aes"));
            assert_eq!(built.body.contains("<Content>"), mode == Mode::Compatible);
            assert_eq!(received_content(&mp(mode), &built), "hi");
        }
        let plain = Sender::plain("tok")
            .message(XML, "100", "5", None, &[0; 16])
            .unwrap();
        assert_eq!(plain.body, XML);
        assert_eq!(received_content(&mp(Mode::Compatible), &plain), "hi");

        let wecom = Sender::wecom("tok", KEY, "ww1", Some("1000002".into())).unwrap();
        let built = wecom
            .message(XML, "100", "5", Some("ignored"), &[1; 16])
            .unwrap();
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

    fn processed(engine: &Engine, built: &Built, on_behalf_of: Option<&str>) -> Callback {
        let handled = engine
            .process_on_behalf_of(&built.http_request("/cb").unwrap(), on_behalf_of)
            .unwrap();
        let Received::Message(callback) = handled.received else {
            panic!("not a message")
        };
        Callback::clone(&callback)
    }

    #[test]
    fn a_json_mini_program_gets_json_bodies_in_every_mode() {
        let json = r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"hi","MsgId":18446744073709551615}"#;
        for mode in [Mode::Plain, Mode::Compatible, Mode::Safe] {
            let config = Config::mini_program(Token::new("tok").unwrap(), "wxmini")
                .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
                .with_format(BodyFormat::Json)
                .with_mode(mode);
            let sender = Sender::for_config(&config, None).unwrap();
            let built = sender
                .message(json, "100", "5", Some("o1"), &[4; 16])
                .unwrap();
            assert!(built.body.starts_with('{'), "{mode:?}: {}", built.body);
            assert_eq!(built.body.contains("\"Encrypt\""), mode != Mode::Plain);
            assert_eq!(built.body.contains("\"Content\""), mode != Mode::Safe);
            if mode == Mode::Safe {
                assert!(built.body.starts_with(r#"{"ToUserName":"gh_1","Encrypt":"#));
            }
            let callback = processed(&engine(config), &built, None);
            assert_eq!(callback.format(), BodyFormat::Json);
            assert_eq!(callback.fields().child_text("Content"), Some("hi"));
            assert_eq!(
                callback.fields().child_text("MsgId"),
                Some("18446744073709551615")
            );
        }
    }

    #[test]
    fn an_open_platform_sends_authorization_events_and_authorizer_messages() {
        let config = Config::open_platform(
            Token::new("tok").unwrap(),
            EncodingAesKey::new(KEY).unwrap(),
            "wxcomponent",
        );
        let sender = Sender::for_config(&config, None).unwrap();
        let ticket = "<xml><AppId><![CDATA[wxcomponent]]></AppId><CreateTime>1</CreateTime>\
            <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
            <ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>";
        let built = sender.message(ticket, "100", "5", None, &[5; 16]).unwrap();
        assert!(
            built
                .body
                .starts_with("<xml><AppId><![CDATA[wxcomponent]]></AppId><Encrypt>")
        );
        assert_eq!(built.query_value("encrypt_type"), Some("aes"));
        let engine = engine(config.clone());
        let callback = processed(&engine, &built, None);
        assert!(callback.kind().is_info());
        // An authorizer's message: the component's crypto, the authorizer in the URL.
        let authorizer = Sender::for_config(&config, Some("wxauthorizer")).unwrap();
        let built = authorizer
            .message(XML, "100", "5", Some("o1"), &[6; 16])
            .unwrap();
        assert!(
            built
                .body
                .starts_with("<xml><ToUserName><![CDATA[gh_1]]></ToUserName>")
        );
        let callback = processed(&engine, &built, Some("wxauthorizer"));
        assert_eq!(callback.on_behalf_of(), Some("wxauthorizer"));
        assert_eq!(callback.fields().child_text("Content"), Some("hi"));
    }

    #[test]
    fn a_wecom_suite_sends_commands_data_callbacks_and_verification_for_their_ids() {
        let config = Config::wecom(
            Token::new("tok").unwrap(),
            EncodingAesKey::new(KEY).unwrap(),
            "wwsuite",
        )
        .for_wecom_suite()
        .with_provider_corpid("wwprovider");
        let engine = engine(config.clone());
        let suite = Sender::for_config(&config, None).unwrap();
        let command = "<xml><SuiteId><![CDATA[wwsuite]]></SuiteId>\
            <InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>1</TimeStamp>\
            <SuiteTicket><![CDATA[t]]></SuiteTicket></xml>";
        let built = suite.message(command, "100", "5", None, &[7; 16]).unwrap();
        assert!(
            built
                .body
                .starts_with("<xml><ToUserName><![CDATA[wwsuite]]></ToUserName>")
        );
        assert!(built.body.ends_with("<AgentID></AgentID></xml>"));
        assert_eq!(built.query_value("signature"), None);
        assert!(processed(&engine, &built, None).kind().is_info());
        // URL verification is encrypted for the provider's corpid.
        let echo = suite.echostr("777", "100", "5", &[8; 16]);
        let handled = engine.process(&echo.http_request("/cb").unwrap()).unwrap();
        assert_eq!(handled.response.body().as_ref(), b"777");
        // A corp's data callback: encrypted for that corp.
        let corp = Sender::for_config(&config, Some("wwcorp")).unwrap();
        let built = corp.message(XML, "100", "5", None, &[9; 16]).unwrap();
        let callback = processed(&engine, &built, Some("wwcorp"));
        assert_eq!(callback.fields().child_text("Content"), Some("hi"));
        let error = engine
            .process_on_behalf_of(&built.http_request("/cb").unwrap(), Some("wwother"))
            .unwrap_err();
        assert_eq!(crate::fixture::class(error.kind()), "appid");
        // Another receive id, on request.
        let wrong = suite.encrypting_for("wwnobody").unwrap();
        let built = wrong.message(command, "100", "5", None, &[1; 16]).unwrap();
        let error = engine
            .process(&built.http_request("/cb").unwrap())
            .unwrap_err();
        assert_eq!(crate::fixture::class(error.kind()), "appid");
    }

    #[test]
    fn a_wrong_token_is_refused() {
        let engine = engine(Config::official_account(
            Token::new("tok").unwrap(),
            "wxapp",
        ));
        let built = Sender::plain("other")
            .message(XML, "100", "5", None, &[0; 16])
            .unwrap();
        let error = engine
            .process(&built.http_request("/cb").unwrap())
            .unwrap_err();
        assert_eq!(crate::fixture::class(error.kind()), "signature");
        assert!(!format!("{:?}", Sender::plain("secret-token")).contains("secret"));
    }
}
