//! Recorded callback fixtures (`../shared/fixture-format.md`) and their replay.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{
    BodyFormat, Callback, Config, EncodingAesKey, Engine, Error, ErrorKind, Handled, Mode,
    Platform, Received, Router, Token, adapter,
};

use crate::wire::Client;
use wechat_callback::crypto;

/// One recorded request with its expected outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    /// Unique name, also the file name without `.json`.
    pub name: String,
    /// Where the case comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `GET` (URL verification) or `POST` (a message).
    pub method: String,
    /// The query parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub query: Map<String, Value>,
    /// The URL-encoded query as sent; wins over `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    /// The raw request body.
    #[serde(default)]
    pub body: String,
    /// The account the case was recorded for.
    pub config: FixtureConfig,
    /// The expected outcome (`outcome`, `error`, `kind`, `fields`, `reply`, …).
    pub expect: Map<String, Value>,
    /// Recorded fixtures only: what the live server answered (`status`, `response_body`) and
    /// when (`at`, Unix seconds), for reading; replay does not compare it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Value>,
}

/// The account a fixture was recorded for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureConfig {
    /// `mp` (official account), `miniprogram`, `wecom`, `open_platform` or `wecom_suite`.
    #[serde(default = "default_platform")]
    pub platform: String,
    /// `miniprogram` only: `xml` (the default) or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `open_platform` only: the authorizer whose message this is (the console's `$APPID$`,
    /// the last segment of the URL); absent = an authorization event (InfoType).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_appid: Option<String>,
    /// Recorded fixtures: the account's id in the accounts file. Such a fixture carries no
    /// token or EncodingAESKey; replay takes them from the file (`wxcb replay --config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The token (empty in a recorded fixture: see `account`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// The 43-character EncodingAESKey; absent for a plaintext-only account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_aes_key: Option<String>,
    /// The receive id: appid (mp, miniprogram), corpid (wecom), component appid
    /// (open_platform) or suite id (wecom_suite).
    pub appid: String,
    /// WeCom `AgentID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// `plain`, `compatible` or `safe`; default compatible with a key, else plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The clock for this case, Unix seconds.
    pub now: u64,
    /// The timestamp window in seconds; absent = no window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_tolerance_s: Option<u64>,
    /// The body cap in bytes; absent = the engine default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
}

fn default_platform() -> String {
    "mp".to_owned()
}

impl FixtureConfig {
    /// The fixture account for an engine's `config` (one entry of an accounts file, say), with
    /// the clock at `now` (Unix seconds), receiving on behalf of `on_behalf_of`. A WeCom
    /// suite's data callback (an authorizing corp's corpid) is written as the `wecom` account
    /// of that corp, which is what its crypto is: the fixture format has no field for it.
    pub fn from_config(config: &Config, now: u64, on_behalf_of: Option<&str>) -> Self {
        let mut platform = config.platform();
        let mut appid = config.receive_id().as_str().to_owned();
        let mut authorizer_appid = None;
        match (platform, on_behalf_of) {
            (Platform::OpenPlatform, Some(authorizer)) => {
                authorizer_appid = Some(authorizer.to_owned());
            }
            (Platform::WeComSuite, Some(corpid)) => {
                platform = Platform::WeCom;
                corpid.clone_into(&mut appid);
            }
            _ => {}
        }
        Self {
            platform: platform.name().to_owned(),
            format: (config.format() == BodyFormat::Json).then(|| "json".to_owned()),
            authorizer_appid,
            account: None,
            token: config.token().expose_secret().to_owned(),
            encoding_aes_key: config.encoding_aes_key().map(EncodingAesKey::expose_secret),
            appid,
            agent_id: config.agent_id().map(str::to_owned),
            mode: Some(
                match config.mode() {
                    Mode::Plain => "plain",
                    Mode::Compatible => "compatible",
                    Mode::Safe => "safe",
                }
                .to_owned(),
            ),
            now,
            timestamp_tolerance_s: config.timestamp_tolerance().map(|d| d.as_secs()),
            max_body_bytes: (config.max_body_bytes() != Config::DEFAULT_MAX_BODY_BYTES)
                .then(|| config.max_body_bytes()),
        }
    }

    /// This account without its secrets, named `account` instead (what a recording writes).
    #[must_use]
    pub fn without_secrets(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self.token.clear();
        self.encoding_aes_key = None;
        self
    }

