//! `wxcb-serve`: the server side of `bench/http/run.sh`.
//!
//! Serves the echo example's handlers in safe mode with the demo account (token
//! `wxcbDemoToken`, the demo EncodingAESKey, appid `wx5e7c1d9a0b3f2468`; 300 s timestamp
//! window) on one worker thread, in one of these ways:
//! - `bare`: hyper's `service_fn` collecting the body and calling `Engine::handle` inline
//!   with the echo example's synchronous handlers, none of the adapter (the baseline);
//! - `adapter`: `wechat_callback_hyper::serve`, the echo example's handlers inline (the
//!   default): `hyper-echo` without deduplication;
//! - `adapter-blocking`: the adapter with the router marked `blocking_handlers()`, so each
//!   handler call goes to tokio's blocking pool;
//! - `hyper-async`, `actix-async`, `warp-async`: each adapter with an async handler
//!   (`async fn(Text) -> Reply`, the text echoed) instead of the synchronous one.
//!
//! Deduplication is off in all of them: wrk sends the same message over and over, and with it
//! on every request after the first would be a retry answered from the cache.
//!
//! With `--lua FILE` it first writes a wrk script that POSTs one encrypted ~1 KB text
//! message, signed with the current time; with `--message FILE` as well, that message is the
//! plaintext XML in FILE instead (`bench/http` passes the reference pipeline's own, so both
//! sides decrypt, parse, answer and encrypt the same text).

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use echo_support::{DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN, PATH, TIMESTAMP_TOLERANCE_SECS};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use warp::Filter as _;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Token};
use wechat_callback_cli::build::{Sender, fresh_timestamp_and_nonce};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:18090")]
    addr: std::net::SocketAddr,
    /// `bare`, `adapter`, `adapter-blocking`, `hyper-async`, `actix-async` or `warp-async`.
    #[arg(long, required_unless_present = "write_only")]
    server: Option<String>,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the wrk request script here first.
    #[arg(long)]
    lua: Option<PathBuf>,
    /// The plaintext XML message the script sends (encrypted for the demo account), instead
    /// of the built-in ~1 KB text.
    #[arg(long, requires = "lua")]
    message: Option<PathBuf>,
    /// Only write the script (`--lua`), serve nothing.
    #[arg(long, requires = "lua")]
    write_only: bool,
}

/// The built-in message: a text of about 1 KB.
fn default_message() -> String {
    let content = "微信回调 load test, <b>&amp; ok 😀 ".repeat(24);
    let mut xml = String::from("<xml>");
    for (name, text) in [
        ("ToUserName", "gh_wxcbdemo0001"),
        ("FromUserName", "oWxcbLoadUser000000000000001"),
    ] {
        wechat_callback::reply::push_cdata_element(&mut xml, name, text);
    }
    xml.push_str("<CreateTime>1763700000</CreateTime>");
    wechat_callback::reply::push_cdata_element(&mut xml, "MsgType", "text");
    wechat_callback::reply::push_cdata_element(&mut xml, "Content", &content);
    xml.push_str("<MsgId>23912345678901234</MsgId></xml>");
    xml
}

/// A wrk script POSTing `xml` as one safe-mode message for the demo account.
fn wrk_script(xml: &str) -> String {
    let sender = Sender::official_account(DEMO_TOKEN, DEMO_AES_KEY, DEMO_APPID, Mode::Safe)
        .expect("demo key");
    let (timestamp, nonce) = fresh_timestamp_and_nonce();
    let built = sender
        .message(
            xml,
            &timestamp,
            &nonce,
            Some("oWxcbLoadUser000000000000001"),
            &[9; 16],
        )
        .expect("an XML message");
    format!(
        "wrk.method = \"POST\"\nwrk.path = \"{PATH}?{}\"\n\
         wrk.headers[\"Content-Type\"] = \"text/xml\"\nwrk.body = [===[{}]===]\n",
        built.query_string(),
        built.body
    )
}

fn engine() -> Engine {
    engine_with(echo_support::router())
}

/// The echo handler as an async function: what `*-async` servers run.
async fn echo(text: Text) -> Reply {
    Reply::text(text.content)
}

fn async_engine() -> Engine {
    engine_with(wechat_callback::Router::new().on_text(echo))
}

fn engine_with(router: wechat_callback::Router) -> Engine {
    let config = Config::official_account(Token::new(DEMO_TOKEN).expect("token"), DEMO_APPID)
        .with_encoding_aes_key(EncodingAesKey::new(DEMO_AES_KEY).expect("demo key"))
        .with_mode(Mode::Safe)
        .with_timestamp_tolerance(std::time::Duration::from_secs(TIMESTAMP_TOLERANCE_SECS));
    // wrk sends one request over and over: without this it would measure the dedup store's
    // cached answers, not the pipeline.
    Engine::new(config, router).expect("engine").without_dedup()
}

async fn bare(listener: tokio::net::TcpListener, engine: Arc<Engine>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let engine = engine.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let engine = engine.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = match body.collect().await {
                        Ok(collected) => collected.to_bytes(),
                        Err(_) => bytes::Bytes::new(),
                    };
                    let response = engine.handle(http::Request::from_parts(parts, body));
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(path) = &args.lua {
        let xml = match &args.message {
            Some(message) => std::fs::read_to_string(message)?,
            None => default_message(),
        };
        std::fs::write(path, wrk_script(&xml))?;
    }
    let Some(server) = args.server.as_deref() else {
        return Ok(());
    };
    if server == "actix-async" {
        let mount = wechat_callback_actix::configure(PATH, async_engine());
        let actix =
            actix_web::HttpServer::new(move || actix_web::App::new().configure(mount.clone()));
        let actix = wechat_callback_actix::with_limits(
            actix,
            &wechat_callback_actix::Limits::default(),
            args.workers,
        )
        .bind(args.addr)?
        .run();
        println!("wxcb-serve: {server} on http://{}{PATH}", args.addr);
        actix_web::rt::System::new().block_on(actix)?;
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        println!("wxcb-serve: {server} on http://{}{PATH}", args.addr);
        match server {
            "bare" => bare(listener, Arc::new(engine())).await,
            "adapter" => {
                let service = wechat_callback_hyper::service(engine());
                wechat_callback_hyper::serve(listener, service.at(PATH)).await
            }
            "adapter-blocking" => {
                let router = echo_support::router().blocking_handlers();
                let service = wechat_callback_hyper::service(engine_with(router));
                wechat_callback_hyper::serve(listener, service.at(PATH)).await
            }
            "hyper-async" => {
                let service = wechat_callback_hyper::service(async_engine());
                wechat_callback_hyper::serve(listener, service.at(PATH)).await
            }
            "warp-async" => {
                let routes = warp::path("wechat")
                    .and(warp::path::end())
                    .and(wechat_callback_warp::filter(async_engine()));
                wechat_callback_warp::serve(listener, warp::service(routes)).await
            }
            other => Err(std::io::Error::other(format!("unknown --server {other}"))),
        }
    })?;
    Ok(())
}
