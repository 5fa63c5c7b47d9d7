//! The accounts file: many accounts on one server, each mounted at `/wechat/{id}`.
//!
//! GET URL verification carries no account identity (only `signature`, `timestamp`, `nonce`,
//! `echostr`), so the account has to be in the URL, as every peer does it
//! (`../shared/callback-formats.md` §6). The file lists the accounts in TOML:
//!
//! ```toml
//! [[account]]
//! id = "shop"                  # URL /wechat/shop; defaults to appid
//! platform = "mp"              # mp | miniprogram | wecom | open_platform | wecom_suite
//! appid = "wx…"                # the receive id: appid, corpid, component appid or suite_id
//! token = "${SHOP_TOKEN}"      # ${VAR} reads the environment
//! encoding_aes_key = "${SHOP_AES_KEY}"   # optional
//! mode = "safe"                # plain | compatible | safe
//! format = "json"              # miniprogram: xml | json
//! agent_id = "1000002"         # wecom, optional: checked when set
//! ```
//!
//! A `wecom_suite` account may add `provider_corpid`, the corpid its URL verification is
//! encrypted for (default: the suite id).
//!
//! Also per account, optional: `timestamp_tolerance_s` (seconds) and `max_body_bytes`.
//! Parsing is pure: the file's text comes in, the environment through a lookup function, so
//! the core does no I/O; the adapters and tools read the file.

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{BodyFormat, Config, EncodingAesKey, Mode, Platform, Token};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};
use crate::router::Router;

/// One account of the file: its URL id and its configuration.
#[derive(Debug, Clone)]
pub struct Account {
    id: String,
    config: Config,
}

impl Account {
    /// The id the account is mounted at: `/wechat/{id}`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The account's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration, taken.
    pub fn into_config(self) -> Config {
        self.config
    }
}

/// The engines of many accounts, found by id: what an adapter serves at `/wechat/{id}`. An
/// id it does not hold gets 404 without any other work.
///
/// ```
/// use wechat_callback::accounts::Accounts;
/// use wechat_callback::{Config, Engine, Router, Token};
/// let mut accounts = Accounts::new();
/// accounts.insert("shop", Engine::new(Config::official_account(Token::new("t")?, "wx1"), Router::new())?)?;
/// assert_eq!(accounts.get("shop").unwrap().account_id(), Some("shop"));
/// assert!(accounts.get("other").is_none());
/// # Ok::<(), wechat_callback::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    engines: std::collections::BTreeMap<std::sync::Arc<str>, std::sync::Arc<Engine>>,
}

impl Accounts {
    /// No accounts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One engine per account of an accounts file ([`parse_accounts`]), each with the router
    /// `router` makes for it (share handlers by building the same router for several; they
    /// learn the account from [`Callback::account_id`](crate::Callback::account_id)) and the
    /// account's id ([`Engine::with_account_id`]). `engine` adjusts each engine (deadline,
    /// late-reply hook, dedup store); pass `|_, engine| engine` for the defaults.
    ///
    /// # Errors
    /// As [`parse_accounts`] and [`Engine::new`].
    pub fn from_file(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
        router: impl Fn(&Account) -> Router,
        engine: impl Fn(&Account, Engine) -> Engine,
    ) -> Result<Self, Error> {
        let mut accounts = Self::new();
        for account in parse_accounts(text, env)? {
            let built = Engine::new(account.config.clone(), router(&account))?;
            let built = engine(&account, built);
            accounts.insert(account.id.as_str(), built)?;
        }
        Ok(accounts)
    }

    /// Adds `engine` as account `id` (and names it so: [`Engine::with_account_id`]).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `id` is empty, not made of letters, digits, `_`, `-` and
    /// `.`, or already taken.
    pub fn insert(&mut self, id: &str, engine: Engine) -> Result<(), Error> {
        if !is_valid_id(id) {
            return Err(Error::with_detail(
                ErrorKind::Config,
                "account id: use letters, digits, `_`, `-` and `.` only",
            ));
        }
        if self.engines.contains_key(id) {
            return Err(Error::with_detail(
                ErrorKind::Config,
                "account id: a second account with this id",
            ));
        }
        let id: std::sync::Arc<str> = id.into();
        let engine = engine.with_account_id(std::sync::Arc::clone(&id));
        self.engines.insert(id, std::sync::Arc::new(engine));
        Ok(())
    }

    /// The engine of account `id`.
    pub fn get(&self, id: &str) -> Option<&std::sync::Arc<Engine>> {
        self.engines.get(id)
    }

