//! `wxcb`: replay recorded WeChat callback fixtures (in-process or against a live endpoint),
//! simulate WeChat's servers against a running endpoint, and build signed (optionally
//! encrypted) callback requests as WeChat's servers send them.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use serde_json::{Map, Value, json};
use wechat_callback::accounts::parse_accounts;
use wechat_callback::{Config, Platform};
use wechat_callback_cli::build::{Built, Sender, fresh_timestamp_and_nonce, now};
use wechat_callback_cli::fixture::{self, Fixture, FixtureConfig, Outcome};
use wechat_callback_cli::simulate::{self, Addressing, Callback, Reply, defaults};
use wechat_callback_cli::wire::Client;

#[derive(Parser)]
#[command(
    name = "wxcb",
    version,
    about = "WeChat callback tool: replay fixtures, simulate WeChat against an endpoint, sign and encrypt requests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replays recorded fixtures (files or folders, recursively, `*.json`, skipping names that
    /// start with `_`) through the engine and compares each with its `expect`.
    Replay {
        /// Print one JSON object per case before the closing line.
        #[arg(long)]
        json: bool,
        /// Send each case over HTTP to this endpoint (`http://host:port/path`) instead of
        /// running it in-process; the endpoint must serve the fixtures' account.
        #[arg(long)]
        url: Option<String>,
        /// With --url: give each case a fresh timestamp and nonce and sign it again, for an
        /// endpoint with a live clock and a timestamp window.
        #[arg(long, requires = "url")]
        resign: bool,
        /// An accounts file (TOML): recorded fixtures name their account and carry no secret;
        /// their token and EncodingAESKey come from this file.
        #[arg(long = "config", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Fixture files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Plays WeChat's servers against a running endpoint: sends one callback, then verifies
    /// and decrypts the reply. Exit status 1 when the answer is wrong.
    Simulate(SimulateArgs),
    /// Builds a plaintext-mode request: `signature` over token, timestamp and nonce.
    Sign(SignArgs),
    /// Builds an encrypted request (safe or compatible mode, or WeCom): `Encrypt` and
    /// `msg_signature`.
    Encrypt(EncryptArgs),
    /// Lists recorded callbacks (fixtures written under WECHAT_RECORD_DIR), oldest first,
    /// filtered: one line each (time, account, kind, sender, outcome and status, text, file).
    Records(RecordsArgs),
    /// A ready callback server for a bot in any language: POSTs each callback as JSON to
    /// --forward and turns the JSON answer into the reply, within the deadline. Listens on
    /// WECHAT_ADDR (default 127.0.0.1:8080) at /wechat (the WECHAT_* account) or /wechat/{id}
    /// (each account of --config); WECHAT_DEADLINE_MS (default 4000). Stops on Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Args)]
struct RecordsArgs {
    /// Only this account (its id in the accounts file).
    #[arg(long)]
    account: Option<String>,
    /// Only from this sender (FromUserName: openid, WeCom userid).
    #[arg(long, value_name = "OPENID")]
    sender: Option<String>,
    /// Only this kind: message, event, info, echostr, a MsgType (text, image…) or an Event
    /// (subscribe, click…).
    #[arg(long)]
    kind: Option<String>,
    /// Only from this time on: Unix seconds or `YYYY-MM-DD[THH:MM[:SS]]` (UTC).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only this outcome: ok, error, or an error class (signature, decrypt, timestamp…).
    #[arg(long)]
    outcome: Option<String>,
    /// One JSON object per record instead of a line.
    #[arg(long)]
    json: bool,
    /// Folders or files of recordings.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// An accounts file (TOML): serve each of its accounts at /wechat/{id}. Without it, the one
    /// account of WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APPID and WECHAT_MODE.
    #[arg(long = "config", value_name = "FILE", env = "WECHAT_CONFIG")]
    config: Option<PathBuf>,
    /// The backend each callback is POSTed to (`http://host:port/path`).
    #[arg(long, value_name = "URL", env = "WECHAT_FORWARD_URL")]
    forward: String,
    /// Sign each forwarded body: header `X-Wechat-Callback-Signature: sha256=<hex HMAC-SHA256>`.
    #[arg(
        long,
        value_name = "SECRET",
        env = "WECHAT_FORWARD_SECRET",
        hide_env_values = true
    )]
    forward_secret: Option<String>,
}

