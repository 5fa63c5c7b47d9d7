//! Hostile input is refused cheaply: each body of [`cases::all`] is refused with the right
//! error class, and the allocations the engine makes for it (counted by a global allocator)
//! stay small and do not grow with the body. One test function, so no other test's
//! allocations are counted.

mod cases;

use std::alloc::System;

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wechat_callback::message::Document;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};
use wechat_callback_cli::fixture::class;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// More allocations than this for refusing a body is a regression (an error with its detail
/// text, the response and its header map take a handful; a growing element array a few more).
const MAX_ALLOCATIONS: usize = 24;

fn engine() -> Engine {
    let config =
        Config::official_account(Token::new("hostileToken").unwrap(), "wx49f0ab532d5d035a")
            .with_encoding_aes_key(
                EncodingAesKey::new("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR").unwrap(),
            )
            .with_mode(Mode::Safe);
    Engine::new(config, Router::new()).unwrap()
}

/// A safe-mode POST without `signature`: the envelope is parsed before `msg_signature` can be
/// checked, so this is what anyone on the internet can make the engine parse.
fn request(body: &[u8]) -> http::Request<Bytes> {
    http::Request::post("/wechat?timestamp=1&nonce=1&encrypt_type=aes&msg_signature=0")
        .body(Bytes::copy_from_slice(body))
        .unwrap()
}

#[test]
fn hostile_bodies_are_refused_with_bounded_allocation() {
    let engine = engine();
    // Warm-up: thread-local set-up (RNG, tracing's dispatcher) is not the body's cost.
    let _ = engine.process(&request(b"<xml/>"));
    let mut report = Vec::new();
    for case in cases::all() {
        let request = request(&case.body);
        let region = Region::new(GLOBAL);
        let result = engine.process(&request);
        let change = region.change();
        let error = result
            .err()
            .unwrap_or_else(|| panic!("{}: accepted", case.name));
        assert_eq!(class(error.kind()), case.class, "{}: {error}", case.name);
        let allocations = change.allocations + change.reallocations;
        report.push(format!(
            "{:<24} {:>10} B body: {allocations} allocations, {} B",
            case.name,
            case.body.len(),
            change.bytes_allocated
        ));
        assert!(
            allocations <= MAX_ALLOCATIONS && change.bytes_allocated <= case.max_bytes,
            "{}: {allocations} allocations, {} bytes",
            case.name,
            change.bytes_allocated
        );
    }
    println!("{}", report.join("\n"));

    // The parser alone, without the body cap: a 10 MB CDATA section is read in place, with
    // one small allocation for the element array, two for quick-xml's stack of open element
    // names (it keeps one whether or not it checks end names), and nothing proportional to
    // the text.
    let cdata = cases::all()
        .into_iter()
        .find(|c| c.name == "cdata_10mb")
        .unwrap();
    let body = Bytes::from(cdata.body);
    let region = Region::new(GLOBAL);
    let document = Document::from_bytes(body.clone()).unwrap();
    let change = region.change();
    assert_eq!(
        document.child_text("Encrypt").map(str::len),
        Some(10 * 1024 * 1024)
    );
    assert!(
        change.allocations <= 3 && change.bytes_allocated <= 1024,
        "parse of 10 MB CDATA: {} allocations, {} bytes",
        change.allocations,
        change.bytes_allocated
    );
    // And the 10,000-deep nesting is refused before it gets anywhere near 10,000.
    let deep = cases::all()
        .into_iter()
        .find(|c| c.name == "nesting_10000")
        .unwrap();
    let error = Document::from_bytes(Bytes::from(deep.body)).unwrap_err();
    assert!(
        error.detail().unwrap().contains("nested too deep"),
        "{error}"
    );
}
