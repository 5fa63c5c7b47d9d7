//! `wxcb-load`: drives a running safe-mode callback server (the hyper example, by
//! `bench/load/run.sh`) for a bounded time with a mix of fresh messages, WeChat-style retries
//! and bad requests, from several threads over keep-alive connections, and checks every
//! answer:
//!
//! - a fresh text message must come back as a verified, decrypted echo addressed to the sender;
//! - a retry (same `MsgId`, new nonce and encryption) must get the first reply's XML exactly,
//!   including when its content was changed (so a second handler run would show);
//! - each bad request must get its status: bad `msg_signature` and stale `timestamp` 401,
//!   another appid 403, bad base64 and broken decrypted XML 400, PUT 405, an oversized body 413.
//!
//! With `--pid` it samples the server's resident memory (`VmRSS`) every 5 s and reports it
//! after warm-up and at the end. Exits 1 on any wrong answer or when memory grew after
//! warm-up by more than 10 % (and 4 MiB). Sends only to the given URL (127.0.0.1 by default).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use wechat_callback::Mode;
use wechat_callback::crypto;
use wechat_callback_cli::build::{Sender, now};
use wechat_callback_cli::simulate::{self, Addressing, Callback, Reply};
use wechat_callback_cli::wire::Client;

#[derive(Parser)]
#[command(
    name = "wxcb-load",
    about = "Load and correctness run against a safe-mode callback server"
)]
struct Args {
    /// The callback URL (keep it on 127.0.0.1).
    #[arg(long, default_value = "http://127.0.0.1:18091/wechat")]
    url: String,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Client threads, one keep-alive connection each.
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// The server's process id, to sample its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds of warm-up before the memory baseline is taken (the dedup store fills for its
    /// 30 s TTL first).
    #[arg(long, default_value_t = 30)]
    warmup: u64,
    /// Token, EncodingAESKey and appid of the server (defaults: the examples' demo account).
    #[arg(long, default_value = echo_support::DEMO_TOKEN)]
    token: String,
    #[arg(long, default_value = echo_support::DEMO_AES_KEY)]
    aes_key: String,
    #[arg(long, default_value = echo_support::DEMO_APPID)]
    appid: String,
}

const OPENID: &str = "oWxcbLoadUser00000000000000001";
const TO_USER_NAME: &str = "gh_wxcbload0001";

/// A handled message a retry can be made of: its `MsgId`, content, first reply and when.
#[derive(Clone)]
struct Delivered {
    msg_id: u64,
    content: String,
    reply: String,
    at: Instant,
}

#[derive(Default)]
struct Counts {
    fresh: AtomicU64,
    retries: AtomicU64,
    bad: AtomicU64,
    wrong: AtomicU64,
}

struct Shared {
    args: Args,
    sender: Sender,
    other_appid: Sender,
    recent: Mutex<VecDeque<Delivered>>,
    counts: Counts,
    next_msg_id: AtomicU64,
    wrong_examples: Mutex<Vec<String>>,
}