/// Where the account comes from when not from flags: an accounts file.
#[derive(Args)]
struct AccountArgs {
    /// An accounts file (TOML, as the examples' `WECHAT_CONFIG`): the account's platform,
    /// token, EncodingAESKey, appid, mode, format and AgentID come from it (`${VAR}` from the
    /// environment) instead of flags.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The account's id in that file (its URL is `/wechat/{id}`); may be left out when the file
    /// has one account.
    #[arg(long, requires = "config", value_name = "ID")]
    account: Option<String>,
    /// Send as WeChat does to `{URL}/{ID}`: an open-platform authorizer's message (ID its
    /// appid, the console's `$APPID$`) or a WeCom suite's data callback (ID the authorizing
    /// corp's corpid, `$CORPID$`, which the message is then encrypted for).
    #[arg(long, value_name = "APPID|CORPID")]
    on_behalf_of: Option<String>,
    /// Without --config: mp | miniprogram | wecom | open_platform | wecom_suite (default mp;
    /// --wecom is wecom). --appid is then the receive id: appid, corpid, component appid or
    /// suite id (the provider's corpid for a suite's URL verification).
    #[arg(long, conflicts_with = "config")]
    platform: Option<String>,
    /// Without --config, miniprogram: xml | json, the console's 数据格式 (default xml).
    #[arg(long, conflicts_with = "config")]
    format: Option<String>,
}

/// An account resolved from a file or from flags: its configuration, its id in the file, and
/// the `$APPID$` / `$CORPID$` it is sent on behalf of.
struct Target {
    config: Config,
    id: Option<String>,
    on_behalf_of: Option<String>,
}

impl AccountArgs {
    /// The account: from `--config` / `--account`, or from `flags` (a fixture-style account
    /// built from the subcommand's own flags) when no file is given.
    fn resolve(&self, flags: impl FnOnce() -> FixtureConfig) -> Result<Target, String> {
        let (config, id) = match &self.config {
            Some(path) => {
                let (id, config) = account_from_file(path, self.account.as_deref())?;
                (config, Some(id))
            }
            None => (flags().to_config()?, None),
        };
        let on_behalf_of = self.on_behalf_of.clone();
        if on_behalf_of.is_some()
            && !matches!(
                config.platform(),
                Platform::OpenPlatform | Platform::WeComSuite
            )
        {
            return Err(format!(
                "--on-behalf-of is for open_platform and wecom_suite accounts, not {}",
                config.platform().name()
            ));
        }
        Ok(Target {
            config,
            id,
            on_behalf_of,
        })
    }

    /// The platform named by `--platform`, or `wecom` when `wecom` is set, else `mp`.
    fn platform(&self, wecom: bool) -> String {
        self.platform
            .clone()
            .unwrap_or_else(|| if wecom { "wecom" } else { "mp" }.to_owned())
    }
}

