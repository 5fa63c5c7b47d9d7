//! `wxcb`: replay recorded WeChat callback fixtures, and build signed (optionally encrypted)
//! callback requests as WeChat's servers send them.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value, json};
use wechat_callback::signature::compute_hex;
use wechat_callback::{EncodingAesKey, MsgCrypt, ReceiveId};

mod fixture;

use fixture::{Fixture, FixtureConfig, Outcome};

#[derive(Parser)]
#[command(
    name = "wxcb",
    version,
    about = "WeChat callback tool: replay fixtures, sign and encrypt requests"
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
        /// Fixture files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Builds a plaintext-mode request: `signature` over token, timestamp and nonce.
    Sign(SignArgs),
    /// Builds an encrypted request (safe or compatible mode, or WeCom): `Encrypt` and
    /// `msg_signature`.
    Encrypt(EncryptArgs),
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
        Command::Replay { json, paths } => return replay(json, &paths),
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

fn replay(json: bool, paths: &[PathBuf]) -> ExitCode {
    let files = match fixture::collect(paths) {
        Ok(files) => files,
        Err(problem) => {
            eprintln!("wxcb: {problem}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let outcome = match Fixture::load(file) {
            Ok(fixture) => fixture::run_fixture(&fixture),
            Err(problem) => {
                let name = file.file_stem().and_then(|n| n.to_str()).unwrap_or("?");
                let mut outcome =
                    Outcome::new(name, &Err(wechat_callback::ErrorKind::BadRequest.into()));
                outcome.pass = false;
                outcome.problems.push(problem);
                outcome
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

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

struct Built {
    method: &'static str,
    query: Vec<(&'static str, String)>,
    body: String,
}

impl Built {
    /// URL verification: a GET with no body.
    fn get(query: Vec<(&'static str, String)>) -> Self {
        Self {
            method: "GET",
            query,
            body: String::new(),
        }
    }

    /// A message: a POST with `body`.
    fn post(query: Vec<(&'static str, String)>, body: String) -> Self {
        Self {
            method: "POST",
            query,
            body,
        }
    }
}

fn common(request: &RequestArgs) -> (String, String) {
    let timestamp = request
        .timestamp
        .clone()
        .unwrap_or_else(|| now().to_string());
    let nonce = request
        .nonce
        .clone()
        .unwrap_or_else(|| (rand::random::<u32>() % 1_000_000_000 + 1_000_000_000).to_string());
    (timestamp, nonce)
}

fn sign(args: SignArgs) -> Result<Value, String> {
    let request = &args.request;
    let (timestamp, nonce) = common(request);
    let signature = compute_hex(&[&request.token, &timestamp, &nonce]);
    let mut query = vec![
        ("signature", signature),
        ("timestamp", timestamp.clone()),
        ("nonce", nonce),
    ];
    let built = if let Some(echostr) = &request.echostr {
        query.push(("echostr", echostr.clone()));
        Built::get(query)
    } else {
        let xml = request.message_xml()?;
        if let Some(openid) = &request.openid {
            query.push(("openid", openid.clone()));
        }
        Built::post(query, xml)
    };
    let config = FixtureConfig {
        platform: "mp".into(),
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
    let key = EncodingAesKey::new(&args.aes_key).map_err(|e| e.to_string())?;
    let receive_id = args
        .encrypt_for
        .clone()
        .unwrap_or_else(|| args.appid.clone());
    let crypt = MsgCrypt::new(
        &key,
        if args.wecom {
            ReceiveId::CorpId(receive_id)
        } else {
            ReceiveId::AppId(receive_id)
        },
    );
    let random: [u8; 16] = match &args.random {
        Some(hex) => parse_random(hex)?,
        None => rand::random(),
    };
    let seal = |text: &str| crypt.encrypt_with_random(text, &random);
    let mut query = Vec::new();
    let built = if let Some(echostr) = &request.echostr {
        let encrypted = seal(echostr);
        if !args.wecom {
            return Err("--echostr with encrypt is WeCom's URL verification: add --wecom".into());
        }
        query.push((
            "msg_signature",
            compute_hex(&[&request.token, &timestamp, &nonce, &encrypted]),
        ));
        query.push(("timestamp", timestamp.clone()));
        query.push(("nonce", nonce.clone()));
        query.push(("echostr", encrypted));
        Built::get(query)
    } else {
        let xml = request.message_xml()?;
        let encrypted = seal(&xml);
        let to_user_name = wechat_callback::xml::parse(&xml)
            .ok()
            .and_then(|root| root.child_text("ToUserName").map(str::to_owned))
            .unwrap_or_default();
        let mut body = String::from("<xml>");
        if args.compat {
            // The plaintext fields stay beside Encrypt.
            let inner = xml.trim();
            let inner = inner.strip_prefix("<xml>").unwrap_or(inner);
            let inner = inner.strip_suffix("</xml>").unwrap_or(inner);
            body.push_str(inner);
        } else {
            wechat_callback::xml::push_cdata_element(&mut body, "ToUserName", &to_user_name);
        }
        wechat_callback::xml::push_cdata_element(&mut body, "Encrypt", &encrypted);
        if let Some(agent_id) = &args.agent_id {
            wechat_callback::xml::push_cdata_element(&mut body, "AgentID", agent_id);
        }
        body.push_str("</xml>");
        let msg_signature = compute_hex(&[&request.token, &timestamp, &nonce, &encrypted]);
        if !args.wecom {
            query.push((
                "signature",
                compute_hex(&[&request.token, &timestamp, &nonce]),
            ));
        }
        query.push(("timestamp", timestamp.clone()));
        query.push(("nonce", nonce.clone()));
        if !args.wecom {
            if let Some(openid) = &request.openid {
                query.push(("openid", openid.clone()));
            }
            query.push(("encrypt_type", "aes".into()));
        }
        query.push(("msg_signature", msg_signature));
        Built::post(query, body)
    };
    let config = FixtureConfig {
        platform: if args.wecom { "wecom" } else { "mp" }.into(),
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
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in &built.query {
        query_map.insert((*key).to_owned(), Value::String(value.clone()));
        serializer.append_pair(key, value);
    }
    let query_string = serializer.finish();
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
                        "to": message.head().from_user_name,
                        "from": message.head().to_user_name,
                    }),
                );
            }
        }
    }
    fixture.expect = expect;
    serde_json::to_value(&fixture).map_err(|e| e.to_string())
}
