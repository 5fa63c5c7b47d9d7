//! Where a server listens and for which account, from the `WECHAT_*` environment variables:
//! what `wxcb serve` and the echo examples read, the same way.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `WECHAT_ADDR` | address to listen on | `127.0.0.1:8080` |
//! | `WECHAT_TOKEN` | the account's token | the demo token ([`defaults::TOKEN`]) |
//! | `WECHAT_AES_KEY` | EncodingAESKey (43 chars); unset or empty = plaintext only | unset |
//! | `WECHAT_APPID` | appid replies are encrypted for and requests checked against | the demo appid ([`defaults::APPID`]) |
//! | `WECHAT_MODE` | `plain`, `compatible` or `safe` | `compatible` with a key, else `plain` |
//! | `WECHAT_DEADLINE_MS` | how long handlers may take before the answer is `success`, milliseconds | the engine's, 4000 |
//!
//! The defaults are `wxcb simulate`'s, so a server and the simulator agree with none set.

use std::net::SocketAddr;
use std::time::Duration;

use wechat_callback::{Config, EncodingAesKey, Mode, Token};

use crate::simulate::defaults;

/// `WECHAT_ADDR`'s default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The path the servers mount the engine at (accounts of a file at `{PATH}/{id}`).
pub const PATH: &str = "/wechat";
/// The timestamp window the servers accept, in seconds.
pub const TIMESTAMP_TOLERANCE_SECS: u64 = 300;

/// Logs to standard error, filtered by `RUST_LOG` (default `info`): what `wxcb serve` and the
/// examples do.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Where to listen and for which account.
#[derive(Debug)]
pub struct Settings {
    /// `WECHAT_ADDR`.
    pub addr: SocketAddr,
    /// The account, from the other variables.
    pub config: Config,
    /// The mode in effect, for the start-up line.
    pub mode: Mode,
    /// `WECHAT_DEADLINE_MS`, when set.
    pub deadline: Option<Duration>,
}

impl Settings {
    /// Reads the `WECHAT_*` variables (see the crate docs).
    ///
    /// # Errors
    /// A message naming the variable that is not valid.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Settings::from_env`], reading variables through `lookup`.
    ///
    /// # Errors
    /// A message naming the variable that is not valid.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let addr = var("WECHAT_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = addr
            .parse()
            .map_err(|e| format!("WECHAT_ADDR {addr:?}: {e}"))?;
        let token = Token::new(var("WECHAT_TOKEN").unwrap_or_else(|| defaults::TOKEN.to_owned()))
            .map_err(|e| format!("WECHAT_TOKEN: {e}"))?;
        let appid = var("WECHAT_APPID").unwrap_or_else(|| defaults::APPID.to_owned());
        let key = var("WECHAT_AES_KEY")
            .map(|key| EncodingAesKey::new(&key))
            .transpose()
            .map_err(|e| format!("WECHAT_AES_KEY: {e}"))?;
        let mode = match var("WECHAT_MODE") {
            Some(mode) => mode
                .parse()
                .map_err(|_| format!("WECHAT_MODE {mode:?}: plain, compatible or safe"))?,
            None if key.is_some() => Mode::Compatible,
            None => Mode::Plain,
        };
        let deadline = var("WECHAT_DEADLINE_MS")
            .map(|ms| {
                ms.parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|e| format!("WECHAT_DEADLINE_MS {ms:?}: {e}"))
            })
            .transpose()?;
        let mut config = Config::official_account(token, appid)
            .with_timestamp_tolerance(Duration::from_secs(TIMESTAMP_TOLERANCE_SECS))
            .with_mode(mode);
        if let Some(key) = key {
            config = config.with_encoding_aes_key(key);
        }
        Ok(Self {
            addr,
            config,
            mode,
            deadline,
        })
    }

    /// One line for the console: address, path and mode (no secrets).
    pub fn banner(&self, server: &str) -> String {
        format!(
            "{server}: WeChat callbacks on http://{}{PATH} ({:?} mode); try `wxcb simulate --text hello` (cargo run -p wechat-callback-cli -- simulate --text hello)",
            self.addr, self.mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let none = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(none.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(none.mode, Mode::Plain);
        let with_key = Settings::from_lookup(|name| {
            (name == "WECHAT_AES_KEY")
                .then(|| "wxcbDemoEncodingAESKey0123456789abcdefghijk".to_owned())
        })
        .unwrap();
        assert_eq!(with_key.mode, Mode::Compatible);
        let bad = Settings::from_lookup(|name| (name == "WECHAT_MODE").then(|| "loud".into()));
        assert!(bad.unwrap_err().contains("WECHAT_MODE"));
        let empty = Settings::from_lookup(|name| (name == "WECHAT_AES_KEY").then(String::new));
        assert_eq!(empty.unwrap().mode, Mode::Plain);
        let deadline =
            Settings::from_lookup(|name| (name == "WECHAT_DEADLINE_MS").then(|| "250".into()));
        assert_eq!(deadline.unwrap().deadline, Some(Duration::from_millis(250)));
        let bad =
            Settings::from_lookup(|name| (name == "WECHAT_DEADLINE_MS").then(|| "soon".into()));
        assert!(bad.unwrap_err().contains("WECHAT_DEADLINE_MS"));
    }
}