/// Reads the accounts file at `path` (its `${VAR}`s from the environment).
fn read_accounts(
    path: &std::path::Path,
) -> Result<Vec<wechat_callback::accounts::Account>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_accounts(&text, |name| std::env::var(name).ok())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the accounts file at `path` and takes the account `id` (or its only account).
fn account_from_file(path: &std::path::Path, id: Option<&str>) -> Result<(String, Config), String> {
    let accounts = read_accounts(path)?;
    let ids = || {
        accounts
            .iter()
            .map(|a| a.id().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = match id {
        Some(id) => accounts.iter().position(|a| a.id() == id).ok_or_else(|| {
            format!(
                "{}: no account {id:?} (the file has: {})",
                path.display(),
                ids()
            )
        })?,
        None if accounts.len() == 1 => 0,
        None => {
            return Err(format!(
                "{}: several accounts, choose one with --account: {}",
                path.display(),
                ids()
            ));
        }
    };
    let account = accounts.into_iter().nth(found).ok_or("no account")?;
    Ok((account.id().to_owned(), account.into_config()))
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["text", "event", "xml", "json", "info", "verify"])))]
struct SimulateArgs {
    /// The account's endpoint (default http://127.0.0.1:8080/wechat, with --account
    /// http://127.0.0.1:8080/wechat/{id}); --on-behalf-of appends `/{ID}`.
    #[arg(long, env = "WECHAT_URL")]
    url: Option<String>,
    #[command(flatten)]
    account: AccountArgs,
    /// The account's token.
    #[arg(long, env = "WECHAT_TOKEN", default_value = defaults::TOKEN, hide_env_values = true)]
    token: String,
    /// The 43-character EncodingAESKey; unset or empty = plaintext only.
    #[arg(long, env = "WECHAT_AES_KEY", hide_env_values = true)]
    aes_key: Option<String>,
    /// The receive id replies must be encrypted for: the appid (the corpid with --wecom).
    #[arg(long, env = "WECHAT_APPID", default_value = defaults::APPID)]
    appid: String,
    /// plain | safe | compatible (default: compatible with a key, else plain).
    #[arg(long, env = "WECHAT_MODE")]
    mode: Option<String>,
    /// A WeCom application (needs --aes-key; --appid is the corpid).
    #[arg(long, conflicts_with = "config")]
    wecom: bool,
    /// WeCom `AgentID`.
    #[arg(long, conflicts_with = "config")]
    agent_id: Option<String>,
    /// The user's openid (`FromUserName`).
    #[arg(long, default_value = defaults::OPENID)]
    openid: String,
    /// The account's original id (`ToUserName`).
    #[arg(long, default_value = defaults::TO_USER_NAME)]
    to: String,
    /// Send a text message with this `Content`.
    #[arg(long)]
    text: Option<String>,
    /// Send this event (`subscribe`, `CLICK`, …).
    #[arg(long)]
    event: Option<String>,
    /// With --event: its `EventKey`.
    #[arg(long, requires = "event")]
    event_key: Option<String>,
    /// Send this InfoType push (`component_verify_ticket`, `suite_ticket`, …): an open
    /// platform's authorization event or a WeCom suite's command callback; it must be answered
    /// `success`.
    #[arg(long, value_name = "INFO_TYPE")]
    info: Option<String>,
    /// Send this plaintext message XML (a file, or `-` for standard input).
    #[arg(long)]
    xml: Option<PathBuf>,
    /// Send this plaintext message JSON (a JSON mini-program; a file, or `-`).
    #[arg(long)]
    json: Option<PathBuf>,
    /// URL verification: GET with an `echostr` and check it is echoed.
    #[arg(long)]
    verify: bool,
}

#[derive(Args)]
struct RequestArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The account's token.
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    token: Option<String>,
    /// `timestamp`, Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<String>,
    /// `nonce` (default: random digits).
    #[arg(long)]
    nonce: Option<String>,
    /// `openid` added to the query (official accounts, mini-programs).
    #[arg(long)]
    openid: Option<String>,
    /// The message XML, a file or `-` for standard input (a POST).
    #[arg(long, conflicts_with_all = ["echostr", "json"])]
    xml: Option<PathBuf>,
    /// The message JSON (a JSON mini-program), a file or `-` (a POST).
    #[arg(long, conflicts_with = "echostr")]
    json: Option<PathBuf>,
    /// The `echostr` to verify (a GET, URL verification).
    #[arg(long)]
    echostr: Option<String>,
    /// Print a complete fixture with this name (expectations as the engine sees the request:
    /// review them before committing).
    #[arg(long)]
    fixture: Option<String>,
    /// With --fixture: the timestamp window in seconds.
    #[arg(long)]
    tolerance: Option<u64>,
}

#[derive(Args)]
struct SignArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// The appid (for --fixture).
    #[arg(long, default_value = "wx0000000000000000")]
    appid: String,
}

