//! `wxcb-corpus`: our engine over the reference pipeline's own corpus, timed the way the
//! reference times itself, so the two figures compare like for like.
//!
//! `../shared/reference-pipeline/run.sh bench` makes `corpus/corpus.tsv` (1,000 text-message
//! callbacks, 10..2,000 characters of CJK, emoji and `<>&`, one per line:
//! `timestamp nonce signature msg_signature b64(safe-mode body) b64(plaintext body)`, for the
//! account in its `config.py`) and loops its pipeline over it. This binary reads the same file,
//! builds one engine for that account (an echo handler for text, deduplication off as the
//! reference keeps none, the clock inside every message's 300 s window), checks that every
//! reply carries the request's text back (decrypted and parsed), and then runs the same loops:
//! `runs` timed runs of `passes` passes over the corpus per mode, printing each mode's median
//! in the reference's own line format (`msg/s`, `ns/msg` = nanoseconds per message). Without
//! `--mode` it also times, the same way, the UTF-8 check of each plaintext body alone: the
//! one check the reference skips that every conforming reader must make.
//!
//! `wxcb-corpus [--corpus FILE] [--runs N] [--passes N] [--mode safe|plain]`; `bench/reference/run.sh` runs it
//! beside the reference in one sitting and prints the ratios.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::message::{Document, Message, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Callback, Config, EncodingAesKey, Engine, Mode, ReceiveId, Router, Token};

/// The reference corpus's account (`../shared/reference-pipeline/config.py`).
const TOKEN: &str = "benchToken2024";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const APPID: &str = "wx5823bf96d3bd56c7";

#[derive(Parser)]
struct Args {
    /// The reference's corpus file.
    #[arg(long, default_value = "/tmp/wx-reference/corpus/corpus.tsv")]
    corpus: PathBuf,
    /// Timed runs per mode (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Passes over the corpus per run.
    #[arg(long, default_value_t = 40)]
    passes: usize,
    /// Run one mode only (`safe` or `plain`), say under a profiler.
    #[arg(long)]
    mode: Option<String>,
}

/// One corpus line as the two requests WeChat would send.
struct Entry {
    timestamp: u64,
    safe_uri: String,
    safe_body: Bytes,
    plain_uri: String,
    plain_body: Bytes,
}

fn request(uri: &str, body: &Bytes) -> http::Request<Bytes> {
    // As hyper hands it over: the URI and body are views of shared buffers.
    let shared = bytes::BytesMut::from(uri.as_bytes()).split().freeze();
    let uri = http::Uri::from_maybe_shared(shared).expect("request URI");
    http::Request::post(uri)
        .body(body.clone())
        .expect("request")
}

fn load(path: &PathBuf) -> Result<Vec<Entry>, Box<dyn std::error::Error>> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (make it with ../shared/reference-pipeline/run.sh bench)",
            path.display()
        )
    })?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let [ts, nonce, signature, msg_signature, safe, plain] = f[..] else {
            return Err(format!("{}:{}: expected 6 fields", path.display(), n + 1).into());
        };
        entries.push(Entry {
            timestamp: ts.parse()?,
            safe_uri: format!(
                "/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&openid=o&encrypt_type=aes&msg_signature={msg_signature}"
            ),
            safe_body: Bytes::from(b64.decode(safe)?),
            plain_uri: format!("/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&openid=o"),
            plain_body: Bytes::from(b64.decode(plain)?),
        });
    }
    if entries.is_empty() {
        return Err(format!("{}: empty corpus", path.display()).into());
    }
    Ok(entries)
}

fn engine(mode: Mode, now: u64, tolerance: u64) -> Engine {
    let mut config = Config::official_account(Token::new(TOKEN).unwrap(), APPID)
        .with_timestamp_tolerance(Duration::from_secs(tolerance));
    if mode == Mode::Safe {
        config = config
            .with_encoding_aes_key(EncodingAesKey::new(AES_KEY).unwrap())
            .with_mode(Mode::Safe);
    }
    let router = Router::new().on_text(|text: &Text| Reply::text(text.content.clone()));
    // The corpus repeats every pass; the reference keeps no dedup store either.
    Engine::new(config, router)
        .unwrap()
        .with_clock(move || now)
        .without_dedup()
}