    /// Fills the token and EncodingAESKey of a fixture that names its `account` (a recorded
    /// one) from that account of an accounts file; a fixture without `account` is left as it
    /// is.
    ///
    /// # Errors
    /// The file has no account of that id.
    pub fn take_secrets_from(
        &mut self,
        accounts: &[wechat_callback::accounts::Account],
    ) -> Result<(), String> {
        let Some(id) = &self.account else {
            return Ok(());
        };
        let account = accounts.iter().find(|a| a.id() == id).ok_or_else(|| {
            let ids: Vec<&str> = accounts.iter().map(|a| a.id()).collect();
            format!(
                "no account {id:?} in the accounts file (it has {})",
                ids.join(", ")
            )
        })?;
        let config = account.config();
        config.token().expose_secret().clone_into(&mut self.token);
        self.encoding_aes_key = config.encoding_aes_key().map(EncodingAesKey::expose_secret);
        Ok(())
    }

    /// The engine configuration this fixture describes.
    pub fn to_config(&self) -> Result<Config, String> {
        if self.token.is_empty()
            && let Some(account) = &self.account
        {
            return Err(format!(
                "recorded for account {account:?} without its token: replay with --config ACCOUNTS_FILE"
            ));
        }
        let token = Token::new(self.token.as_str()).map_err(|e| e.to_string())?;
        let key = self
            .encoding_aes_key
            .as_deref()
            .map(EncodingAesKey::new)
            .transpose()
            .map_err(|e| e.to_string())?;
        let mut config = match (self.platform.as_str(), key) {
            ("wecom", Some(key)) => Config::wecom(token, key, self.appid.as_str()),
            ("wecom", None) => return Err("a wecom fixture needs encoding_aes_key".into()),
            (platform @ ("mp" | "miniprogram"), key) => {
                let config = if platform == "mp" {
                    Config::official_account(token, self.appid.as_str())
                } else {
                    Config::mini_program(token, self.appid.as_str())
                };
                match key {
                    Some(key) => config.with_encoding_aes_key(key),
                    None => config,
                }
            }
            ("open_platform", Some(key)) => Config::open_platform(token, key, self.appid.as_str()),
            ("wecom_suite", Some(key)) => {
                Config::wecom(token, key, self.appid.as_str()).for_wecom_suite()
            }
            ("open_platform" | "wecom_suite", None) => {
                return Err(format!(
                    "a {} fixture needs encoding_aes_key",
                    self.platform
                ));
            }
            (other, _) => return Err(format!("unknown platform {other:?}")),
        };
        if let Some(agent_id) = &self.agent_id {
            config = config.with_agent_id(agent_id.as_str());
        }
        if let Some(format) = &self.format {
            let format: BodyFormat = format
                .parse()
                .map_err(|_| format!("unknown format {format:?}"))?;
            config = config.with_format(format);
        }
        if let Some(mode) = &self.mode {
            let mode: Mode = mode.parse().map_err(|_| format!("unknown mode {mode:?}"))?;
            config = config.with_mode(mode);
        }
        if let Some(tolerance) = self.timestamp_tolerance_s {
            config = config.with_timestamp_tolerance(std::time::Duration::from_secs(tolerance));
        }
        if let Some(max) = self.max_body_bytes {
            config = config.with_max_body_bytes(max);
        }
        Ok(config)
    }

    /// An engine for this account with the replay's echo handlers and the clock at `now`.
    pub fn engine(&self) -> Result<Engine, String> {
        let now = self.now;
        // A mini-program account answers `success` to everything (replies go through the
        // customer-service API).
        let router = if self.platform == "miniprogram" {
            Router::new()
        } else {
            echo_router()
        };
        Engine::new(self.to_config()?, router)
            .map(|engine| engine.with_clock(move || now))
            .map_err(|e| e.to_string())
    }
}

/// The replay's built-in handlers: a text message gets a text reply with the same `Content`;
/// every other kind gets the empty reply (`success`).
pub fn echo_router() -> Router {
    Router::new().on_text(|text: &Text| Reply::text(text.content.clone()))
}

impl Fixture {
    /// Reads one fixture file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The query string as sent: `query_string` when given, else `query` encoded.
    pub fn query_string(&self) -> String {
        if let Some(query_string) = &self.query_string {
            return query_string.clone();
        }
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.query {
            match value {
                Value::String(s) => out.append_pair(key, s),
                Value::Null => continue,
                other => out.append_pair(key, &other.to_string()),
            };
        }
        out.finish()
    }

