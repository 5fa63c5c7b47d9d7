//! Recording live callbacks (`wechat_callback_cli::record`) through the adapters: both of the
//! core's paths (`adapter::handle` under hyper, `adapter::handle_parts` under warp), the cap
//! on files (the oldest removed) and the rate (the rest dropped, counted).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wechat_callback::Mode;
use wechat_callback_cli::build::Sender;
use wechat_callback_cli::record::{self, FixtureRecorder, RecordOptions};
use wechat_callback_cli::simulate::defaults;
use wechat_callback_cli::wire::Client;

use crate::adapters::{
    Adapter, mp_engine_with, mp_sender, reply_content, send_text_with_id, spawn,
};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wxcb-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The recordings in `dir`, by name, once `expected` are there (or 5 s passed).
fn recordings(dir: &PathBuf, expected: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().into_string().ok())
                    // Finished recordings only (one being written is `*.json.partial`).
                    .filter(|name| name.ends_with(".json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        if names.len() >= expected || started.elapsed() > Duration::from_secs(5) {
            return names;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A plaintext echo endpoint on `adapter` that records into a fresh directory, capped by
/// `caps` (applied to the directory's default options).
struct Endpoint {
    dir: PathBuf,
    recorder: Arc<FixtureRecorder>,
    url: String,
    client: Client,
    sender: Sender,
}

fn endpoint(
    name: &str,
    adapter: Adapter,
    caps: impl FnOnce(RecordOptions) -> RecordOptions,
) -> Endpoint {
    let dir = fresh_dir(name);
    let recorder = record::start(caps(RecordOptions::new(&dir))).unwrap();
    let engine =
        mp_engine_with(Mode::Plain, echo_support::router()).with_recorder(recorder.clone());
    Endpoint {
        url: spawn(adapter, engine),
        dir,
        recorder,
        client: Client::default(),
        sender: mp_sender(Mode::Plain),
    }
}

#[test]
fn recordings_rotate_on_both_adapter_paths() {
    for adapter in [Adapter::Hyper, Adapter::Warp] {
        let e = endpoint(&format!("rotate-{adapter:?}"), adapter, |o| o.max_files(3));
        for n in 1..=5u64 {
            let response = send_text_with_id(&e.client, &e.url, &e.sender, &format!("n{n}"), n);
            assert_eq!(reply_content(&e.sender, &response, false), format!("n{n}"));
        }
        // Written in order; the writer removes the oldest beyond three.
        let started = Instant::now();
        let names = loop {
            let names = recordings(&e.dir, 3);
            if names.iter().any(|n| n.contains("-000005-"))
                || started.elapsed() > Duration::from_secs(5)
            {
                break names;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(names.len(), 3, "{adapter:?}: {names:?}");
        for (name, n) in names.iter().zip(3..) {
            assert!(
                name.contains(&format!("-{n:06}-")),
                "{adapter:?}: {names:?}"
            );
            assert!(name.ends_with("-text.json"), "{name}");
        }
        let newest = std::fs::read_to_string(e.dir.join(&names[2])).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(&newest).unwrap();
        assert_eq!(fixture["expect"]["fields"]["Content"], "n5");
        assert_eq!(
            fixture["expect"]["fields"]["FromUserName"],
            defaults::OPENID
        );
        assert!(
            fixture["recorded"]["reply"]
                .as_str()
                .unwrap()
                .contains("n5")
        );
        let _ = std::fs::remove_dir_all(&e.dir);
    }
}

#[test]
fn recording_beyond_the_rate_is_dropped_and_counted() {
    let e = endpoint("rate", Adapter::Hyper, |o| o.max_per_second(2));
    let started = Instant::now();
    for n in 1..=8u64 {
        let response = send_text_with_id(&e.client, &e.url, &e.sender, "fast", 100 + n);
        assert_eq!(response.status(), 200, "every callback answered");
    }
    // Eight within at most two seconds' windows: four recorded at most.
    let seconds = started.elapsed().as_secs() + 1;
    std::thread::sleep(Duration::from_millis(300));
    let written = recordings(&e.dir, 0).len() as u64;
    assert!(
        written >= 2 && written <= 2 * seconds,
        "{written} in {seconds} s"
    );
    assert_eq!(e.recorder.dropped(), 8 - written);
    let _ = std::fs::remove_dir_all(&e.dir);
}

#[test]
fn bodies_beyond_the_queued_bytes_are_dropped_not_held() {
    // Room for one ~300-byte exchange at a time, never for one over 2 KB.
    let e = endpoint("bytes", Adapter::Hyper, |o| o.queue_bytes(2048));
    let big = "大".repeat(1000);
    let response = send_text_with_id(&e.client, &e.url, &e.sender, &big, 1);
    assert_eq!(
        reply_content(&e.sender, &response, false),
        big,
        "answered all the same"
    );
    let response = send_text_with_id(&e.client, &e.url, &e.sender, "small", 2);
    assert_eq!(reply_content(&e.sender, &response, false), "small");
    let names = recordings(&e.dir, 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(recordings(&e.dir, 1), names);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].contains("-000001-"),
        "only the small one: {names:?}"
    );
    assert_eq!(e.recorder.dropped(), 1);
    let _ = std::fs::remove_dir_all(&e.dir);
}
