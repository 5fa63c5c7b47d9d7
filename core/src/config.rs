//! Account configuration: token, EncodingAESKey, receive id (appid / corpid), mode, limits.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

use crate::error::{Error, ErrorKind};

/// The callback token configured in the WeChat / WeCom console (公众平台 “令牌(Token)”).
///
/// `Debug` prints `***`: the token never appears in logs.
#[derive(Clone)]
pub struct Token(Box<str>);

impl Token {
    /// Wraps a token. Any non-empty string is accepted (the console allows 3–32 ASCII
    /// letters and digits).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the token is empty.
    pub fn new(token: impl Into<Box<str>>) -> Result<Self, Error> {
        let token = token.into();
        if token.is_empty() {
            return Err(Error::with_detail(ErrorKind::Config, "empty token"));
        }
        Ok(Self(token))
    }

    /// The token's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The token's text, for tools that sign requests as WeChat does (`wxcb`). The name is a
    /// warning: whatever holds the text must keep it out of logs, errors and `Debug`.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The 43-character EncodingAESKey (消息加解密密钥); the AES-256 key is
/// `base64_decode(EncodingAESKey + "=")`, 32 bytes, and the CBC IV is its first 16 bytes.
///
/// `Debug` prints `***`: the key never appears in logs.
#[derive(Clone)]
pub struct EncodingAesKey {
    key: [u8; 32],
}

impl EncodingAesKey {
    /// Decodes an EncodingAESKey as shown in the console.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidAesKey`] (-40004) unless it is 43 characters of standard base64
    /// that decode to 32 bytes.
    pub fn new(encoding_aes_key: &str) -> Result<Self, Error> {
        if encoding_aes_key.len() != 43 {
            return Err(Error::with_detail(
                ErrorKind::InvalidAesKey,
                "EncodingAESKey must be 43 characters",
            ));
        }
        let mut padded = [0u8; 44];
        padded[..43].copy_from_slice(encoding_aes_key.as_bytes());
        padded[43] = b'=';
        // The 43rd character carries 2 bits of the key and 4 unused bits; the console's keys
        // do not always leave those zero, so decode without insisting on canonical trailing bits.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let mut key = [0u8; 32];
        match engine.decode_slice(padded, &mut key) {
            Ok(32) => Ok(Self { key }),
            _ => Err(Error::with_detail(
                ErrorKind::InvalidAesKey,
                "EncodingAESKey is not base64 for a 32-byte key",
            )),
        }
    }

    /// The 32-byte AES-256 key.
    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The key as 43 characters of base64, for tools that write an account out (`wxcb`'s
    /// fixtures). It decodes to the same key as the text it was made from, though the last
    /// character may differ where the console's text has non-zero unused bits. Keep it out of
    /// logs, errors and `Debug`.
    pub fn expose_secret(&self) -> String {
        let mut text = base64::engine::general_purpose::STANDARD.encode(self.key);
        text.truncate(43);
        text
    }
}

impl fmt::Debug for EncodingAesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncodingAesKey(***)")
    }
}

/// Who the encrypted messages are addressed to: the id appended to every plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveId {
    /// An official account or mini-program appid (`wx…`): URL verification answers the
    /// plaintext `echostr` after checking `signature`.
    AppId(String),
    /// A WeCom corpid (`ww…` / `wx…`), or a third-party suite id: URL verification decrypts
    /// `echostr` after checking `msg_signature`, and every message is encrypted.
    CorpId(String),
}

impl ReceiveId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AppId(s) | Self::CorpId(s) => s,
        }
    }

    /// Whether this is a WeCom receive id.
    pub const fn is_wecom(&self) -> bool {
        matches!(self, Self::CorpId(_))
    }
}

/// How messages are protected, as chosen in the console (消息加解密方式). Never guessed from a
/// request alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 明文模式: plaintext bodies checked by `signature` only.
    Plain,
    /// 兼容模式: a body carries plaintext fields and `Encrypt`; with `encrypt_type=aes` in the
    /// query the decrypted copy is used and the reply is encrypted, otherwise plaintext.
    Compatible,
    /// 安全模式: every message must be encrypted and carry a valid `msg_signature`.
    Safe,
}

/// Parses `plain`, `compatible` / `compat`, or `safe` (ASCII case-insensitive, spaces
/// trimmed), as configuration files and environment variables spell the mode.
impl std::str::FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("plain") {
            Ok(Self::Plain)
        } else if s.eq_ignore_ascii_case("compatible") || s.eq_ignore_ascii_case("compat") {
            Ok(Self::Compatible)
        } else if s.eq_ignore_ascii_case("safe") {
            Ok(Self::Safe)
        } else {
            Err(Error::with_detail(
                ErrorKind::Config,
                "mode is not plain, compatible or safe",
            ))
        }
    }
}