#[derive(Args)]
struct EncryptArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// The 43-character EncodingAESKey.
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    aes_key: Option<String>,
    /// The receive id: appid, corpid with --wecom, component appid (open_platform) or suite id
    /// (wecom_suite).
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    appid: Option<String>,
    /// WeCom: only `msg_signature`, encrypted `echostr`.
    #[arg(long, conflicts_with = "config")]
    wecom: bool,
    /// Compatible mode: keep the plaintext fields beside `Encrypt`.
    #[arg(long, conflicts_with_all = ["wecom", "config"])]
    compat: bool,
    /// WeCom `AgentID` for the envelope.
    #[arg(long, conflicts_with = "config")]
    agent_id: Option<String>,
    /// The 16 random prefix bytes as 32 hex digits (default: random), for reproducible output.
    #[arg(long)]
    random: Option<String>,
    /// Encrypt for this receive id instead of the account's (to record a wrong-appid case).
    #[arg(long)]
    encrypt_for: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay {
            json,
            url,
            resign,
            config,
            paths,
        } => return replay(json, url.as_deref(), resign, config.as_deref(), &paths),
        Command::Records(args) => return records(&args),
        Command::Simulate(args) => return run_simulate(&args),
        Command::Sign(args) => sign(args),
        Command::Encrypt(args) => encrypt(args),
        Command::Serve(args) => return serve(&args),
    };
    match result {
        Ok(output) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&output).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: &ServeArgs) -> ExitCode {
    wechat_callback_cli::settings::init_logging();
    let config = args.config.as_deref().filter(|p| !p.as_os_str().is_empty());
    match wechat_callback_cli::gateway::run(config, &args.forward, args.forward_secret.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("wxcb serve: {problem}");
            ExitCode::from(2)
        }
    }
}

fn records(args: &RecordsArgs) -> ExitCode {
    use wechat_callback_cli::record::{Record, parse_time};
    let bounds = (|| -> Result<_, String> {
        let since = args.since.as_deref().map(parse_time).transpose()?;
        let until = args.until.as_deref().map(parse_time).transpose()?;
        Ok((since, until, fixture::collect(&args.paths)?))
    })();
    let (since, until, files) = match bounds {
        Ok(bounds) => bounds,
        Err(problem) => {
            eprintln!("wxcb records: {problem}");
            return ExitCode::from(2);
        }
    };
    let mut records: Vec<Record> = files
        .iter()
        .filter_map(|path| Record::of(path, &Fixture::load(path).ok()?))
        .filter(|r| args.account.as_ref().is_none_or(|a| &r.account == a))
        .filter(|r| args.sender.is_none() || r.sender == args.sender)
        .filter(|r| args.kind.as_deref().is_none_or(|k| r.is_kind(k)))
        .filter(|r| since.is_none_or(|t| r.at >= t) && until.is_none_or(|t| r.at < t))
        .filter(|r| {
            args.outcome
                .as_deref()
                .is_none_or(|o| r.outcome == o || (o == "error" && r.outcome != "ok"))
        })
        .collect();
    records.sort_by(|a, b| (a.at, &a.path).cmp(&(b.at, &b.path)));
    for record in &records {
        if args.json {
            println!("{}", serde_json::to_string(record).unwrap_or_default());
        } else {
            println!("{}", record.line());
        }
    }
    eprintln!("{} records", records.len());
    ExitCode::SUCCESS
}

