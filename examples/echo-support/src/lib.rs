//! What the `*-echo` examples share, so all three read the same variables the same way and
//! answer the same: settings from `WECHAT_*` environment variables with an embedded demo
//! account, and the echo handlers.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `WECHAT_ADDR` | address to listen on | `127.0.0.1:8080` |
//! | `WECHAT_TOKEN` | the account's token | [`DEMO_TOKEN`] |
//! | `WECHAT_AES_KEY` | EncodingAESKey (43 chars); unset or empty = plaintext only | unset |
//! | `WECHAT_APPID` | appid replies are encrypted for and requests checked against | [`DEMO_APPID`] |
//! | `WECHAT_MODE` | `plain`, `compatible` or `safe` | `compatible` with a key, else `plain` |
//! | `WECHAT_DEADLINE_MS` | how long async handlers may take before the answer is `success` | the engine's, 4000 |
//! | `WECHAT_CONFIG` | an accounts file (TOML, see `wechat_callback::accounts`): serve each of its accounts at `/wechat/{id}` instead of the one account above | unset |
//! | `WECHAT_REDIS_URL` | a Redis (`redis://host:port/`) that replicas share retries through (`wechat-callback-redis`); unset = each process remembers its own | unset |
//! | `WECHAT_REPLICA` | this process's name in `slow:N` replies | host name `:` process id |
//! | `WECHAT_RECORD_DIR` | record each callback there as a fixture (`wxcb records`, `wxcb replay --config`); at most 50 a second, 10,000 files, 256 MiB | unset |
//!
//! The defaults match `wxcb simulate`'s, so both run with none set.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
pub use metrics_exporter_prometheus::PrometheusHandle;
use wechat_callback::adapter::LateReply;
use wechat_callback::message::{Click, Subscribe, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Error, Matcher, Router};

/// The demo token (`WECHAT_TOKEN`'s default). Never use it for a real account.
pub const DEMO_TOKEN: &str = wechat_callback_cli::simulate::defaults::TOKEN;
/// The demo appid (`WECHAT_APPID`'s default).
pub const DEMO_APPID: &str = wechat_callback_cli::simulate::defaults::APPID;
/// An EncodingAESKey for trying safe mode locally (`WECHAT_AES_KEY=...`; not a default).
pub const DEMO_AES_KEY: &str = "wxcbDemoEncodingAESKey0123456789abcdefghijk";
/// The reply to `subscribe`.
pub const WELCOME: &str = "欢迎关注！Welcome: send any text and it comes back.";
/// The reply to the text `help` (exactly, spaces around it aside).
pub const HELP: &str = "help: send any text and it comes back; slow:N answers after N ms, \
                        naming the replica; \
                        a menu button MENU_x answers menu x.";
/// Where the examples serve their metrics, in Prometheus text.
pub const METRICS_PATH: &str = "/metrics";

/// Installs the process's metrics recorder (`metrics-exporter-prometheus`, no listener of
/// its own: the examples serve [`METRICS_PATH`] on their own address) and returns the handle
/// whose `render()` is the Prometheus text. `wechat_handler_seconds` gets buckets from 1 ms to
/// 5 s, so it is a histogram rather than a summary.
///
/// # Panics
/// When a recorder is already installed (call it once, at start-up).
pub fn install_metrics() -> PrometheusHandle {
    let buckets = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 4.0, 5.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(
                wechat_callback::telemetry::HANDLER_SECONDS.to_owned(),
            ),
            &buckets,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .expect("one metrics recorder per process")
}

/// The `Content-Type` of [`METRICS_PATH`]'s answer.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub use wechat_callback_cli::settings::{DEFAULT_ADDR, PATH, Settings, TIMESTAMP_TOLERANCE_SECS};

/// The echo handlers: a text message gets a text reply with the same `Content`; `slow:N`
/// runs an async handler that sleeps N milliseconds without blocking and replies
/// `slept N ms`; `subscribe` gets [`WELCOME`]; everything else the empty reply (`success`).
pub fn router() -> Router {
    Router::new()
        // Rules first: registration order decides.
        .on_matching(Matcher::content("help"), |_: &Text| Reply::text(HELP))
        .on_matching(Matcher::event_key_prefix("MENU_"), |click: &Click| {
            let item = click.event_key.strip_prefix("MENU_").unwrap_or_default();
            Reply::text(format!("menu {item}"))
        })
        .on_text(|text: &Text| {
            let slow = text
                .content
                .strip_prefix("slow:")
                .is_some_and(|ms| ms.parse::<u64>().is_ok());
            (!slow).then(|| Reply::text(text.content.clone()))
        })
        .on_text(sleep_then_reply)
        .on_event_subscribe(|_: &Subscribe| Reply::text(WELCOME))
}

/// `slow:N`: sleeps N ms on the runtime's timer, then replies `slept N ms on <replica>`
/// ([`replica`]), so behind a load balancer the reply tells which process ran the handler.
async fn sleep_then_reply(text: Text) -> Option<Reply> {
    let ms: u64 = text.content.strip_prefix("slow:")?.parse().ok()?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Some(Reply::text(format!("slept {ms} ms on {}", replica())))
}

/// This process's name: `WECHAT_REPLICA`, else the host name and process id (`host:1234`).
pub fn replica() -> &'static str {
    static REPLICA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    REPLICA.get_or_init(|| {
        std::env::var("WECHAT_REPLICA")
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .or_else(|| std::env::var("HOSTNAME").ok())
                    .or_else(|| std::env::var("COMPUTERNAME").ok())
                    .map(|host| host.trim().to_owned())
                    .filter(|host| !host.is_empty())
                    .unwrap_or_else(|| "localhost".to_owned());
                format!("{host}:{}", std::process::id())
            })
    })
}