    /// The HTTP request this fixture records, for the path `path`.
    pub fn http_request(&self, path: &str) -> Result<http::Request<Bytes>, String> {
        let query = self.query_string();
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        http::Request::builder()
            .method(self.method.as_str())
            .uri(uri)
            .body(Bytes::from(self.body.clone()))
            .map_err(|e| format!("cannot build the request: {e}"))
    }
}

/// Collects `*.json` files under the given paths (recursively), skipping names that start
/// with `_`, sorted by path.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let skipped = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('_'));
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
                let child = entry.path();
                let child_skipped = child
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('_'));
                if !child_skipped {
                    walk(&child, out)?;
                }
            }
        } else if path.extension().is_some_and(|e| e == "json") && !skipped {
            out.push(path.to_owned());
        } else if !path.exists() {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        walk(path, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// The error class of the fixture format (`fixture-format.md`, `expect.error`) for an error
/// kind: `signature`, `timestamp`, `decrypt`, `appid`, `xml`, `too_large`, `bad_request`,
/// `replay`, or `config` / `reply` for the kinds a request cannot cause.
pub fn class(kind: ErrorKind) -> &'static str {
    kind.class()
}

/// An element tree as JSON: text → string, children → object, repeated names → array.
pub fn fields_json(element: wechat_callback::message::Element<'_>) -> Value {
    if !element.has_children() {
        return Value::String(element.text().to_owned());
    }
    let mut map = Map::new();
    for child in element.children() {
        let value = fields_json(child);
        // An element's own value is a string or an object, never an array: an array here can
        // only be the one made for an earlier repeat of this name.
        match map.get_mut(child.name()) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(child.name().to_owned(), value);
            }
        }
    }
    Value::Object(map)
}

/// A JSON body (a mini-program push in JSON) as the fixture format's field tree: objects
/// and arrays as sent, every scalar a string (a number or boolean its literal JSON text, so a
/// `MsgId` above 2^53 survives; `null` the empty string).
pub fn json_fields(json: &str) -> Value {
    use std::collections::BTreeMap;

    use serde_json::value::RawValue;
    fn convert(raw: &RawValue) -> Value {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'{') => serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(text).map_or(
                Value::Null,
                |members| {
                    Value::Object(
                        members
                            .iter()
                            .map(|(k, v)| (k.clone(), convert(v)))
                            .collect(),
                    )
                },
            ),
            Some(b'[') => serde_json::from_str::<Vec<Box<RawValue>>>(text)
                .map_or(Value::Null, |items| {
                    Value::Array(items.iter().map(|item| convert(item)).collect())
                }),
            Some(b'"') => serde_json::from_str::<String>(text).map_or(Value::Null, Value::String),
            Some(b'n') => Value::String(String::new()),
            _ => Value::String(text.to_owned()),
        }
    }
    serde_json::from_str::<Box<RawValue>>(json).map_or(Value::Null, |raw| convert(&raw))
}

/// A received callback as the fixture format describes it (`expect.kind`, `msg_type`,
/// `event`, `fields`): what `wxcb serve` forwards and recordings keep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Described {
    /// `message`, `event` or `info` (an `InfoType` push).
    pub kind: &'static str,
    /// `MsgType` as sent; `None` for `info`.
    pub msg_type: Option<String>,
    /// `Event` lower-cased, or for `info` the `InfoType` lower-cased; `None` for messages.
    pub event: Option<String>,
    /// The (decrypted) message as a JSON tree ([`fields_json`], [`json_fields`]).
    pub fields: Value,
}

impl Described {
    /// Describes `callback`.
    pub fn new(callback: &wechat_callback::Callback) -> Self {
        let head = callback.head();
        // InfoType pushes: kind `info`, the InfoType in `event`, no msg_type.
        let (kind, msg_type, event) = if callback.kind().is_info() {
            (
                "info",
                None,
                head.info_type.as_ref().map(|i| i.to_lowercase()),
            )
        } else if callback.kind().is_event() {
            (
                "event",
                Some(head.msg_type.to_string()),
                head.event.as_ref().map(|e| e.to_lowercase()),
            )
        } else {
            ("message", Some(head.msg_type.to_string()), None)
        };
        let fields = match callback.format() {
            BodyFormat::Json => json_fields(callback.fields().source()),
            BodyFormat::Xml => fields_json(callback.fields().root()),
        };
        Self {
            kind,
            msg_type,
            event,
            fields,
        }
    }
}