/// Which WeChat surface an account is (the `platform` of the accounts file and fixtures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// 公众号 / 服务号 (`mp`).
    OfficialAccount,
    /// 小程序 message push (`miniprogram`): XML or JSON bodies.
    MiniProgram,
    /// 企业微信 self-built application (`wecom`).
    WeCom,
    /// 开放平台第三方平台 (`open_platform`): always safe mode and XML.
    OpenPlatform,
    /// 企业微信第三方应用 (`wecom_suite`).
    WeComSuite,
}

impl Platform {
    /// The name the accounts file and fixtures use: `mp`, `miniprogram`, `wecom`,
    /// `open_platform` or `wecom_suite`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OfficialAccount => "mp",
            Self::MiniProgram => "miniprogram",
            Self::WeCom => "wecom",
            Self::OpenPlatform => "open_platform",
            Self::WeComSuite => "wecom_suite",
        }
    }
}

/// Parses the names of [`Platform::name`] (exactly, as the accounts file spells them).
impl std::str::FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        [
            Self::OfficialAccount,
            Self::MiniProgram,
            Self::WeCom,
            Self::OpenPlatform,
            Self::WeComSuite,
        ]
        .into_iter()
        .find(|platform| platform.name() == s)
        .ok_or_else(|| {
            Error::with_detail(
                ErrorKind::Config,
                "platform is not mp, miniprogram, wecom, open_platform or wecom_suite",
            )
        })
    }
}

/// The data format of a mini-program's message push (数据格式), as chosen in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BodyFormat {
    /// XML bodies and replies (the console's default).
    #[default]
    Xml,
    /// JSON bodies and replies.
    Json,
}

/// Parses `xml` or `json` (ASCII case-insensitive, spaces trimmed).
impl std::str::FromStr for BodyFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("xml") {
            Ok(Self::Xml)
        } else if s.eq_ignore_ascii_case("json") {
            Ok(Self::Json)
        } else {
            Err(Error::with_detail(
                ErrorKind::Config,
                "format is not xml or json",
            ))
        }
    }
}

/// An account's callback configuration.
///
/// Build with [`Config::official_account`] or [`Config::wecom`], then adjust with the `with_*`
/// methods; read back with the getters of the same names without `with_`.
/// [`Engine::new`](crate::Engine::new) checks that the parts agree.
///
/// ```
/// use std::time::Duration;
/// use wechat_callback::{Config, EncodingAesKey, Mode, Token};
/// let key = EncodingAesKey::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")?;
/// let config = Config::official_account(Token::new("token")?, "wx2c2769f8efd9abc2")
///     .with_encoding_aes_key(key)
///     .with_mode(Mode::Safe)
///     .with_timestamp_tolerance(Duration::from_secs(300));
/// assert_eq!(config.mode(), Mode::Safe);
/// assert_eq!(config.max_body_bytes(), Config::DEFAULT_MAX_BODY_BYTES);
/// # Ok::<(), wechat_callback::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) token: Token,
    pub(crate) encoding_aes_key: Option<EncodingAesKey>,
    pub(crate) receive_id: ReceiveId,
    pub(crate) platform: Platform,
    pub(crate) format: BodyFormat,
    pub(crate) agent_id: Option<String>,
    pub(crate) provider_corpid: Option<String>,
    pub(crate) mode: Mode,
    pub(crate) timestamp_tolerance_s: Option<u64>,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_read_timeout: Duration,
}

impl Config {
    /// The default cap on a request body: 512 KiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 512 * 1024;

    /// The default time allowed for reading a request body: 10 seconds. WeChat itself gives
    /// up on a callback after 5 seconds.
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// An official account or mini-program (receive id: the `appid`), plaintext mode until
    /// [`Config::with_encoding_aes_key`] is given.
    pub fn official_account(token: Token, appid: impl Into<String>) -> Self {
        Self::new(token, None, ReceiveId::AppId(appid.into()), Mode::Plain)
    }

    /// A mini-program's message push (小程序 “消息推送”): receive id the `appid`, plaintext
    /// mode until [`Config::with_encoding_aes_key`] is given, XML until
    /// [`Config::with_format`] says JSON. Bodies are read as what they are (`{` is JSON,
    /// WeChat has labelled JSON `text/xml`); replies take the format of the body.
    pub fn mini_program(token: Token, appid: impl Into<String>) -> Self {
        let mut config = Self::official_account(token, appid);
        config.platform = Platform::MiniProgram;
        config
    }