fn replay(
    json: bool,
    url: Option<&str>,
    resign: bool,
    config: Option<&std::path::Path>,
    paths: &[PathBuf],
) -> ExitCode {
    let accounts = match config.map(read_accounts).transpose() {
        Ok(accounts) => accounts,
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            return ExitCode::from(2);
        }
    };
    let files = match fixture::collect(paths) {
        Ok(files) => files,
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            return ExitCode::from(2);
        }
    };
    let client = Client::default();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let loaded = Fixture::load(file).and_then(|mut fixture| {
            if let Some(accounts) = &accounts {
                fixture
                    .config
                    .take_secrets_from(accounts)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            }
            Ok(fixture)
        });
        let outcome = match loaded {
            Ok(fixture) => match url {
                Some(url) => fixture::run_over_http(&fixture, url, &client, resign),
                None => fixture::run_fixture(&fixture),
            },
            Err(problem) => {
                let name = file.file_stem().and_then(|n| n.to_str()).unwrap_or("?");
                Outcome::unreadable(name, problem)
            }
        };
        if outcome.pass {
            passed += 1;
        } else {
            failed += 1;
        }
        if json {
            println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
        } else if outcome.pass {
            println!("ok   {}", outcome.name);
        } else {
            println!("FAIL {}: {}", outcome.name, outcome.problems.join("; "));
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

impl RequestArgs {
    /// The message named by `--xml` or `--json` (a file, or `-` for standard input).
    fn message(&self) -> Result<String, String> {
        read_message(
            self.xml
                .as_ref()
                .or(self.json.as_ref())
                .ok_or("give --xml FILE, --json FILE or --echostr TEXT")?,
        )
    }

    /// `--format json` implied by `--json`.
    fn format(&self) -> Option<String> {
        self.account
            .format
            .clone()
            .or_else(|| self.json.as_ref().map(|_| "json".to_owned()))
    }
}

fn read_message(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("stdin: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn common(request: &RequestArgs) -> (String, String) {
    let (fresh_timestamp, fresh_nonce) = fresh_timestamp_and_nonce();
    (
        request.timestamp.clone().unwrap_or(fresh_timestamp),
        request.nonce.clone().unwrap_or(fresh_nonce),
    )
}

/// A fixture-style account from flags (the clock is filled in when a fixture is written).
fn flag_account(
    platform: String,
    format: Option<String>,
    token: &str,
    encoding_aes_key: Option<String>,
    appid: &str,
    agent_id: Option<String>,
    mode: Option<String>,
) -> FixtureConfig {
    FixtureConfig {
        platform,
        format,
        authorizer_appid: None,
        account: None,
        token: token.to_owned(),
        encoding_aes_key,
        appid: appid.to_owned(),
        agent_id,
        mode,
        now: 0,
        timestamp_tolerance_s: None,
        max_body_bytes: None,
    }
}

fn sign(args: SignArgs) -> Result<Value, String> {
    let request = &args.request;
    let target = request.account.resolve(|| {
        flag_account(
            request.account.platform(false),
            request.format(),
            request.token.as_deref().unwrap_or_default(),
            None,
            &args.appid,
            None,
            Some("plain".into()),
        )
    })?;
    if !matches!(
        target.config.platform(),
        Platform::OfficialAccount | Platform::MiniProgram
    ) {
        return Err(format!(
            "sign builds plaintext requests; a {} account is always encrypted: use `wxcb encrypt`",
            target.config.platform().name()
        ));
    }
    let (timestamp, nonce) = common(request);
    let sender = Sender::plain(target.config.token().expose_secret());
    let built = match &request.echostr {
        Some(echostr) => sender.echostr(echostr, &timestamp, &nonce, &[0; 16]),
        None => sender.message(
            &request.message()?,
            &timestamp,
            &nonce,
            request.openid.as_deref(),
            &[0; 16],
        )?,
    };
    output(request, built, &target, &timestamp)
}

fn encrypt(args: EncryptArgs) -> Result<Value, String> {
    let request = &args.request;
    let target = request.account.resolve(|| {
        let platform = request.account.platform(args.wecom);
        let mode = matches!(platform.as_str(), "mp" | "miniprogram")
            .then(|| if args.compat { "compatible" } else { "safe" }.to_owned());
        flag_account(
            platform,
            request.format(),
            request.token.as_deref().unwrap_or_default(),
            args.aes_key.clone(),
            args.appid.as_deref().unwrap_or_default(),
            args.agent_id.clone(),
            mode,
        )
    })?;
    let mut sender = Sender::for_config(&target.config, target.on_behalf_of.as_deref())?;
    if !sender.encrypts() {
        return Err("this account is in plaintext mode: use `wxcb sign`".into());
    }
    if let Some(receive_id) = &args.encrypt_for {
        sender = sender.encrypting_for(receive_id)?;
    }
    let (timestamp, nonce) = common(request);
    let random: [u8; 16] = match &args.random {
        Some(hex) => parse_random(hex)?,
        None => rand::random(),
    };
    let built = match &request.echostr {
        Some(_) if !sender.is_wecom() => {
            return Err(
                "--echostr with encrypt is WeCom's URL verification: use a WeCom account (--wecom)"
                    .into(),
            );
        }
        Some(echostr) => sender.echostr(echostr, &timestamp, &nonce, &random),
        None => sender.message(
            &request.message()?,
            &timestamp,
            &nonce,
            request.openid.as_deref(),
            &random,
        )?,
    };
    output(request, built, &target, &timestamp)
}

fn parse_random(hex: &str) -> Result<[u8; 16], String> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return Err("--random takes 32 hex digits".into());
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let pair = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
        out[i] = u8::from_str_radix(pair, 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn output(
    request: &RequestArgs,
    built: Built,
    target: &Target,
    timestamp: &str,
) -> Result<Value, String> {
    let mut query_map = Map::new();
    for (key, value) in &built.query {
        query_map.insert((*key).to_owned(), Value::String(value.clone()));
    }
    let query_string = built.query_string();
    let Some(name) = &request.fixture else {
        return Ok(json!({
            "method": built.method,
            "query": query_map,
            "query_string": query_string,
            "body": built.body,
        }));
    };
    let mut config = FixtureConfig::from_config(
        &target.config,
        timestamp.parse().unwrap_or_else(|_| now()),
        target.on_behalf_of.as_deref(),
    );
    if request.tolerance.is_some() {
        config.timestamp_tolerance_s = request.tolerance;
    }
    let mut fixture = Fixture {
        name: name.clone(),
        source: Some("wxcb".into()),
        method: built.method.into(),
        query: query_map,
        query_string: Some(query_string),
        body: built.body,
        config,
        expect: Map::new(),
        recorded: None,
    };
    let engine = fixture.config.engine()?;
    let result = engine.process_on_behalf_of(
        &fixture.http_request("/wechat")?,
        fixture.config.authorizer_appid.as_deref(),
    );
    let outcome = Outcome::new(name, &result);
    let mut expect = Map::new();
    expect.insert("outcome".into(), json!(outcome.outcome));
    if outcome.outcome == "error" {
        expect.insert("error".into(), json!(outcome.error));
    } else {
        expect.insert("kind".into(), json!(outcome.kind));
        if outcome.kind == Some("echostr") {
            expect.insert("response_body".into(), json!(outcome.response_body));
        } else {
            expect.insert("msg_type".into(), json!(outcome.msg_type));
            expect.insert("event".into(), json!(outcome.event));
            expect.insert(
                "fields".into(),
                outcome.fields.clone().unwrap_or(Value::Null),
            );
            if let Ok(handled) = &result
                && let wechat_callback::Received::Message(message) = &handled.received
                && handled.response.body().as_ref() != b"success"
                && !handled.response.body().is_empty()
            {
                let mut reply = json!({
                    "encrypted": message.is_encrypted(),
                    "to": &*message.head().from_user_name,
                    "from": &*message.head().to_user_name,
                });
                if message.format() == wechat_callback::BodyFormat::Json {
                    reply["format"] = json!("json");
                }
                expect.insert("reply".into(), reply);
            }
        }
    }
    fixture.expect = expect;
    serde_json::to_value(&fixture).map_err(|e| e.to_string())
}

fn run_simulate(args: &SimulateArgs) -> ExitCode {
    let prepared = simulated_target(args).and_then(|target| {
        let sender = Sender::for_config(&target.config, target.on_behalf_of.as_deref())?;
        Ok((target, sender))
    });
    let (target, sender) = match prepared {
        Ok(prepared) => prepared,
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            return ExitCode::from(2);
        }
    };
    match simulate_once(args, &target, &sender) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            println!("FAIL {problem}");
            ExitCode::FAILURE
        }
    }
}