/// What one run of a fixture produced, in the shape of the `--json` line.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The fixture name.
    pub name: String,
    /// Whether every expectation held.
    pub pass: bool,
    /// `ok` or `error`.
    pub outcome: &'static str,
    /// The error class (in-process only; over HTTP the status stands for it).
    pub error: Option<&'static str>,
    /// The official error code, where one applies (in-process only).
    pub code: Option<i32>,
    /// The HTTP status answered.
    pub status: u16,
    /// `message`, `event` or `echostr` (in-process only).
    pub kind: Option<&'static str>,
    /// `MsgType` as sent (in-process only).
    pub msg_type: Option<String>,
    /// `Event`, lower-cased (in-process only).
    pub event: Option<String>,
    /// The message as a JSON tree (in-process only).
    pub fields: Option<Value>,
    /// The exact body answered, as text.
    pub response_body: String,
    /// What differed from `expect`.
    #[serde(skip)]
    pub problems: Vec<String>,
    /// Whether the outcome was seen over HTTP (status and body only).
    #[serde(skip)]
    pub over_http: bool,
}

impl Outcome {
    /// Describes an engine result (in-process) or an HTTP answer (over the wire).
    pub fn new(name: &str, result: &Result<Handled, Error>) -> Self {
        match result {
            Ok(handled) => {
                let body = String::from_utf8_lossy(handled.response.body()).into_owned();
                let status = handled.response.status().as_u16();
                match &handled.received {
                    Received::Echostr(_) => Self::base(name, "ok", None, None, status, body)
                        .with_kind("echostr", None, None, None),
                    Received::Message(callback) => {
                        let Described {
                            kind,
                            msg_type,
                            event,
                            fields,
                        } = Described::new(callback);
                        Self::base(name, "ok", None, None, status, body).with_kind(
                            kind,
                            msg_type,
                            event,
                            Some(fields),
                        )
                    }
                    _ => Self::base(name, "ok", None, None, status, body),
                }
            }
            Err(error) => Self::base(
                name,
                "error",
                Some(class(error.kind())),
                error.code(),
                error.status().as_u16(),
                error.body_text().to_owned(),
            ),
        }
    }

    /// A fixture file that could not be read or parsed: failed, with `problem` as the reason.
    pub fn unreadable(name: &str, problem: String) -> Self {
        let mut outcome = Self::base(name, "error", None, None, 0, String::new());
        outcome.problems.push(problem);
        outcome
    }

    fn base(
        name: &str,
        outcome: &'static str,
        error: Option<&'static str>,
        code: Option<i32>,
        status: u16,
        response_body: String,
    ) -> Self {
        Self {
            name: name.to_owned(),
            pass: false,
            outcome,
            error,
            code,
            status,
            kind: None,
            msg_type: None,
            event: None,
            fields: None,
            response_body,
            problems: Vec::new(),
            over_http: false,
        }
    }

    /// Describes an answer seen over HTTP: `ok` for 200, else `error` with the status (the
    /// class is not on the wire).
    pub fn from_http(name: &str, response: &http::Response<Bytes>) -> Self {
        let status = response.status();
        let body = String::from_utf8_lossy(response.body()).into_owned();
        let outcome = if status == http::StatusCode::OK {
            "ok"
        } else {
            "error"
        };
        let mut outcome = Self::base(name, outcome, None, None, status.as_u16(), body);
        outcome.over_http = true;
        outcome
    }

    fn with_kind(
        mut self,
        kind: &'static str,
        msg_type: Option<String>,
        event: Option<String>,
        fields: Option<Value>,
    ) -> Self {
        self.kind = Some(kind);
        self.msg_type = msg_type;
        self.event = event;
        self.fields = fields;
        self
    }
}

fn expect_str<'a>(expect: &'a Map<String, Value>, key: &str) -> Option<Option<&'a str>> {
    expect.get(key).map(Value::as_str)
}

