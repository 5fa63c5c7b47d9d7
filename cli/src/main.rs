//! `wxcb`: replay recorded WeChat callback fixtures (in-process or against a live endpoint),
//! simulate WeChat's servers against a running endpoint, and build signed (optionally
//! encrypted) callback requests as WeChat's servers send them.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use serde_json::{Map, Value, json};
use wechat_callback::Mode;
use wechat_callback_cli::build::{Built, Sender, fresh_timestamp_and_nonce, now};
use wechat_callback_cli::fixture::{self, Fixture, FixtureConfig, Outcome};
use wechat_callback_cli::simulate::{self, Callback, Reply, defaults};
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
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["text", "event", "xml", "verify"])))]
struct SimulateArgs {
    /// The endpoint.
    #[arg(long, env = "WECHAT_URL", default_value = defaults::URL)]
    url: String,
    /// The account's token.
    #[arg(long, env = "WECHAT_TOKEN", default_value = defaults::TOKEN, hide_env_values = true)]
    token: String,
    /// The 43-character EncodingAESKey; unset or empty = plaintext only.
    #[arg(long, env = "WECHAT_AES_KEY", hide_env_values = true)]
    aes_key: Option<String>,
    /// The appid (or corpid with --wecom) replies must be encrypted for.
    #[arg(long, env = "WECHAT_APPID", default_value = defaults::APPID)]
    appid: String,
    /// plain | safe | compatible (default: compatible with a key, else plain).
    #[arg(long, env = "WECHAT_MODE")]
    mode: Option<String>,
    /// A WeCom application (needs --aes-key; --appid is the corpid).
    #[arg(long)]
    wecom: bool,
    /// WeCom `AgentID`.
    #[arg(long)]
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
    /// Send this plaintext message XML (a file, or `-` for standard input).
    #[arg(long)]
    xml: Option<PathBuf>,
    /// URL verification: GET with an `echostr` and check it is echoed.
    #[arg(long)]
    verify: bool,
}

#[derive(Args)]
struct RequestArgs {
    /// The account's token.
    #[arg(long)]
    token: String,
    /// `timestamp`, Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<String>,
    /// `nonce` (default: random digits).
    #[arg(long)]
    nonce: Option<String>,
    /// `openid` added to the query (official accounts).
    #[arg(long)]
    openid: Option<String>,
    /// The message XML, a file or `-` for standard input (a POST).
    #[arg(long, conflicts_with = "echostr")]
    xml: Option<PathBuf>,
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
    #[arg(long)]
    aes_key: String,
    /// The receive id: appid, or corpid with --wecom.
    #[arg(long)]
    appid: String,
    /// WeCom: only `msg_signature`, encrypted `echostr`.
    #[arg(long)]
    wecom: bool,
    /// Compatible mode: keep the plaintext fields beside `Encrypt`.
    #[arg(long, conflicts_with = "wecom")]
    compat: bool,
    /// WeCom `AgentID` for the envelope.
    #[arg(long)]
    agent_id: Option<String>,
    /// The 16 random prefix bytes as 32 hex digits (default: random), for reproducible output.
    #[arg(long)]
    random: Option<String>,
    /// Encrypt for this receive id instead of --appid (to record a wrong-appid case).
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
            paths,
        } => return replay(json, url.as_deref(), resign, &paths),
        Command::Simulate(args) => return run_simulate(&args),
        Command::Sign(args) => sign(args),
        Command::Encrypt(args) => encrypt(args),
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