    /// A WeCom (企业微信) application: always encrypted, receive id the `corpid` (or a
    /// third-party suite's suite id).
    pub fn wecom(
        token: Token,
        encoding_aes_key: EncodingAesKey,
        corpid: impl Into<String>,
    ) -> Self {
        Self::new(
            token,
            Some(encoding_aes_key),
            ReceiveId::CorpId(corpid.into()),
            Mode::Safe,
        )
    }

    /// An open-platform third-party platform (开放平台第三方平台): always safe mode and XML;
    /// the receive id is the component appid, for its authorization events and for the
    /// messages it receives on behalf of its authorizers alike.
    pub fn open_platform(
        token: Token,
        encoding_aes_key: EncodingAesKey,
        component_appid: impl Into<String>,
    ) -> Self {
        let mut config = Self::new(
            token,
            Some(encoding_aes_key),
            ReceiveId::AppId(component_appid.into()),
            Mode::Safe,
        );
        config.platform = Platform::OpenPlatform;
        config
    }

    /// This WeCom configuration as a third-party suite's (企业微信第三方应用): receive id the
    /// suite id for its command callbacks. No change to a configuration that is not WeCom's
    /// ([`Config::wecom`]).
    #[must_use]
    pub fn for_wecom_suite(mut self) -> Self {
        if self.receive_id.is_wecom() {
            self.platform = Platform::WeComSuite;
        }
        self
    }

    fn new(
        token: Token,
        encoding_aes_key: Option<EncodingAesKey>,
        receive_id: ReceiveId,
        mode: Mode,
    ) -> Self {
        let platform = if receive_id.is_wecom() {
            Platform::WeCom
        } else {
            Platform::OfficialAccount
        };
        Self {
            token,
            encoding_aes_key,
            receive_id,
            platform,
            format: BodyFormat::Xml,
            agent_id: None,
            provider_corpid: None,
            mode,
            timestamp_tolerance_s: None,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            body_read_timeout: Self::DEFAULT_BODY_READ_TIMEOUT,
        }
    }

    /// Sets the EncodingAESKey; a plaintext official account becomes [`Mode::Compatible`]
    /// (call [`Config::with_mode`] afterwards for safe mode).
    #[must_use]
    pub fn with_encoding_aes_key(mut self, key: EncodingAesKey) -> Self {
        self.encoding_aes_key = Some(key);
        if self.mode == Mode::Plain {
            self.mode = Mode::Compatible;
        }
        self
    }

    /// Sets a mini-program's data format (数据格式), as chosen in the console.
    #[must_use]
    pub fn with_format(mut self, format: BodyFormat) -> Self {
        self.format = format;
        self
    }