/// Compares an outcome with the fixture's `expect`; fills `problems` and `pass`.
pub fn check(fixture: &Fixture, outcome: &mut Outcome, engine: &Engine) {
    let expect = &fixture.expect;
    let mut problems = Vec::new();
    let mut differ = |what: &str, want: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
        problems.push(format!("{what}: expected {want:?}, got {got:?}"));
    };
    let want_outcome = expect_str(expect, "outcome").flatten().unwrap_or("ok");
    if want_outcome != outcome.outcome {
        differ("outcome", &want_outcome, &outcome.outcome);
    }
    if want_outcome == "error" {
        if let Some(want) = expect_str(expect, "error").flatten() {
            if !outcome.over_http && Some(want) != outcome.error {
                differ("error", &want, &outcome.error);
            }
            // Over HTTP only the status tells the class.
            let statuses: Vec<u16> = ErrorKind::ALL
                .iter()
                .filter(|kind| class(**kind) == want)
                .map(|kind| kind.status().as_u16())
                .collect();
            if outcome.over_http && !statuses.contains(&outcome.status) {
                differ(&format!("status for {want}"), &statuses, &outcome.status);
            }
        }
    } else if outcome.outcome == "ok" {
        // Over HTTP the parsed request is not visible: only the body answered is compared.
        let parsed = !outcome.over_http;
        if let Some(want) = expect_str(expect, "kind").flatten()
            && parsed
            && Some(want) != outcome.kind
        {
            differ("kind", &want, &outcome.kind);
        }
        if let Some(want) = expect_str(expect, "msg_type")
            && parsed
            && want
                != outcome
                    .msg_type
                    .as_deref()
                    .filter(|_| outcome.kind != Some("echostr"))
        {
            differ("msg_type", &want, &outcome.msg_type);
        }
        if let Some(want) = expect_str(expect, "event")
            && parsed
            && want.map(str::to_lowercase).as_deref() != outcome.event.as_deref()
        {
            differ("event", &want, &outcome.event);
        }
        if let Some(Value::Object(want)) = expect.get("fields")
            && parsed
        {
            let got = outcome.fields.as_ref().and_then(Value::as_object);
            for (key, value) in want {
                let found = got.and_then(|g| g.get(key));
                if found != Some(value) {
                    differ(&format!("fields.{key}"), value, &found);
                }
            }
        }
        if let Some(want) = expect_str(expect, "response_body").flatten()
            && want != outcome.response_body
        {
            differ("response_body", &want, &outcome.response_body);
        }
        if let Some(Value::Object(want)) = expect.get("reply")
            && let Err(problem) = check_reply(want, &outcome.response_body, engine, &fixture.config)
        {
            problems.push(problem);
        }
    }
    outcome.pass = problems.is_empty();
    outcome.problems = problems;
}

/// Checks a non-empty reply against `expect.reply`: encrypted or not (an encrypted one must
/// carry a valid `MsgSignature` and decrypt for the configured receive id), and its
/// `ToUserName` / `FromUserName`. The empty reply (`success`) carries nothing to check.
fn check_reply(
    want: &Map<String, Value>,
    body: &str,
    engine: &Engine,
    config: &FixtureConfig,
) -> Result<(), String> {
    if body == "success" || body.is_empty() {
        return Ok(());
    }
    let json = body.trim_start().starts_with('{');
    if let Some(want) = want.get("format").and_then(Value::as_str) {
        let got = if json { "json" } else { "xml" };
        if want != got {
            return Err(format!("reply.format: expected {want:?}, got {got:?}"));
        }
    }
    let envelope = if json {
        EncryptedReply::from_json(body).ok()
    } else {
        EncryptedReply::from_xml(body).ok()
    };
    let want_encrypted = want.get("encrypted").and_then(Value::as_bool);
    if let Some(encrypted) = want_encrypted
        && encrypted != envelope.is_some()
    {
        return Err(format!(
            "reply.encrypted: expected {encrypted}, got {}",
            envelope.is_some()
        ));
    }
    let inner = match envelope {
        Some(envelope) => {
            let crypt = adapter::crypt(engine).ok_or("encrypted reply but no key configured")?;
            envelope
                .open(
                    crypt,
                    &Token::new(config.token.as_str()).map_err(|e| e.to_string())?,
                )
                .map_err(|e| format!("reply does not open: {e}"))?
        }
        None => body.to_owned(),
    };
    let reply = if inner.trim_start().starts_with('{') {
        Callback::from_json(&inner)
    } else {
        Callback::from_xml(&inner)
    }
    .map_err(|e| format!("the reply does not parse: {e}"))?;
    for (key, field) in [
        ("to", &reply.head().to_user_name),
        ("from", &reply.head().from_user_name),
    ] {
        if let Some(want) = want.get(key).and_then(Value::as_str)
            && want != &**field
        {
            return Err(format!("reply.{key}: expected {want:?}, got {field:?}"));
        }
    }
    Ok(())
}