fn replay(json: bool, url: Option<&str>, resign: bool, paths: &[PathBuf]) -> ExitCode {
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
        let outcome = match Fixture::load(file) {
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
    /// The message XML named by `--xml` (a file, or `-` for standard input).
    fn message_xml(&self) -> Result<String, String> {
        read_xml(
            self.xml
                .as_ref()
                .ok_or("give --xml FILE or --echostr TEXT")?,
        )
    }
}

fn read_xml(path: &PathBuf) -> Result<String, String> {
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

fn sign(args: SignArgs) -> Result<Value, String> {
    let request = &args.request;
    let (timestamp, nonce) = common(request);
    let sender = Sender::plain(request.token.as_str());
    let built = match &request.echostr {
        Some(echostr) => sender.echostr(echostr, &timestamp, &nonce, &[0; 16]),
        None => sender.message(
            &request.message_xml()?,
            &timestamp,
            &nonce,
            request.openid.as_deref(),
            &[0; 16],
        ),
    };
    let config = FixtureConfig {
        platform: "mp".into(),
        format: None,
        token: request.token.clone(),
        encoding_aes_key: None,
        appid: args.appid.clone(),
        agent_id: None,
        mode: Some("plain".into()),
        now: timestamp.parse().unwrap_or_else(|_| now()),
        timestamp_tolerance_s: request.tolerance,
        max_body_bytes: None,
    };
    output(request, built, config)
}

fn encrypt(args: EncryptArgs) -> Result<Value, String> {
    let request = &args.request;
    let (timestamp, nonce) = common(request);
    let receive_id = args
        .encrypt_for
        .clone()
        .unwrap_or_else(|| args.appid.clone());
    let sender = if args.wecom {
        Sender::wecom(
            request.token.as_str(),
            &args.aes_key,
            receive_id,
            args.agent_id.clone(),
        )?
    } else {
        let mode = if args.compat {
            Mode::Compatible
        } else {
            Mode::Safe
        };
        Sender::official_account(request.token.as_str(), &args.aes_key, receive_id, mode)?
    };
    let random: [u8; 16] = match &args.random {
        Some(hex) => parse_random(hex)?,
        None => rand::random(),
    };
    let built = match &request.echostr {
        Some(_) if !args.wecom => {
            return Err("--echostr with encrypt is WeCom's URL verification: add --wecom".into());
        }
        Some(echostr) => sender.echostr(echostr, &timestamp, &nonce, &random),
        None => sender.message(
            &request.message_xml()?,
            &timestamp,
            &nonce,
            request.openid.as_deref(),
            &random,
        ),
    };
    let config = FixtureConfig {
        platform: if args.wecom { "wecom" } else { "mp" }.into(),
        format: None,
        token: request.token.clone(),
        encoding_aes_key: Some(args.aes_key.clone()),
        appid: args.appid.clone(),
        agent_id: args.agent_id.clone(),
        mode: (!args.wecom).then(|| if args.compat { "compatible" } else { "safe" }.into()),
        now: timestamp.parse().unwrap_or_else(|_| now()),
        timestamp_tolerance_s: request.tolerance,
        max_body_bytes: None,
    };
    output(request, built, config)
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

fn output(request: &RequestArgs, built: Built, config: FixtureConfig) -> Result<Value, String> {
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
    let mut fixture = Fixture {
        name: name.clone(),
        source: Some("wxcb".into()),
        method: built.method.into(),
        query: query_map,
        query_string: Some(query_string),
        body: built.body,
        config,
        expect: Map::new(),
    };
    let engine = fixture.config.engine()?;
    let result = engine.process(&fixture.http_request("/wechat")?);
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
            {
                expect.insert(
                    "reply".into(),
                    json!({
                        "encrypted": message.is_encrypted(),
                        "to": &*message.head().from_user_name,
                        "from": &*message.head().to_user_name,
                    }),
                );
            }
        }
    }
    fixture.expect = expect;
    serde_json::to_value(&fixture).map_err(|e| e.to_string())
}

fn run_simulate(args: &SimulateArgs) -> ExitCode {
    let sender = match simulated_sender(args) {
        Ok(sender) => sender,
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            return ExitCode::from(2);
        }
    };
    match simulate_once(args, &sender) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            println!("FAIL {problem}");
            ExitCode::FAILURE
        }
    }
}

fn simulated_sender(args: &SimulateArgs) -> Result<Sender, String> {
    let key = args.aes_key.as_deref().filter(|k| !k.is_empty());
    let mode = match args.mode.as_deref().filter(|m| !m.is_empty()) {
        Some(text) => text.parse().map_err(|_| format!("unknown mode {text:?}"))?,
        None if key.is_some() => Mode::Compatible,
        None => Mode::Plain,
    };
    match (key, args.wecom) {
        (Some(key), true) => Sender::wecom(
            args.token.as_str(),
            key,
            args.appid.as_str(),
            args.agent_id.clone(),
        ),
        (None, true) => Err("--wecom needs --aes-key (or WECHAT_AES_KEY)".into()),
        (None, false) if mode != Mode::Plain => {
            Err(format!("{mode:?} mode needs --aes-key (or WECHAT_AES_KEY)"))
        }
        (None, false) => Ok(Sender::plain(args.token.as_str())),
        (Some(key), false) => {
            Sender::official_account(args.token.as_str(), key, args.appid.as_str(), mode)
        }
    }
}

fn simulate_once(args: &SimulateArgs, sender: &Sender) -> Result<(), String> {
    let client = Client::default();
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let random: [u8; 16] = rand::random();
    let send = |built: &Built| -> Result<http::Response<bytes::Bytes>, String> {
        println!(
            "-> {} {}?{} ({} bytes)",
            built.method,
            args.url,
            built.query_string(),
            built.body.len()
        );
        let response = client.send(built.http_request(&args.url)?)?;
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
    let callback = match (&args.text, &args.event, &args.xml) {
        (Some(text), _, _) => Callback::Text(text.clone()),
        (_, Some(event), _) => Callback::Event {
            event: event.clone(),
            event_key: args.event_key.clone(),
        },
        (_, _, Some(path)) => Callback::Xml(read_xml(path)?),
        _ => return Err("give --text, --event, --xml or --verify".into()),
    };
    let xml = callback.to_xml(
        &args.openid,
        &args.to,
        now(),
        rand::random::<u64>() >> 1,
        args.agent_id.as_deref().filter(|_| sender.is_wecom()),
    );
    let built = sender.message(&xml, &timestamp, &nonce, Some(&args.openid), &random);
    let response = send(&built)?;
    match simulate::read_reply(sender, &response, sender.encrypts())? {
        Reply::Empty => println!("ok: empty reply (`success`): WeChat shows the user nothing"),
        Reply::Xml { xml, encrypted } => {
            if encrypted {
                println!(
                    "reply envelope: MsgSignature verified, decrypted for {}",
                    args.appid
                );
            } else {
                println!("plaintext reply");
            }
            println!("{xml}");
            let root = simulate::check_addressing(&xml, &args.openid, &args.to)?;
            for (path, value) in simulate::flatten(root.root()) {
                println!("  {path}: {value}");
            }
            println!("ok: reply verified");
        }
    }
    Ok(())
}