    /// The engine a path below the mount point names, and the account it takes the callback
    /// for: `{id}` (the account itself), or `{id}/{on_behalf_of}` where account `id` is an
    /// open platform (an authorizer's appid, the console's `$APPID$`) or a WeCom suite (an
    /// authorizing corp's corpid, `$CORPID$`) and `on_behalf_of` looks like an id. `None` for
    /// anything else: the adapters answer 404 without reading the body.
    pub fn route<'p>(&self, path: &'p str) -> Option<(&std::sync::Arc<Engine>, Option<&'p str>)> {
        let Some((id, on_behalf_of)) = path.split_once('/') else {
            return Some((self.get(path)?, None));
        };
        let engine = self.get(id)?;
        let takes_others = matches!(
            engine.config().platform(),
            Platform::OpenPlatform | Platform::WeComSuite
        );
        (takes_others && is_valid_id(on_behalf_of)).then_some((engine, Some(on_behalf_of)))
    }

    /// The account ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.engines.keys().map(|id| &**id)
    }

    /// Every account's engine, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &std::sync::Arc<Engine>)> {
        self.engines.iter().map(|(id, engine)| (&**id, engine))
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }
}

/// Whether `id` can be an account id (or the authorizer / corp id after it in the URL): a URL
/// path segment of letters, digits, `_`, `-`, `.`.
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    account: Vec<Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Option<Spanned<String>>,
    platform: Spanned<String>,
    appid: Spanned<String>,
    token: Spanned<String>,
    encoding_aes_key: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    agent_id: Option<Spanned<String>>,
    provider_corpid: Option<Spanned<String>>,
    timestamp_tolerance_s: Option<Spanned<u64>>,
    max_body_bytes: Option<Spanned<usize>>,
}

/// Reads an accounts file (TOML, as the module documents), expanding `${VAR}` in every string
/// value through `env` (`|name| std::env::var(name).ok()` for the process environment).
///
/// # Errors
/// [`ErrorKind::Config`], with a detail naming the line and the field (never a value, so no
/// secret reaches a log), for: TOML that does not parse; an unknown or missing field; an
/// unknown platform, mode or format; `${VAR}` of an unset variable; a token or
/// EncodingAESKey that is not valid; a mode that needs a key without one; `format` on an
/// account that is not a mini-program; `agent_id` on one that is not WeCom; an id that is not
/// made of letters, digits, `_`, `-` and `.`; two accounts with one id; no account at all.
pub fn parse_accounts(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Account>, Error> {
    let file: File = toml::from_str(text).map_err(|error| {
        let at = error.span().map_or_else(String::new, |span| {
            format!("line {}: ", line_of(text, span.start))
        });
        Error::with_detail(
            ErrorKind::Config,
            format!("{at}{}", without_values(error.message())),
        )
    })?;
    if file.account.is_empty() {
        return Err(Error::with_detail(
            ErrorKind::Config,
            "no [[account]] in the accounts file",
        ));
    }
    let mut ids = BTreeSet::new();
    let mut accounts = Vec::with_capacity(file.account.len());
    for entry in file.account {
        let line = line_of(text, entry.span().start);
        let account = Reader { text, env: &env }.account(entry.into_inner())?;
        if !ids.insert(account.id.clone()) {
            return Err(Error::with_detail(
                ErrorKind::Config,
                format!("line {line}: id: a second account with this id"),
            ));
        }
        accounts.push(account);
    }
    Ok(accounts)
}

/// toml's message without the value it may quote (`invalid type: string "…", expected …`):
/// a value in the wrong place may be a secret.
fn without_values(message: &str) -> String {
    let message = message.trim_end();
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return match message.rsplit_once("expected ") {
            Some((_, expected)) => format!("wrong type of value, expected {expected}"),
            None => "wrong type of value".to_owned(),
        };
    }
    message.to_owned()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

struct Reader<'a, E> {
    text: &'a str,
    env: &'a E,
}