/// The Redis dedup store named by `WECHAT_REDIS_URL`, opened on the current tokio runtime
/// (connecting in the background); `None` when the variable is unset or empty.
///
/// # Errors
/// A URL that is not a Redis URL, naming the variable (never the URL: it may hold a password).
pub fn redis_from_env() -> Result<Option<wechat_callback_redis::RedisDedupStore>, String> {
    let Some(url) = std::env::var("WECHAT_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        return Ok(None);
    };
    wechat_callback_redis::RedisDedupStore::open(&url)
        .map(Some)
        .map_err(|e| format!("WECHAT_REDIS_URL: {}", e))
}

/// What `WECHAT_REDIS_URL` and `WECHAT_RECORD_DIR` add to every engine.
struct Shared {
    redis: Option<wechat_callback_redis::RedisDedupStore>,
    recorder: Option<std::sync::Arc<wechat_callback_cli::record::FixtureRecorder>>,
}

impl Shared {
    fn from_env() -> Result<Self, String> {
        Ok(Self {
            redis: redis_from_env()?,
            recorder: wechat_callback_cli::record::from_env()?,
        })
    }

    /// `engine` for account `id`: sharing retries through Redis, recording, as set.
    fn apply(&self, engine: wechat_callback::Engine, id: &str) -> wechat_callback::Engine {
        let engine = match &self.redis {
            Some(store) => {
                engine.with_dedup(wechat_callback::dedup::Dedup::shared(store.for_account(id)))
            }
            None => engine,
        };
        match &self.recorder {
            Some(recorder) => engine.with_recorder(recorder.clone()),
            None => engine,
        }
    }
}

/// What the examples do with a reply that came after the deadline: one line on stdout,
/// `late reply to <openid>: <text>` (a real service would send it through the
/// customer-service API).
pub async fn print_late_reply(late: LateReply) {
    let text = match &late.reply {
        Reply::Text { content } => content.to_string(),
        other => format!("{other:?}"),
    };
    println!("late reply to {}: {text}", late.openid);
}

pub use wechat_callback_cli::settings::init_logging;

/// What an example serves: one account at [`PATH`] (from the `WECHAT_*` variables), or every
/// account of the accounts file named by `WECHAT_CONFIG` at `/wechat/{id}`.
pub enum Served {
    /// One account, at `/wechat`.
    One(Box<wechat_callback::Engine>),
    /// Every account of the file, account `id` at `/wechat/{id}`.
    Many(wechat_callback::accounts::Accounts),
}

/// The handlers for one account of the file: [`router`]'s on official accounts, WeCom and
/// open-platform accounts (authorizers' texts echoed; authorization events, which no handler
/// takes, answered `success`); none on a mini-program, so everything there gets `success`
/// (its replies go through the customer-service API).
pub fn router_for(account: &wechat_callback::accounts::Account) -> Router {
    match account.config().platform() {
        wechat_callback::Platform::MiniProgram => Router::new(),
        _ => router(),
    }
}

/// Reads the settings and what to serve: with `WECHAT_CONFIG`, every account of that file
/// (its `${VAR}`s from the environment), each with [`router_for`]'s handlers; without it,
/// [`engine_from_env`]'s one account. Exits with a message naming the variable, or the file's
/// line and field, when something is not valid.
pub fn served_from_env() -> (Settings, Served) {
    let Some(path) = std::env::var_os("WECHAT_CONFIG").filter(|p| !p.is_empty()) else {
        let (settings, engine) = engine_from_env();
        return (settings, Served::One(Box::new(engine)));
    };
    let built = Settings::from_env().and_then(|settings| {
        let shared = Shared::from_env()?;
        let shown = std::path::Path::new(&path).display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("WECHAT_CONFIG {shown}: {e}"))?;
        let deadline = settings.deadline;
        let accounts = wechat_callback::accounts::Accounts::from_file(
            &text,
            |name| std::env::var(name).ok(),
            router_for,
            |account, engine| {
                let engine = shared
                    .apply(engine, account.id())
                    .with_late_reply_hook(print_late_reply);
                match deadline {
                    Some(deadline) => engine.with_deadline(deadline),
                    None => engine,
                }
            },
        )
        .map_err(|e| format!("WECHAT_CONFIG {shown}: {e}"))?;
        Ok((settings, Served::Many(accounts)))
    });
    built.unwrap_or_else(|problem| {
        eprintln!("{problem}");
        std::process::exit(2)
    })
}

impl Served {
    /// One line for the console: where the accounts answer (no secrets).
    pub fn banner(&self, settings: &Settings, framework: &str) -> String {
        match self {
            Self::One(_) => settings.banner(framework),
            Self::Many(accounts) => format!(
                "{framework}: WeChat callbacks for {} accounts at http://{}{PATH}/{{id}}: {}",
                accounts.len(),
                settings.addr,
                accounts.ids().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Reads the settings and builds the echo engine; exits with a message when a variable is
/// not valid.
pub fn engine_from_env() -> (Settings, wechat_callback::Engine) {
    let built = Settings::from_env().and_then(|settings| {
        let shared = Shared::from_env()?;
        let engine = wechat_callback::Engine::new(settings.config.clone(), router())
            .map_err(|e: Error| e.to_string())?
            .with_late_reply_hook(print_late_reply);
        let account = settings.config.receive_id().as_str().to_owned();
        let mut engine = shared.apply(engine.with_account_id(account.clone()), &account);
        if let Some(deadline) = settings.deadline {
            engine = engine.with_deadline(deadline);
        }
        Ok((settings, engine))
    });
    built.unwrap_or_else(|problem| {
        eprintln!("{problem}");
        std::process::exit(2)
    })
}
