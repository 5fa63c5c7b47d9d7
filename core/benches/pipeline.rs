//! Criterion benchmarks of the callback pipeline: each stage alone, the whole
//! `Engine::handle` in plaintext and safe mode, the crypto floor (the same SHA-1, base64 and
//! AES work and nothing else), and a size sweep. `cargo bench -p wechat-callback`.

mod corpus;
#[allow(dead_code)]
#[path = "../../tests/hostile/cases.rs"]
mod hostile_cases;

use std::hint::black_box;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes256Dec, Aes256Enc};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sha1::{Digest as _, Sha1};
use wechat_callback::crypto::MsgCrypt;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Callback, EncodingAesKey, Mode, ReceiveId, Router};

/// About 1 KB of message XML (the reference message).
const CONTENT_1K: usize = 800;

fn stages(c: &mut Criterion) {
    let content = corpus::content(1, CONTENT_1K);
    let xml = corpus::message_xml(&content);
    let encrypted = corpus::encrypt(&xml);
    let crypt = MsgCrypt::new(
        &EncodingAesKey::new(corpus::KEY).unwrap(),
        ReceiveId::AppId(corpus::APPID.into()),
    );
    let ts = corpus::TIMESTAMP.to_string();
    let request = std::sync::Arc::new(Callback::from_xml(&xml).unwrap());
    let router = Router::new().on_text(|text: &Text| Reply::text(text.content.clone()));
    let reply = router.dispatch(std::sync::Arc::clone(&request));

    let mut group = c.benchmark_group("stage");
    group.bench_function("signature", |b| {
        b.iter(|| {
            wechat_callback::crypto::signature(black_box(&[corpus::TOKEN, &ts, corpus::NONCE]))
        })
    });
    group.bench_function("msg_signature", |b| {
        b.iter(|| {
            wechat_callback::crypto::signature(black_box(&[
                corpus::TOKEN,
                &ts,
                corpus::NONCE,
                &encrypted,
            ]))
        })
    });
    group.bench_function("decrypt", |b| {
        b.iter(|| crypt.decrypt(black_box(&encrypted)).unwrap())
    });
    group.bench_function("encrypt", |b| {
        b.iter(|| crypt.encrypt_with_random(black_box(&xml), &[7; 16]))
    });
    group.bench_function("parse", |b| {
        b.iter(|| Callback::from_xml(black_box(&xml)).unwrap())
    });
    group.bench_function("dispatch", |b| {
        b.iter(|| router.dispatch(std::sync::Arc::clone(black_box(&request))))
    });
    group.bench_function("render", |b| {
        b.iter(|| reply.to_xml("oWxcbDemoUser0000000000000001", "gh_wxcbdemo0001", 1))
    });
    group.finish();
}

/// The crypto work of one safe-mode message and nothing else: `signature`, `msg_signature`
/// and the reply's `MsgSignature` (SHA-1 of the sorted parts), base64 decode, AES-256-CBC
/// decrypt, AES-256-CBC encrypt of a same-size reply, base64 encode.
fn crypto_floor(c: &mut Criterion) {
    let xml = corpus::message_xml(&corpus::content(1, CONTENT_1K));
    let encrypted = corpus::encrypt(&xml);
    let key = STANDARD.decode(format!("{}=", corpus::KEY)).unwrap();
    let ts = corpus::TIMESTAMP.to_string();
    let sha1_sorted = |parts: &mut [&str]| {
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts.iter() {
            hasher.update(part.as_bytes());
        }
        hasher.finalize()
    };
    let reply_len = STANDARD.decode(&encrypted).unwrap().len();
    // The round keys are expanded once, outside the loop, as the engine does (per account).
    let decrypt_keys = Aes256Dec::new_from_slice(&key).unwrap();
    let encrypt_keys = Aes256Enc::new_from_slice(&key).unwrap();
    c.bench_function("floor/safe_1k", |b| {
        b.iter(|| {
            black_box(sha1_sorted(&mut [corpus::TOKEN, &ts, corpus::NONCE]));
            black_box(sha1_sorted(&mut [
                corpus::TOKEN,
                &ts,
                corpus::NONCE,
                &encrypted,
            ]));
            let mut buf = STANDARD.decode(black_box(&encrypted)).unwrap();
            let decryptor =
                cbc::Decryptor::inner_iv_slice_init(decrypt_keys.clone(), &key[..16]).unwrap();
            black_box(decryptor.decrypt_padded::<NoPadding>(&mut buf).unwrap());
            let mut out = vec![1u8; reply_len];
            let encryptor =
                cbc::Encryptor::inner_iv_slice_init(encrypt_keys.clone(), &key[..16]).unwrap();
            let sealed = encryptor
                .encrypt_padded::<NoPadding>(&mut out, reply_len)
                .unwrap();
            let text = STANDARD.encode(sealed);
            black_box(sha1_sorted(&mut [corpus::TOKEN, &ts, corpus::NONCE, &text]));
        })
    });
}

fn handle(c: &mut Criterion) {
    let content = corpus::content(1, CONTENT_1K);
    let mut group = c.benchmark_group("handle");
    for (name, mode, wire) in [
        ("plain_1k", Mode::Plain, corpus::plain(&content)),
        ("safe_1k", Mode::Safe, corpus::safe(&content)),
    ] {
        for (suffix, engine) in [
            ("", corpus::engine(mode)),
            ("_dedup_first", corpus::engine_with_dedup(mode, true)),
            ("_dedup_retry", corpus::engine_with_dedup(mode, false)),
        ] {
            assert_eq!(engine.handle(wire.request()).status(), 200);
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.iter_batched(
                    || wire.request(),
                    |r| engine.handle(r),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    let all: Vec<_> = corpus::corpus(64).iter().map(|c| corpus::safe(c)).collect();
    let safe = corpus::engine(Mode::Safe);
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("safe_corpus_64", |b| {
        b.iter(|| {
            for wire in &all {
                black_box(safe.handle(wire.request()));
            }
        })
    });
    group.finish();
}

fn sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("size_safe");
    let engine = corpus::engine(Mode::Safe);
    for size in [100, 1_000, 10_000, 100_000] {
        let wire = corpus::safe(&corpus::content(size as u64, size));
        assert_eq!(engine.handle(wire.request()).status(), 200);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(size.to_string(), |b| {
            b.iter_batched(
                || wire.request(),
                |r| engine.handle(r),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// Refusing hostile bodies (`tests/hostile/cases.rs`): the cost must not grow with the body
/// beyond a linear scan, and most are refused within the first bytes.
fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile");
    let engine = corpus::engine(Mode::Safe);
    for case in hostile_cases::all() {
        let body = bytes::Bytes::from(case.body);
        let request = || {
            http::Request::post("/wechat?timestamp=1&nonce=1&encrypt_type=aes&msg_signature=0")
                .body(body.clone())
                .unwrap()
        };
        let error = engine.process(&request()).unwrap_err();
        // The class as its status tells it (the class names live in the CLI).
        let status = if case.class == "too_large" { 413 } else { 400 };
        assert_eq!(error.status().as_u16(), status, "{}", case.name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(case.name, |b| {
            b.iter_batched(request, |r| engine.handle(r), BatchSize::SmallInput)
        });
    }
    group.finish();
}

criterion_group!(benches, stages, crypto_floor, handle, sizes, hostile);
criterion_main!(benches);