impl<E: Fn(&str) -> Option<String>> Reader<'_, E> {
    fn error(&self, span: Range<usize>, field: &str, what: &str) -> Error {
        Error::with_detail(
            ErrorKind::Config,
            format!("line {}: {field}: {what}", line_of(self.text, span.start)),
        )
    }

    /// The value with every `${VAR}` replaced by the variable's value.
    fn expand(&self, value: &Spanned<String>, field: &str) -> Result<String, Error> {
        let raw = value.get_ref();
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.error(value.span(), field, "`${` without its `}`"))?;
            let name = &after[..end];
            let found = (self.env)(name).ok_or_else(|| {
                self.error(
                    value.span(),
                    field,
                    &format!("environment variable {name} is not set"),
                )
            })?;
            out.push_str(&found);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn account(&self, entry: Entry) -> Result<Account, Error> {
        let platform: Platform = entry.platform.get_ref().parse().map_err(|_| {
            self.error(
                entry.platform.span(),
                "platform",
                "not mp, miniprogram, wecom, open_platform or wecom_suite",
            )
        })?;
        let appid = self.expand(&entry.appid, "appid")?;
        if appid.is_empty() {
            return Err(self.error(entry.appid.span(), "appid", "empty"));
        }
        let token = Token::new(self.expand(&entry.token, "token")?)
            .map_err(|_| self.error(entry.token.span(), "token", "not a valid token"))?;
        let key = match &entry.encoding_aes_key {
            Some(key) => {
                let text = self.expand(key, "encoding_aes_key")?;
                Some(EncodingAesKey::new(&text).map_err(|_| {
                    self.error(
                        key.span(),
                        "encoding_aes_key",
                        "not 43 characters of base64 for a 32-byte key",
                    )
                })?)
            }
            None => None,
        };
        let needs_key = |field: &str, span: Range<usize>| {
            self.error(span, field, "this platform needs an encoding_aes_key")
        };
        let mut config = match platform {
            Platform::OfficialAccount | Platform::MiniProgram => {
                let config = if platform == Platform::MiniProgram {
                    Config::mini_program(token, appid.as_str())
                } else {
                    Config::official_account(token, appid.as_str())
                };
                match key {
                    Some(key) => config.with_encoding_aes_key(key),
                    None => config,
                }
            }
            Platform::WeCom | Platform::WeComSuite => {
                let key = key.ok_or_else(|| needs_key("platform", entry.platform.span()))?;
                let config = Config::wecom(token, key, appid.as_str());
                if platform == Platform::WeComSuite {
                    config.for_wecom_suite()
                } else {
                    config
                }
            }
            Platform::OpenPlatform => {
                let key = key.ok_or_else(|| needs_key("platform", entry.platform.span()))?;
                Config::open_platform(token, key, appid.as_str())
            }
        };
        if let Some(mode) = &entry.mode {
            let parsed: Mode = self
                .expand(mode, "mode")?
                .parse()
                .map_err(|_| self.error(mode.span(), "mode", "not plain, compatible or safe"))?;
            config = config.with_mode(parsed);
        }
        if let Some(format) = &entry.format {
            if platform != Platform::MiniProgram {
                return Err(self.error(format.span(), "format", "only for a miniprogram"));
            }
            let parsed: BodyFormat = self
                .expand(format, "format")?
                .parse()
                .map_err(|_| self.error(format.span(), "format", "not xml or json"))?;
            config = config.with_format(parsed);
        }
        if let Some(agent_id) = &entry.agent_id {
            if platform != Platform::WeCom {
                return Err(self.error(agent_id.span(), "agent_id", "only for wecom"));
            }
            config = config.with_agent_id(self.expand(agent_id, "agent_id")?);
        }
        if let Some(provider) = &entry.provider_corpid {
            if platform != Platform::WeComSuite {
                return Err(self.error(provider.span(), "provider_corpid", "only for wecom_suite"));
            }
            config = config.with_provider_corpid(self.expand(provider, "provider_corpid")?);
        }
        if let Some(tolerance) = &entry.timestamp_tolerance_s {
            config = config.with_timestamp_tolerance(Duration::from_secs(*tolerance.get_ref()));
        }
        if let Some(max) = &entry.max_body_bytes {
            config = config.with_max_body_bytes(*max.get_ref());
        }
        config.validate().map_err(|error| {
            self.error(
                entry
                    .mode
                    .as_ref()
                    .map_or(entry.platform.span(), Spanned::span),
                "mode",
                error.detail().unwrap_or("contradicts the other fields"),
            )
        })?;
        let id = match &entry.id {
            Some(id) => {
                let id_text = self.expand(id, "id")?;
                if !is_valid_id(&id_text) {
                    return Err(self.error(
                        id.span(),
                        "id",
                        "use letters, digits, `_`, `-` and `.` only (it is a URL path segment)",
                    ));
                }
                id_text
            }
            None => appid,
        };
        Ok(Account { id, config })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn env(name: &str) -> Option<String> {
        match name {
            "SHOP_TOKEN" => Some("shopToken".into()),
            "SHOP_AES_KEY" => Some(KEY.into()),
            _ => None,
        }
    }

    #[test]
    fn reads_every_platform_with_variables_and_defaults() {
        let accounts = parse_accounts(
            r#"
[[account]]
id = "shop"
platform = "mp"
appid = "wx1111111111111111"
token = "${SHOP_TOKEN}"
encoding_aes_key = "${SHOP_AES_KEY}"
mode = "safe"

[[account]]
platform = "miniprogram"
appid = "wx2222222222222222"
token = "t2"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
format = "json"

[[account]]
id = "corp"
platform = "wecom"
appid = "ww3333333333333333"
token = "t3"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
agent_id = "1000002"
timestamp_tolerance_s = 300
"#,
            env,
        )
        .unwrap();
        let ids: Vec<_> = accounts.iter().map(Account::id).collect();
        assert_eq!(ids, ["shop", "wx2222222222222222", "corp"]);
        assert_eq!(accounts[0].config().mode(), Mode::Safe);
        assert_eq!(accounts[1].config().format(), BodyFormat::Json);
        assert_eq!(accounts[1].config().mode(), Mode::Compatible);
        assert_eq!(accounts[2].config().agent_id(), Some("1000002"));
        assert_eq!(
            accounts[2].config().timestamp_tolerance(),
            Some(Duration::from_secs(300))
        );
        let debug = format!("{accounts:?}");
        assert!(
            !debug.contains("shopToken") && !debug.contains(KEY),
            "{debug}"
        );
    }

    #[test]
    fn routes_ids_and_on_behalf_of_only_where_the_platform_takes_it() {
        let text = "[[account]]\nid = \"mp\"\nplatform = \"mp\"\nappid = \"wx1\"\ntoken = \"t\"\n\
                    [[account]]\nid = \"op\"\nplatform = \"open_platform\"\nappid = \"wx2\"\n\
                    token = \"t\"\nencoding_aes_key = \"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\"\n";
        let accounts = Accounts::from_file(text, env, |_| Router::new(), |_, e| e).unwrap();
        let route = |path| accounts.route(path).map(|(e, sub)| (e.account_id(), sub));
        assert_eq!(route("mp"), Some((Some("mp"), None)));
        assert_eq!(route("op/wxauth"), Some((Some("op"), Some("wxauth"))));
        assert_eq!(route("mp/wxauth"), None);
        assert_eq!(route("op/a/b"), None);
        assert_eq!(route("op/"), None);
        assert_eq!(route("nobody"), None);
        assert_eq!(route(""), None);
    }

    fn error(text: &str) -> String {
        let error = parse_accounts(text, env).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        error.to_string()
    }

    #[test]
    fn errors_name_the_line_and_field_never_the_secret() {
        let head = "[[account]]\nplatform = \"mp\"\nappid = \"wx1\"\n";
        let bad_mode = error(&format!("{head}token = \"t\"\nmode = \"sneaky\"\n"));
        assert!(bad_mode.contains("line 5: mode"), "{bad_mode}");
        let unset = error(&format!("{head}token = \"${{NOPE}}\"\n"));
        assert!(
            unset.contains("line 4: token") && unset.contains("NOPE"),
            "{unset}"
        );
        let bad_key = error(&format!(
            "{head}token = \"t\"\nencoding_aes_key = \"s3cret-but-short\"\n"
        ));
        assert!(bad_key.contains("line 5: encoding_aes_key"), "{bad_key}");
        assert!(!bad_key.contains("s3cret"), "{bad_key}");
        let no_key = error(&format!("{head}token = \"t\"\nmode = \"safe\"\n"));
        assert!(no_key.contains("line 5: mode"), "{no_key}");
        let unknown = error(&format!("{head}token = \"t\"\ncolour = \"red\"\n"));
        assert!(
            unknown.contains("line 5") && unknown.contains("colour"),
            "{unknown}"
        );
        let missing = error("[[account]]\nplatform = \"mp\"\nappid = \"wx1\"\n");
        assert!(missing.contains("token"), "{missing}");
        let twice = error(&format!("{head}token = \"t\"\n{head}token = \"u\"\n"));
        assert!(twice.contains("line 5: id"), "{twice}");
        let bad_id = error(&format!("{head}token = \"t\"\nid = \"a/b\"\n"));
        assert!(bad_id.contains("line 5: id"), "{bad_id}");
        let platform = error("[[account]]\nplatform = \"icq\"\nappid = \"wx1\"\ntoken = \"t\"\n");
        assert!(platform.contains("line 2: platform"), "{platform}");
        let format = error(&format!("{head}token = \"t\"\nformat = \"json\"\n"));
        assert!(format.contains("line 5: format"), "{format}");
        assert!(error("").contains("no [[account]]"));
        let syntax = error("[[account]\n");
        assert!(syntax.contains("line 1"), "{syntax}");
        let typed = error(&format!("{head}token = 80665\n"));
        assert!(
            typed.contains("line 4") && !typed.contains("80665"),
            "{typed}"
        );
    }
}