/// Runs one fixture in-process and checks it.
pub fn run_fixture(fixture: &Fixture) -> Outcome {
    let engine = match fixture.config.engine() {
        Ok(engine) => engine,
        Err(problem) => return failed(fixture, format!("bad config: {problem}")),
    };
    let request = match fixture.http_request("/wechat") {
        Ok(request) => request,
        Err(problem) => return failed(fixture, problem),
    };
    let result = engine.process_on_behalf_of(&request, fixture.config.authorizer_appid.as_deref());
    let mut outcome = Outcome::new(&fixture.name, &result);
    check(fixture, &mut outcome, &engine);
    outcome
}

/// An outcome for a fixture that could not be run at all.
pub fn failed(fixture: &Fixture, problem: String) -> Outcome {
    let mut outcome = Outcome::base(&fixture.name, "error", None, None, 0, String::new());
    outcome.problems.push(problem);
    outcome
}

/// Runs one fixture against a live endpoint at `url` (`http://host:port/path`) and checks
/// what HTTP shows: the status for the expected outcome or error class, the echoed body, and
/// the reply (verified and decrypted with the fixture's account). The parsed fields are not
/// on the wire and are not compared. With `resign`, the request gets a fresh timestamp and
/// nonce and is signed again (see [`Fixture::resign`]), for endpoints with a live clock.
pub fn run_over_http(fixture: &Fixture, url: &str, client: &Client, resign: bool) -> Outcome {
    let engine = match fixture.config.engine() {
        Ok(engine) => engine,
        Err(problem) => return failed(fixture, format!("bad config: {problem}")),
    };
    let mut fixture = fixture.clone();
    if resign {
        fixture.resign(&crate::build::now().to_string(), &fresh_nonce());
    }
    // An authorizer's message goes to `{url}/{authorizer_appid}`, as WeChat fills `$APPID$`.
    let url = match &fixture.config.authorizer_appid {
        Some(authorizer) => format!("{}/{authorizer}", url.trim_end_matches('/')),
        None => url.to_owned(),
    };
    let response = match fixture
        .http_request(&url)
        .and_then(|request| client.send(request))
    {
        Ok(response) => response,
        Err(problem) => return failed(&fixture, problem),
    };
    let mut outcome = Outcome::from_http(&fixture.name, &response);
    check(&fixture, &mut outcome, &engine);
    outcome
}

fn fresh_nonce() -> String {
    crate::build::fresh_timestamp_and_nonce().1
}

impl Fixture {
    /// Replaces `timestamp` and `nonce` and recomputes `signature` and `msg_signature` (over
    /// the body's `Encrypt`, or the GET's `echostr`) with the fixture's token. Cases that
    /// expect a `signature` or `timestamp` error are left as recorded: their fault is the point.
    pub fn resign(&mut self, timestamp: &str, nonce: &str) {
        let expected_error = self.expect.get("error").and_then(Value::as_str);
        if matches!(expected_error, Some("signature" | "timestamp")) {
            return;
        }
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(self.query_string().as_bytes())
                .into_owned()
                .collect();
        let get = |pairs: &[(String, String)], key: &str| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        let encrypt = if self.method == "GET" {
            get(&pairs, "echostr")
        } else {
            crate::simulate::parse_body(&self.body)
                .ok()
                .and_then(|root| root.child_text("Encrypt").map(str::to_owned))
        };
        let token = self.config.token.as_str();
        for (key, value) in &mut pairs {
            match key.as_str() {
                "timestamp" => *value = timestamp.to_owned(),
                "nonce" => *value = nonce.to_owned(),
                "signature" => *value = crypto::signature(&[token, timestamp, nonce]),
                "msg_signature" => {
                    *value = crypto::signature(&[
                        token,
                        timestamp,
                        nonce,
                        encrypt.as_deref().unwrap_or(""),
                    ]);
                }
                _ => {}
            }
        }
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &pairs {
            serializer.append_pair(key, value);
        }
        self.query_string = Some(serializer.finish());
    }
}