fn text_of(xml: &str) -> Result<String, Box<dyn std::error::Error>> {
    match Callback::from_xml(xml)?.message() {
        Message::Text(text) => Ok(text.content.to_string()),
        other => Err(format!("not a text message: {other:?}").into()),
    }
}

/// Every reply, decrypted where it is encrypted, carries the request's text back.
fn check(engine: &Engine, entries: &[Entry], safe: bool) -> Result<(), Box<dyn std::error::Error>> {
    let crypt = MsgCrypt::new(
        &EncodingAesKey::new(AES_KEY)?,
        ReceiveId::AppId(APPID.into()),
    );
    for (n, e) in entries.iter().enumerate() {
        let (uri, body) = if safe {
            (&e.safe_uri, &e.safe_body)
        } else {
            (&e.plain_uri, &e.plain_body)
        };
        let response = engine.handle(request(uri, body));
        let reply = std::str::from_utf8(response.body())?;
        if response.status() != 200 {
            return Err(format!("message {n}: {} {reply}", response.status()).into());
        }
        let reply_xml = if safe {
            let envelope = Document::parse(reply)?;
            let encrypt = envelope
                .child_text("Encrypt")
                .ok_or("no Encrypt in reply")?;
            crypt.decrypt(encrypt)?
        } else {
            reply.to_owned()
        };
        let sent = text_of(std::str::from_utf8(&e.plain_body)?)?;
        if text_of(&reply_xml)? != sent {
            return Err(format!("message {n}: the reply does not echo the text").into());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let entries = load(&args.corpus)?;
    let first = entries.iter().map(|e| e.timestamp).min().unwrap_or(0);
    let last = entries.iter().map(|e| e.timestamp).max().unwrap_or(0);
    let (now, tolerance) = (first / 2 + last / 2, (last - first) / 2 + 2);
    let mut sink = 0usize;
    for (label, mode) in [("ours safe (aes)", Mode::Safe), ("ours plain", Mode::Plain)] {
        let safe = mode == Mode::Safe;
        if args
            .mode
            .as_deref()
            .is_some_and(|m| m != if safe { "safe" } else { "plain" })
        {
            continue;
        }
        let engine = engine(mode, now, tolerance);
        check(&engine, &entries, safe)?;
        let mut rates = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            // Requests are built before the clock starts, as hyper would hand them over.
            let requests: Vec<_> = (0..args.passes)
                .flat_map(|_| {
                    entries.iter().map(|e| {
                        if safe {
                            request(&e.safe_uri, &e.safe_body)
                        } else {
                            request(&e.plain_uri, &e.plain_body)
                        }
                    })
                })
                .collect();
            let count = requests.len();
            let start = Instant::now();
            for r in requests {
                sink += engine.handle(r).body().len();
            }
            rates.push(count as f64 / start.elapsed().as_secs_f64());
        }
        report(label, &rates);
    }
    if args.mode.is_none() {
        // The one check the reference skips that no conforming reader may: that the plaintext
        // body is UTF-8 (ours checks it with simdutf8, as here). Timed alone, so the plaintext
        // ratio can be read against the reference plus it.
        let mut rates = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            let start = Instant::now();
            for _ in 0..args.passes {
                for e in &entries {
                    sink += usize::from(simdutf8::basic::from_utf8(&e.plain_body).is_ok());
                }
            }
            rates.push((args.passes * entries.len()) as f64 / start.elapsed().as_secs_f64());
        }
        report("utf-8 check (plain)", &rates);
    }
    eprintln!("(sink {sink}) {} messages checked per mode", entries.len());
    Ok(())
}

/// Prints the median of `rates` (messages per second) in the reference's own line format.
fn report(label: &str, rates: &[f64]) {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "{label:<22} median {median:>9.0} msg/s {:>9.0} ns/msg  (runs: {})",
        1e9 / median,
        runs.join(" ")
    );
}
