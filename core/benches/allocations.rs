//! Heap allocations per callback, counted by a global allocator (`stats_alloc`): one
//! `Engine::handle` of a ~1 KB text message in plaintext and safe mode, and the size sweep,
//! with the heap a request holds while its handler runs (its memory in flight, beyond the
//! request body the server already holds). `cargo bench -p wechat-callback --bench allocations`.

#[allow(dead_code)]
mod corpus;

use std::alloc::System;

use std::sync::atomic::{AtomicIsize, Ordering};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Engine, Mode, Router};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations and bytes allocated by one `handle` of `wire` (after a warm-up call, so
/// thread-local set-up such as the RNG is not counted).
fn count(engine: &Engine, wire: &corpus::Wire) -> (usize, usize) {
    assert_eq!(engine.handle(wire.request()).status(), 200);
    let request = wire.request();
    let region = Region::new(GLOBAL);
    let response = engine.handle(request);
    let change = region.change();
    assert_eq!(response.status(), 200);
    (
        change.allocations + change.reallocations,
        change.bytes_allocated,
    )
}

/// Net heap bytes (allocated less freed) since the request started, read in the handler.
static IN_FLIGHT: AtomicIsize = AtomicIsize::new(0);
static STARTED: AtomicIsize = AtomicIsize::new(0);

fn net_bytes() -> isize {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize + stats.bytes_reallocated
}

/// The bench engine with a handler that notes the heap held at the moment it runs.
fn sampling_engine(mode: Mode) -> Engine {
    let router = Router::new().on_text(|text: &Text| {
        IN_FLIGHT.store(
            net_bytes() - STARTED.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
        Reply::text(text.content.clone())
    });
    corpus::engine_with(mode, router)
}

/// Heap bytes held by one request of `wire` while its handler runs.
fn in_flight(engine: &Engine, wire: &corpus::Wire) -> isize {
    assert_eq!(engine.handle(wire.request()).status(), 200);
    let request = wire.request();
    STARTED.store(net_bytes(), Ordering::SeqCst);
    assert_eq!(engine.handle(request).status(), 200);
    IN_FLIGHT.load(Ordering::SeqCst)
}

fn main() {
    let content = corpus::content(1, 800);
    println!("{:<22} {:>12} {:>14}", "case", "allocations", "bytes");
    // The corpus mixes in `]]>`, which splits CDATA and so needs a decoded copy of the
    // content; WeChat's own bodies carry each text in one CDATA section, like `typical`.
    let typical = content.replace("]]>", "]>");
    for (name, mode, wire) in [
        ("plain_1k", Mode::Plain, corpus::plain(&content)),
        ("safe_1k", Mode::Safe, corpus::safe(&content)),
        ("plain_1k_typical", Mode::Plain, corpus::plain(&typical)),
        ("safe_1k_typical", Mode::Safe, corpus::safe(&typical)),
    ] {
        let (n, bytes) = count(&corpus::engine(mode), &wire);
        println!("{name:<22} {n:>12} {bytes:>14}");
        if !name.ends_with("typical") {
            for (suffix, first) in [("_dedup_first", true), ("_dedup_retry", false)] {
                let engine = corpus::engine_with_dedup(mode, first);
                let (n, bytes) = count(&engine, &wire);
                println!("{:<22} {n:>12} {bytes:>14}", format!("{name}{suffix}"));
            }
        }
    }
    let safe = corpus::engine(Mode::Safe);
    for size in [100, 1_000, 10_000, 100_000] {
        let (n, bytes) = count(&safe, &corpus::safe(&corpus::content(size as u64, size)));
        println!("{:<22} {n:>12} {bytes:>14}", format!("safe_{size}B"));
    }
    println!();
    println!("{:<22} {:>26}", "case", "heap held in the handler");
    for (mode, name) in [(Mode::Plain, "plain"), (Mode::Safe, "safe")] {
        let engine = sampling_engine(mode);
        for size in [100, 1_000, 10_000, 100_000] {
            let content = corpus::content(size as u64, size);
            let wire = match mode {
                Mode::Plain => corpus::plain(&content),
                _ => corpus::safe(&content),
            };
            let held = in_flight(&engine, &wire);
            println!("{:<22} {held:>26}", format!("{name}_{size}B"));
        }
    }
}