fn main() {
    let args = Args::parse();
    let sender = Sender::official_account(&args.token, &args.aes_key, &args.appid, Mode::Safe)
        .unwrap_or_else(|e| fail(&e));
    let other_appid =
        Sender::official_account(&args.token, &args.aes_key, "wx0000000000000000", Mode::Safe)
            .unwrap_or_else(|e| fail(&e));
    let shared = Arc::new(Shared {
        sender,
        other_appid,
        recent: Mutex::new(VecDeque::new()),
        counts: Counts::default(),
        // Unique across runs of this tool against one server: start from the clock.
        next_msg_id: AtomicU64::new(now() * 1_000_000),
        wrong_examples: Mutex::new(Vec::new()),
        args,
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(shared.args.seconds);
    let done = Arc::new(AtomicBool::new(false));
    let sampler = shared.args.pid.map(|pid| {
        let done = Arc::clone(&done);
        std::thread::spawn(move || sample_rss(pid, start, &done))
    });
    let workers: Vec<_> = (0..shared.args.threads)
        .map(|thread| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || work(&shared, thread, deadline))
        })
        .collect();
    let mut latencies: Vec<u32> = Vec::new();
    for worker in workers {
        latencies.extend(worker.join().expect("a client thread panicked"));
    }
    done.store(true, Ordering::SeqCst);
    let elapsed = start.elapsed().as_secs_f64();
    let samples = sampler.map(|s| s.join().expect("sampler"));

    let c = &shared.counts;
    let (fresh, retries, bad, wrong) = (
        c.fresh.load(Ordering::SeqCst),
        c.retries.load(Ordering::SeqCst),
        c.bad.load(Ordering::SeqCst),
        c.wrong.load(Ordering::SeqCst),
    );
    let total = fresh + retries + bad;
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    println!(
        "load: {total} requests in {elapsed:.1}s ({:.0} req/s) over {} connections: \
         {fresh} fresh, {retries} retries, {bad} bad; latency p50 {:.2} ms, p99 {:.2} ms",
        total as f64 / elapsed,
        shared.args.threads,
        pct(0.50),
        pct(0.99)
    );
    let mut failed = false;
    if wrong > 0 {
        failed = true;
        println!("load: {wrong} WRONG answers; first ones:");
        for example in shared.wrong_examples.lock().unwrap().iter() {
            println!("  {example}");
        }
    } else {
        println!("load: 0 wrong answers; every retry got the first reply");
    }
    if let Some(samples) = samples {
        let line: Vec<String> = samples
            .iter()
            .map(|(t, kib)| format!("{t}s {:.1}", *kib as f64 / 1024.0))
            .collect();
        println!("load: server RSS MiB: {}", line.join(", "));
        let warm = samples
            .iter()
            .find(|(t, _)| *t >= shared.args.warmup)
            .or(samples.first());
        if let (Some(&(wt, warm)), Some(&(et, end))) = (warm, samples.last()) {
            let growth = end.saturating_sub(warm);
            println!(
                "load: RSS after warm-up ({wt}s) {:.1} MiB, at the end ({et}s) {:.1} MiB",
                warm as f64 / 1024.0,
                end as f64 / 1024.0
            );
            if growth > (warm / 10).max(4 * 1024) {
                failed = true;
                println!("load: resident memory GREW by {growth} KiB after warm-up");
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn fail(problem: &str) -> ! {
    eprintln!("wxcb-load: {problem}");
    std::process::exit(2)
}

/// One client thread: requests until the deadline; returns its latencies in microseconds.
fn work(shared: &Shared, thread: usize, deadline: Instant) -> Vec<u32> {
    let client = Client::new(Duration::from_secs(10));
    let mut latencies = Vec::new();
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        n += 1;
        let roll = rand::random::<u32>() % 100;
        let started = Instant::now();
        let result = if roll < 70 {
            fresh(shared, &client, thread, n)
        } else if roll < 85 {
            retry(shared, &client, n)
        } else {
            bad(shared, &client, n)
        };
        latencies.push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if let Err(problem) = result {
            shared.counts.wrong.fetch_add(1, Ordering::SeqCst);
            let mut examples = shared.wrong_examples.lock().unwrap();
            if examples.len() < 10 {
                examples.push(problem);
            }
        }
    }
    latencies
}

/// The request for a text message, signed and encrypted afresh.
fn text_request(sender: &Sender, url: &str, msg_id: u64, content: &str) -> http::Request<Bytes> {
    let xml = Callback::Text(content.to_owned()).render(sender, &addressing(msg_id));
    let (timestamp, nonce) = wechat_callback_cli::build::fresh_timestamp_and_nonce();
    let random: [u8; 16] = rand::random();
    sender
        .message(&xml, &timestamp, &nonce, Some(OPENID), &random)
        .and_then(|built| built.http_request(url))
        .expect("request")
}

/// From the load's user to the demo account, now, with `msg_id`.
fn addressing(msg_id: u64) -> Addressing<'static> {
    Addressing {
        from_user_name: OPENID,
        to_user_name: TO_USER_NAME,
        create_time: now(),
        msg_id,
        agent_id: None,
    }
}

fn reply_xml(shared: &Shared, response: &http::Response<Bytes>) -> Result<String, String> {
    match simulate::read_reply(&shared.sender, response, true)? {
        Reply::Message {
            body,
            encrypted: true,
        } => Ok(body),
        Reply::Message { .. } => Err("a plaintext reply to a safe-mode request".into()),
        Reply::Empty => Err("`success` where an echo was due".into()),
    }
}

fn fresh(shared: &Shared, client: &Client, thread: usize, n: u64) -> Result<(), String> {
    shared.counts.fresh.fetch_add(1, Ordering::SeqCst);
    let msg_id = shared.next_msg_id.fetch_add(1, Ordering::SeqCst);
    let content = format!("load {thread}-{n} 消息 ]]> 😀 <&>");
    let response = client.send(text_request(
        &shared.sender,
        &shared.args.url,
        msg_id,
        &content,
    ))?;
    let xml = reply_xml(shared, &response)?;
    let document = simulate::check_addressing(&xml, OPENID, TO_USER_NAME)?;
    if document.child_text("Content") != Some(content.as_str()) {
        return Err(format!(
            "fresh {msg_id}: reply {xml:?} is not the echo of {content:?}"
        ));
    }
    let mut recent = shared.recent.lock().unwrap();
    recent.push_back(Delivered {
        msg_id,
        content,
        reply: xml,
        at: Instant::now(),
    });
    while recent.len() > 4096 {
        recent.pop_front();
    }
    Ok(())
}

fn retry(shared: &Shared, client: &Client, n: u64) -> Result<(), String> {
    // A message handled within the last 20 s (the store keeps them 30 s).
    let picked = {
        let mut recent = shared.recent.lock().unwrap();
        while recent
            .front()
            .is_some_and(|d| d.at.elapsed() > Duration::from_secs(20))
        {
            recent.pop_front();
        }
        if recent.is_empty() {
            None
        } else {
            let index = rand::random::<u32>() as usize % recent.len();
            recent.get(index).cloned()
        }
    };
    let Some(first) = picked else {
        return Ok(());
    };
    shared.counts.retries.fetch_add(1, Ordering::SeqCst);
    // Every other retry carries changed content: only a cached answer still echoes the first.
    let content = if n.is_multiple_of(2) {
        first.content.clone()
    } else {
        format!("{} (changed)", first.content)
    };
    let request = text_request(&shared.sender, &shared.args.url, first.msg_id, &content);
    let xml = reply_xml(shared, &client.send(request)?)?;
    if xml != first.reply {
        return Err(format!(
            "retry of {}: got {xml:?}, the first reply was {:?}",
            first.msg_id, first.reply
        ));
    }
    Ok(())
}

fn bad(shared: &Shared, client: &Client, n: u64) -> Result<(), String> {
    shared.counts.bad.fetch_add(1, Ordering::SeqCst);
    let url = &shared.args.url;
    let msg_id = shared.next_msg_id.fetch_add(1, Ordering::SeqCst);
    let good = || text_request(&shared.sender, url, msg_id, "bad");
    let (request, want, what) = match n % 8 {
        0 => {
            let mut request = good();
            let uri = request
                .uri()
                .to_string()
                .replace("msg_signature=", "msg_signature=f");
            *request.uri_mut() = uri.parse().expect("uri");
            (request, 401, "bad msg_signature")
        }
        1 => {
            let xml = Callback::Text("old".into()).render(&shared.sender, &addressing(msg_id));
            let stale = (now() - 3_600).to_string();
            let request = shared
                .sender
                .message(&xml, &stale, "1", Some(OPENID), &[1; 16])
                .and_then(|built| built.http_request(url))
                .expect("request");
            (request, 401, "stale timestamp")
        }
        2 => (
            text_request(&shared.other_appid, url, msg_id, "x"),
            403,
            "another appid",
        ),
        3 => {
            let (timestamp, nonce) = wechat_callback_cli::build::fresh_timestamp_and_nonce();
            let encrypt = "not base64!";
            let msg_signature =
                crypto::signature(&[&shared.args.token, &timestamp, &nonce, encrypt]);
            let request = http::Request::post(format!(
                "{url}?timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}"
            ))
            .body(Bytes::from(format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")))
            .expect("request");
            (request, 400, "bad base64")
        }
        4 => {
            let (timestamp, nonce) = wechat_callback_cli::build::fresh_timestamp_and_nonce();
            let request = shared
                .sender
                .message(
                    "<xml><Content>cut",
                    &timestamp,
                    &nonce,
                    Some(OPENID),
                    &[2; 16],
                )
                .and_then(|built| built.http_request(url))
                .expect("request");
            (request, 400, "broken decrypted XML")
        }
        5 => {
            let request = http::Request::put(url.as_str())
                .body(Bytes::new())
                .expect("request");
            (request, 405, "PUT")
        }
        6 if n % 64 == 6 => {
            let request = http::Request::post(format!("{url}?timestamp=1&nonce=1"))
                .body(Bytes::from(vec![b'x'; 600 * 1024]))
                .expect("request");
            (request, 413, "oversized body")
        }
        _ => {
            let request = http::Request::post(url.as_str())
                .body(Bytes::from_static(
                    b"<!DOCTYPE xml [<!ENTITY a \"b\">]><xml>&a;</xml>",
                ))
                .expect("request");
            (request, 400, "DOCTYPE")
        }
    };
    let status = if want == 413 {
        // The server answers 413 from the `Content-Length` alone and closes the connection
        // without reading the body, so the upload may break off instead: both are a refusal.
        // A connection of its own keeps that from touching the keep-alive ones.
        match Client::new(Duration::from_secs(10)).send(request) {
            Ok(response) => response.status().as_u16(),
            Err(error) if error.contains("Broken pipe") || error.contains("reset") => 413,
            Err(error) => return Err(format!("{what}: {error}")),
        }
    } else {
        client.send(request)?.status().as_u16()
    };
    if status != want {
        return Err(format!("{what}: HTTP {status}, want {want}"));
    }
    Ok(())
}

/// `(seconds since start, VmRSS KiB)` every 5 s until `done`.
fn sample_rss(pid: u32, start: Instant, done: &AtomicBool) -> Vec<(u64, u64)> {
    let mut samples = Vec::new();
    let mut next = 0;
    while !done.load(Ordering::SeqCst) {
        let t = start.elapsed().as_secs();
        if t >= next {
            if let Some(kib) = rss_kib(pid) {
                samples.push((t, kib));
            }
            next = t + 5;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if let Some(kib) = rss_kib(pid) {
        samples.push((start.elapsed().as_secs(), kib));
    }
    samples
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