fn simulated_target(args: &SimulateArgs) -> Result<Target, String> {
    args.account.resolve(|| {
        let key = args.aes_key.clone().filter(|k| !k.is_empty());
        let platform = args.account.platform(args.wecom);
        let format = args
            .account
            .format
            .clone()
            .or_else(|| args.json.as_ref().map(|_| "json".to_owned()));
        let mode = args.mode.clone().filter(|m| !m.is_empty());
        flag_account(
            platform,
            format,
            &args.token,
            key,
            &args.appid,
            args.agent_id.clone(),
            mode,
        )
    })
}

/// The endpoint: `--url`, else the examples' address (`/wechat/{id}` for a file's account),
/// with `/{on_behalf_of}` appended as WeChat fills `$APPID$` / `$CORPID$`.
fn simulated_url(args: &SimulateArgs, target: &Target) -> String {
    let url = match (&args.url, &target.id) {
        (Some(url), _) => url.clone(),
        (None, Some(id)) => format!("{}/{id}", defaults::URL),
        (None, None) => defaults::URL.to_owned(),
    };
    match &target.on_behalf_of {
        Some(id) => format!("{}/{id}", url.trim_end_matches('/')),
        None => url,
    }
}

fn simulate_once(args: &SimulateArgs, target: &Target, sender: &Sender) -> Result<(), String> {
    let client = Client::default();
    let url = simulated_url(args, target);
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let random: [u8; 16] = rand::random();
    let send = |built: &Built| -> Result<http::Response<bytes::Bytes>, String> {
        println!(
            "-> {} {url}?{} ({} bytes)",
            built.method,
            built.query_string(),
            built.body.len()
        );
        let response = client.send(built.http_request(&url)?)?;
        println!("<- {} ({} bytes)", response.status(), response.body().len());
        Ok(response)
    };
    if args.verify {
        let echostr = (rand::random::<u64>() % 9_000_000_000_000_000_000
            + 1_000_000_000_000_000_000)
            .to_string();
        let response = send(&sender.echostr(&echostr, &timestamp, &nonce, &random))?;
        simulate::check_echo(&response, &echostr)?;
        println!("ok: echostr {echostr} echoed");
        return Ok(());
    }
    let callback = match (&args.text, &args.event, &args.info, &args.xml, &args.json) {
        (Some(text), ..) => Callback::Text(text.clone()),
        (_, Some(event), ..) => Callback::Event {
            event: event.clone(),
            event_key: args.event_key.clone(),
        },
        (_, _, Some(info_type), ..) => {
            if !matches!(
                sender.platform(),
                Platform::OpenPlatform | Platform::WeComSuite
            ) || target.on_behalf_of.is_some()
            {
                return Err(
                    "--info is an open platform's authorization event or a WeCom \
                     suite's command callback: an open_platform or wecom_suite account \
                     without --on-behalf-of"
                        .into(),
                );
            }
            Callback::Info(info_type.clone())
        }
        (_, _, _, Some(path), _) | (.., Some(path)) => Callback::Raw(read_message(path)?),
        _ => return Err("give --text, --event, --info, --xml, --json or --verify".into()),
    };
    let agent_id = target.config.agent_id().filter(|_| sender.is_wecom());
    let message = callback.render(
        sender,
        &Addressing {
            from_user_name: &args.openid,
            to_user_name: &args.to,
            create_time: now(),
            msg_id: rand::random::<u64>() >> 1,
            agent_id,
        },
    );
    let openid = (!callback.is_info()).then_some(args.openid.as_str());
    let built = sender.message(&message, &timestamp, &nonce, openid, &random)?;
    let response = send(&built)?;
    match simulate::read_reply(sender, &response, sender.encrypts())? {
        Reply::Empty => println!("ok: empty reply (`success`): WeChat shows the user nothing"),
        Reply::Message { .. } if callback.is_info() => {
            return Err("an InfoType push must be answered `success`".into());
        }
        Reply::Message { body, encrypted } => {
            if encrypted {
                println!(
                    "reply envelope: MsgSignature verified, decrypted for {}",
                    sender
                        .crypt()
                        .map_or("", |crypt| crypt.receive_id().as_str())
                );
            } else {
                println!("plaintext reply");
            }
            println!("{body}");
            let root = simulate::check_addressing(&body, &args.openid, &args.to)?;
            for (path, value) in simulate::flatten(root.root()) {
                println!("  {path}: {value}");
            }
            println!("ok: reply verified");
        }
    }
    Ok(())
}