    /// WeCom: the application's `AgentID`. A message whose `AgentID` is another one is
    /// refused ([`ErrorKind::ReceiveId`], -40005): it was meant for another application of the
    /// same corp. Messages without an `AgentID` (suite and contact events) pass.
    #[must_use]
    pub fn with_agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = Some(agent_id.into());
        self
    }

    /// A WeCom suite's provider corpid (服务商 corpid): its URL verification (GET, on both
    /// callback URLs) is encrypted for the provider's corpid, not the suite id. Without it the
    /// suite id is expected there too.
    #[must_use]
    pub fn with_provider_corpid(mut self, corpid: impl Into<String>) -> Self {
        self.provider_corpid = Some(corpid.into());
        self
    }

    /// Sets the mode, as chosen in the console.
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Accepts only requests whose `timestamp` (Unix seconds) is within `tolerance` of the
    /// engine's clock, either side; counted in whole seconds, rounded up. Without it any
    /// numeric timestamp is accepted.
    #[must_use]
    pub fn with_timestamp_tolerance(mut self, tolerance: Duration) -> Self {
        let seconds = tolerance.as_secs() + u64::from(tolerance.subsec_nanos() > 0);
        self.timestamp_tolerance_s = Some(seconds);
        self
    }

    /// Caps the request body in bytes (default [`Config::DEFAULT_MAX_BODY_BYTES`], 512 KiB).
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How long an adapter waits for the whole body once the request head has arrived
    /// (default [`Config::DEFAULT_BODY_READ_TIMEOUT`], 10 s) before answering 408; a sender
    /// that trickles its body cannot hold a connection longer.
    #[must_use]
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The token (its `Debug` prints `***`).
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The EncodingAESKey, when one is configured (its `Debug` prints `***`).
    pub fn encoding_aes_key(&self) -> Option<&EncodingAesKey> {
        self.encoding_aes_key.as_ref()
    }

    /// A WeCom suite's provider corpid, the receive id of its URL verification, when set
    /// ([`Config::with_provider_corpid`]; the suite id otherwise).
    pub fn provider_corpid(&self) -> Option<&str> {
        self.provider_corpid.as_deref()
    }

    /// The receive id: appid or corpid.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.receive_id
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The configured data format (mini-programs; XML elsewhere).
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// The WeCom `AgentID` messages are checked against, when set.
    pub fn agent_id(&self) -> Option<&str> {
        self.agent_id.as_deref()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The timestamp window, if one is set.
    pub fn timestamp_tolerance(&self) -> Option<Duration> {
        self.timestamp_tolerance_s.map(Duration::from_secs)
    }

    /// The body cap in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long adapters wait for the whole body.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        match (self.mode, &self.encoding_aes_key, &self.receive_id) {
            (Mode::Plain, _, ReceiveId::CorpId(_)) => Err(Error::with_detail(
                ErrorKind::Config,
                "WeCom callbacks are always encrypted: plain mode is not available",
            )),
            (Mode::Compatible | Mode::Safe, None, _) => Err(Error::with_detail(
                ErrorKind::Config,
                "compatible and safe mode need an EncodingAESKey",
            )),
            _ if self.receive_id.as_str().is_empty() => Err(Error::with_detail(
                ErrorKind::Config,
                "empty appid / corpid",
            )),
            _ if self.format == BodyFormat::Json && self.platform != Platform::MiniProgram => Err(
                Error::with_detail(ErrorKind::Config, "only a mini-program's push can be JSON"),
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_mini_program_format_only() {
        let token = || Token::new("t").unwrap();
        let mini = Config::mini_program(token(), "wx1").with_format(BodyFormat::Json);
        assert_eq!(mini.platform(), Platform::MiniProgram);
        assert!(mini.validate().is_ok());
        let mp = Config::official_account(token(), "wx1").with_format(BodyFormat::Json);
        assert_eq!(mp.validate().unwrap_err().kind(), ErrorKind::Config);
        assert_eq!(" JSON ".parse::<BodyFormat>().unwrap(), BodyFormat::Json);
        assert!("yaml".parse::<BodyFormat>().is_err());
    }

    #[test]
    fn platform_names_round_trip_and_keys_are_exposed_only_on_request() {
        for name in ["mp", "miniprogram", "wecom", "open_platform", "wecom_suite"] {
            assert_eq!(name.parse::<Platform>().unwrap().name(), name);
        }
        assert!("MP".parse::<Platform>().is_err());
        let text = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let key = EncodingAesKey::new(text).unwrap();
        let exposed = key.expose_secret();
        assert_eq!(exposed.len(), 43);
        assert_eq!(EncodingAesKey::new(&exposed).unwrap().key(), key.key());
        // The console's text may set the last character's unused bits: same key, canonical text.
        let loose = EncodingAesKey::new(&format!("{}H", &text[..42])).unwrap();
        assert_eq!(
            EncodingAesKey::new(&loose.expose_secret()).unwrap().key(),
            loose.key()
        );
        let token = Token::new("tok").unwrap();
        let config = Config::official_account(token, "wx1").with_encoding_aes_key(key);
        assert_eq!(config.token().expose_secret(), "tok");
        assert!(config.encoding_aes_key().is_some());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let token = Token::new("s3cretTok").unwrap();
        let key = EncodingAesKey::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        let config = Config::official_account(token, "wx1").with_encoding_aes_key(key);
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cretTok"), "{shown}");
        assert!(!shown.contains("abcdefghij"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn aes_key_must_be_43_base64_chars() {
        assert_eq!(
            EncodingAesKey::new("short").unwrap_err().kind(),
            ErrorKind::InvalidAesKey
        );
        assert_eq!(
            EncodingAesKey::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!")
                .unwrap_err()
                .code(),
            Some(-40004)
        );
        let key = EncodingAesKey::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        assert_eq!(&key.key()[..3], &[0x69, 0xb7, 0x1d]);
    }

    #[test]
    fn mode_and_key_must_agree() {
        let token = Token::new("t").unwrap();
        let safe_without_key = Config::official_account(token, "wx1").with_mode(Mode::Safe);
        assert_eq!(
            safe_without_key.validate().unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!("Compat".parse::<Mode>().unwrap(), Mode::Compatible);
        assert_eq!(" safe ".parse::<Mode>().unwrap(), Mode::Safe);
        assert_eq!(
            "nope".parse::<Mode>().unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
