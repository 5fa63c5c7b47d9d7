//! `wxcb-bench`: the engine side of `bench/compare/compare.py`.
//!
//! Reads a request file (JSON lines `{"query": "...", "body": "..."}`, as the script writes
//! them), builds one engine (official account, an echo handler for text), and times
//! `Engine::handle` over every request, `--reps` times, in one process. Prints one JSON line:
//! `{"ns_per_message": f64, "messages": n}` (wall-clock nanoseconds per message, requests
//! built before the clock starts). With `--replies FILE` it first writes each request's
//! response body (one JSON string per line) so the script can check them with wechatpy.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};

#[derive(Parser)]
struct Args {
    /// The request file (JSON lines with `query` and `body`).
    #[arg(long)]
    requests: PathBuf,
    /// `plain` or `safe`.
    #[arg(long)]
    mode: String,
    #[arg(long)]
    token: String,
    #[arg(long)]
    aes_key: String,
    #[arg(long)]
    appid: String,
    /// The engine's fixed clock, Unix seconds (the requests' timestamp).
    #[arg(long)]
    timestamp: u64,
    /// How many times each request is handled in the timed loop.
    #[arg(long, default_value_t = 20)]
    reps: usize,
    /// Write every response body here before timing.
    #[arg(long)]
    replies: Option<PathBuf>,
}

struct Wire {
    uri: String,
    body: Bytes,
}

impl Wire {
    /// The request as hyper hands it over: URI and body are views of shared buffers.
    fn request(&self) -> http::Request<Bytes> {
        let shared = bytes::BytesMut::from(self.uri.as_bytes()).split().freeze();
        let uri = http::Uri::from_maybe_shared(shared).expect("request URI");
        http::Request::post(uri)
            .body(self.body.clone())
            .expect("request")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut config =
        Config::official_account(Token::new(args.token.as_str())?, args.appid.as_str());
    if args.mode == "safe" {
        config = config
            .with_encoding_aes_key(EncodingAesKey::new(args.aes_key.as_str())?)
            .with_mode(Mode::Safe);
    }
    let router = Router::new().on_text(|text: &Text| Reply::text(text.content.clone()));
    let now = args.timestamp;
    // The corpus repeats its messages every round: without this every round after the
    // first would be answered from the dedup store (wechatpy keeps none).
    let engine = Engine::new(config, router)?
        .with_clock(move || now)
        .without_dedup();

    let file = std::io::BufReader::new(std::fs::File::open(&args.requests)?);
    let mut wires = Vec::new();
    for line in file.lines() {
        let value: serde_json::Value = serde_json::from_str(&line?)?;
        let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
        wires.push(Wire {
            uri: format!("/wechat?{}", field("query")),
            body: Bytes::from(field("body")),
        });
    }

    if let Some(path) = &args.replies {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for wire in &wires {
            let response = engine.handle(wire.request());
            let body = String::from_utf8_lossy(response.body());
            if response.status() != 200 {
                return Err(format!("engine answered {}: {body}", response.status()).into());
            }
            writeln!(out, "{}", serde_json::Value::String(body.into_owned()))?;
        }
    }

    let requests: Vec<_> = (0..args.reps)
        .flat_map(|_| wires.iter().map(Wire::request))
        .collect();
    let count = requests.len();
    let start = Instant::now();
    for request in requests {
        std::hint::black_box(engine.handle(request));
    }
    let elapsed = start.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "ns_per_message": elapsed.as_nanos() as f64 / count as f64,
            "messages": wires.len(),
        })
    );
    Ok(())
}
