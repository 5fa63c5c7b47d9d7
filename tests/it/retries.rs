//! Retries without double work: WeChat's retries of a handled message get the first reply
//! again without running the handlers, concurrent retries wait for the first, replayed nonces
//! with another body are refused, and a panicking handler costs nothing but its own reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::dedup::{Dedup, DedupStore as _, MemoryDedupStore};
use wechat_callback::message::{Kind, Text};
use wechat_callback::reply::Reply;
use wechat_callback::{Callback, Config, EncodingAesKey, Engine, ErrorKind, Mode, Router, Token};

const TOKEN: &str = "retryToken";
const CORPID: &str = "ww0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn config(mode: Mode) -> Config {
    crate::mp_config(TOKEN, mode).with_timestamp_tolerance(std::time::Duration::from_secs(300))
}

/// A router whose text handler counts its runs and answers `run #n: content`, so a reply
/// tells which run made it; it sleeps for `sleep_ms` first.
fn counting(runs: &Arc<AtomicUsize>, sleep_ms: u64) -> Router {
    let runs = Arc::clone(runs);
    Router::new().on_text(move |text: &Text| {
        std::thread::sleep(Duration::from_millis(sleep_ms));
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(text.content != "panic", "handler panicked on purpose");
        Reply::text(format!("run #{n}: {}", text.content))
    })
}

fn text(msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// One delivery of `body`, signed with its own nonce and (when encrypted) random bytes, as
/// each of WeChat's attempts is.
fn deliver(engine: &Engine, body: &str, attempt: u8) -> http::Response<Bytes> {
    let nonce = format!("{}", 1000 + u32::from(attempt));
    engine.handle(crate::signed_post(
        TOKEN,
        NOW,
        &nonce,
        body,
        wechat_callback::adapter::crypt(engine).filter(|_| engine.config().mode() != Mode::Plain),
        &[attempt; 16],
    ))
}

/// The reply XML of a response, after checking the envelope's signature and decrypting it
/// when the engine encrypts.
fn opened(engine: &Engine, response: &http::Response<Bytes>) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let body = std::str::from_utf8(response.body()).unwrap();
    match wechat_callback::adapter::crypt(engine) {
        Some(crypt) if engine.config().mode() != Mode::Plain => EncryptedReply::from_xml(body)
            .unwrap()
            .open(crypt, &Token::new(TOKEN).unwrap())
            .unwrap(),
        _ => body.to_owned(),
    }
}

#[test]
fn a_retry_gets_the_first_reply_without_running_the_handler() {
    for mode in [Mode::Plain, Mode::Compatible, Mode::Safe] {
        let runs = Arc::new(AtomicUsize::new(0));
        let engine = Engine::new(config(mode), counting(&runs, 0))
            .unwrap()
            .with_clock(|| NOW);
        let body = text(6_054_768_590_064_713_729, "coupon please");
        let first = deliver(&engine, &body, 1);
        let first_xml = opened(&engine, &first);
        assert!(first_xml.contains("run #1: coupon please"), "{first_xml}");
        for attempt in 2..=4 {
            let retry = deliver(&engine, &body, attempt);
            assert_eq!(
                opened(&engine, &retry),
                first_xml,
                "{mode:?} attempt {attempt}"
            );
            if mode == Mode::Plain {
                assert_eq!(retry.body(), first.body());
            } else {
                // Re-encrypted: fresh random bytes and nonce, the same plaintext.
                assert_ne!(retry.body(), first.body(), "{mode:?}");
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{mode:?}");
        // Another MsgId is another message.
        let other = deliver(&engine, &text(6_054_768_590_064_713_730, "again"), 5);
        assert!(opened(&engine, &other).contains("run #2: again"));
    }
}

#[test]
fn process_says_when_the_handlers_did_not_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = Engine::new(config(Mode::Safe), counting(&runs, 0))
        .unwrap()
        .with_clock(|| NOW);
    let body = text(77, "x");
    let request = |nonce: &str| {
        crate::signed_post(
            TOKEN,
            NOW,
            nonce,
            &body,
            wechat_callback::adapter::crypt(&engine),
            &[3; 16],
        )
    };
    let first = engine.process(&request("1")).unwrap();
    assert!(!first.deduplicated);
    assert_eq!(first.reply, Some(Reply::text("run #1: x")));
    let retry = engine.process(&request("2")).unwrap();
    assert!(retry.deduplicated);
    assert_eq!(retry.reply, None);
    assert_eq!(
        opened(&engine, &retry.response),
        opened(&engine, &first.response)
    );
}

#[test]
fn without_dedup_every_delivery_runs() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = Engine::new(config(Mode::Plain), counting(&runs, 0))
        .unwrap()
        .with_clock(|| NOW)
        .without_dedup();
    let body = text(5, "twice");
    assert!(opened(&engine, &deliver(&engine, &body, 1)).contains("run #1"));
    assert!(opened(&engine, &deliver(&engine, &body, 2)).contains("run #2"));
    assert!(engine.dedup().is_none());
}

#[test]
fn a_retry_during_the_first_run_waits_for_its_reply() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = Arc::new(
        Engine::new(config(Mode::Safe), counting(&runs, 300))
            .unwrap()
            .with_clock(|| NOW),
    );
    let body = text(99, "slow");
    let threads: Vec<_> = (1..=3u8)
        .map(|attempt| {
            let (engine, body) = (Arc::clone(&engine), body.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
                opened(&engine, &deliver(&engine, &body, attempt))
            })
        })
        .collect();
    let replies: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(replies[0].contains("run #1: slow"), "{}", replies[0]);
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:?}");
}

#[test]
fn a_retry_that_waits_too_long_gets_success() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = Arc::new(
        Engine::new(config(Mode::Plain), counting(&runs, 600))
            .unwrap()
            .with_clock(|| NOW)
            .with_dedup(Dedup::in_memory().with_retry_wait(Duration::from_millis(50))),
    );
    let body = text(100, "very slow");
    let first = {
        let (engine, body) = (Arc::clone(&engine), body.clone());
        std::thread::spawn(move || opened(&engine, &deliver(&engine, &body, 1)))
    };
    std::thread::sleep(Duration::from_millis(100));
    let retry = deliver(&engine, &body, 2);
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.body().as_ref(), b"success");
    assert!(first.join().unwrap().contains("run #1"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Once the first has finished, a later retry gets its reply.
    assert!(opened(&engine, &deliver(&engine, &body, 3)).contains("run #1"));
}

fn event(from: &str, create_time: u64, event: &str, inner: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event>{inner}</xml>"
    )
}

/// A `CLICK` on menu button `key` by `o_user`, sent at [`NOW`].
fn click(key: &str) -> String {
    event(
        "o_user",
        NOW,
        "CLICK",
        &format!("<EventKey>{key}</EventKey>"),
    )
}

fn counting_everything(runs: &Arc<AtomicUsize>) -> Router {
    let runs = Arc::clone(runs);
    Router::new().fallback(move |_: &Callback| {
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::text(format!("run #{n}"))
    })
}

#[test]
fn events_are_keyed_by_sender_time_event_and_key() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = Engine::new(config(Mode::Plain), counting_everything(&runs))
        .unwrap()
        .with_clock(|| NOW);
    assert!(opened(&engine, &deliver(&engine, &click("A"), 1)).contains("run #1"));
    assert!(opened(&engine, &deliver(&engine, &click("A"), 2)).contains("run #1"));
    // Same second, another button: another event.
    assert!(opened(&engine, &deliver(&engine, &click("B"), 3)).contains("run #2"));
    // Another second, or another user: another event.
    let later = event("o_user", NOW - 1, "CLICK", "<EventKey>A</EventKey>");
    assert!(opened(&engine, &deliver(&engine, &later, 4)).contains("run #3"));
    let other = event("o_other", NOW, "CLICK", "<EventKey>A</EventKey>");
    assert!(opened(&engine, &deliver(&engine, &other, 5)).contains("run #4"));
    // Without FromUserName and CreateTime nothing tells deliveries apart: no dedup.
    let bare = "<xml><MsgType>event</MsgType><Event>subscribe</Event></xml>";
    assert!(opened(&engine, &deliver(&engine, bare, 6)).contains("run #5"));
    assert!(opened(&engine, &deliver(&engine, bare, 7)).contains("run #6"));
}

fn wecom_engine(runs: &Arc<AtomicUsize>) -> Engine {
    let config = Config::wecom(
        Token::new(TOKEN).unwrap(),
        EncodingAesKey::new(crate::KEY).unwrap(),
        CORPID,
    );
    Engine::new(config, counting_everything(runs))
        .unwrap()
        .with_clock(|| NOW)
}

fn change_contact(user: &str) -> String {
    event(
        "sys",
        NOW,
        "change_contact",
        &format!("<ChangeType>update_user</ChangeType><UserID>{user}</UserID>"),
    )
}

/// WeCom's `sys` sender sends many `change_contact` events a second: the default key adds the
/// message digest there, so distinct events all run and a true retry does not.
#[test]
fn wecom_system_events_in_one_second_all_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let engine = wecom_engine(&runs);
    let send = |body: &str, attempt: u8| {
        let crypt = wechat_callback::adapter::crypt(&engine);
        let nonce = attempt.to_string();
        opened_wecom(
            &engine,
            &engine.handle(crate::signed_post(
                TOKEN,
                NOW,
                &nonce,
                body,
                crypt,
                &[attempt; 16],
            )),
        )
    };
    assert!(send(&change_contact("zhangsan"), 1).contains("run #1"));
    assert!(send(&change_contact("lisi"), 2).contains("run #2"));
    assert!(
        send(&change_contact("zhangsan"), 3).contains("run #1"),
        "a retry"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

fn opened_wecom(engine: &Engine, response: &http::Response<Bytes>) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    EncryptedReply::from_xml(std::str::from_utf8(response.body()).unwrap())
        .unwrap()
        .open(
            wechat_callback::adapter::crypt(engine).unwrap(),
            &Token::new(TOKEN).unwrap(),
        )
        .unwrap()
}

#[test]
fn key_functions_can_be_replaced_per_kind() {
    let runs = Arc::new(AtomicUsize::new(0));
    // A coarse key for clicks (sender only), and none at all for text messages.
    let dedup = Dedup::in_memory()
        .with_key(Kind::EventClick, |r: &Callback| {
            Some(format!("click|{}", r.head().from_user_name))
        })
        .with_key(Kind::Text, |_: &Callback| None);
    let engine = Engine::new(config(Mode::Plain), counting_everything(&runs))
        .unwrap()
        .with_clock(|| NOW)
        .with_dedup(dedup);
    assert!(opened(&engine, &deliver(&engine, &click("A"), 1)).contains("run #1"));
    assert!(opened(&engine, &deliver(&engine, &click("B"), 2)).contains("run #1"));
    let body = text(1, "t");
    assert!(opened(&engine, &deliver(&engine, &body, 3)).contains("run #2"));
    assert!(opened(&engine, &deliver(&engine, &body, 4)).contains("run #3"));
    assert!(format!("{:?}", engine.dedup().unwrap()).contains("EventClick"));
}

#[test]
fn a_replayed_nonce_with_another_body_is_refused() {
    // Plaintext: `signature` does not cover the body, so another body under a used nonce is
    // someone reusing a captured signature. Encrypted: `msg_signature` covers `Encrypt`, and
    // the engine tells bodies apart by it; a second message under one nonce is refused too.
    for mode in [Mode::Plain, Mode::Safe] {
        let runs = Arc::new(AtomicUsize::new(0));
        let engine = Engine::new(config(mode), counting(&runs, 0))
            .unwrap()
            .with_clock(|| NOW)
            .with_dedup(Dedup::in_memory().reject_nonce_replays());
        let first = text(1, "pay 1");
        assert!(opened(&engine, &deliver(&engine, &first, 1)).contains("run #1: pay 1"));
        // The same signed query and body again: a retry, answered as before.
        assert!(opened(&engine, &deliver(&engine, &first, 1)).contains("run #1: pay 1"));
        // The same timestamp and nonce with another body.
        let forged = deliver(&engine, &text(2, "pay 1000"), 1);
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{mode:?}");
        let crypt = wechat_callback::adapter::crypt(&engine)
            .filter(|_| engine.config().mode() != Mode::Plain);
        let error = engine
            .process(&crate::signed_post(
                TOKEN,
                NOW,
                "1001",
                &text(3, "x"),
                crypt,
                &[0; 16],
            ))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Replay, "{mode:?}");
        assert_eq!(wechat_callback_cli::fixture::class(error.kind()), "replay");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{mode:?}");
        // A fresh nonce is a fresh request.
        assert!(opened(&engine, &deliver(&engine, &text(2, "pay 2"), 9)).contains("run #2"));
    }

    let runs = Arc::new(AtomicUsize::new(0));
    let first = text(1, "pay 1");
    // Off by default: the same forged request goes through.
    let lax = Engine::new(config(Mode::Plain), counting(&runs, 0))
        .unwrap()
        .with_clock(|| NOW);
    assert!(!lax.dedup().unwrap().rejects_nonce_replays());
    assert_eq!(deliver(&lax, &first, 1).status(), StatusCode::OK);
    assert_eq!(
        deliver(&lax, &text(2, "pay 1000"), 1).status(),
        StatusCode::OK
    );
}

#[test]
fn a_panicking_handler_is_answered_success_and_not_rerun() {
    for on_the_pool in [false, true] {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut router = counting(&runs, 0);
        if on_the_pool {
            router = router.blocking_handlers();
        }
        let engine = Engine::new(config(Mode::Safe), router)
            .unwrap()
            .with_clock(|| NOW);
        let boom = text(1, "panic");
        for attempt in 1..=2 {
            let response = deliver(&engine, &boom, attempt);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.body().as_ref(), b"success");
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the retry did not run it again"
        );
        let next = deliver(&engine, &text(2, "fine"), 3);
        assert!(opened(&engine, &next).contains("run #2: fine"));
    }
}

#[test]
fn a_shared_store_serves_several_engines() {
    // Two processes behind one load balancer share a store; here two engines share one.
    struct Shared(Arc<MemoryDedupStore>);
    impl wechat_callback::dedup::DedupStore for Shared {
        fn claim(&self, key: &str, now: u64) -> wechat_callback::dedup::Claim {
            self.0.claim(key, now)
        }
        fn wait(&self, key: &str, timeout: Duration) {
            self.0.wait(key, timeout);
        }
        fn complete(&self, key: &str, body: Bytes, now: u64) {
            self.0.complete(key, body, now);
        }
        fn release(&self, key: &str) {
            self.0.release(key);
        }
        fn check_nonce(
            &self,
            timestamp: &str,
            nonce: &str,
            digest: &[u8; 20],
            now: u64,
            window_s: u64,
        ) -> wechat_callback::dedup::NonceCheck {
            self.0.check_nonce(timestamp, nonce, digest, now, window_s)
        }
    }
    let store = Arc::new(MemoryDedupStore::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let engines: Vec<Engine> = (0..2)
        .map(|_| {
            Engine::new(config(Mode::Safe), counting(&runs, 0))
                .unwrap()
                .with_clock(|| NOW)
                .with_dedup(Dedup::new(Shared(Arc::clone(&store))))
        })
        .collect();
    let body = text(4242, "once");
    let a = opened(&engines[0], &deliver(&engines[0], &body, 1));
    let b = opened(&engines[1], &deliver(&engines[1], &body, 2));
    assert_eq!(a, b);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(store.len(), 1);
}

#[test]
fn a_panicking_key_function_costs_only_the_dedup_check() {
    let runs = Arc::new(AtomicUsize::new(0));
    let dedup = Dedup::in_memory().with_key(Kind::Text, |_: &Callback| -> Option<String> {
        panic!("key function panicked on purpose")
    });
    let engine = Engine::new(config(Mode::Safe), counting(&runs, 0))
        .unwrap()
        .with_clock(|| NOW)
        .with_dedup(dedup);
    let body = text(8, "still served");
    assert!(opened(&engine, &deliver(&engine, &body, 1)).contains("run #1: still served"));
    // Without a key the retry runs the handler again, and is answered all the same.
    assert!(opened(&engine, &deliver(&engine, &body, 2)).contains("run #2: still served"));
}

/// An [`AsyncDedupStore`](wechat_callback::dedup::AsyncDedupStore) over a memory store, whose
/// answers can be made to fail, to drive the engine's shared-store path without a network.
struct Awaited {
    inner: Arc<MemoryDedupStore>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Awaited {
    fn check(&self) -> Result<(), wechat_callback::Error> {
        if self.down.load(Ordering::SeqCst) {
            return Err(wechat_callback::Error::store_unavailable(
                "connection refused",
                None,
            ));
        }
        Ok(())
    }
}

impl wechat_callback::dedup::AsyncDedupStore for Awaited {
    fn claim(
        &self,
        key: &str,
        now: u64,
    ) -> wechat_callback::dedup::BoxFuture<
        Result<wechat_callback::dedup::Claim, wechat_callback::Error>,
    > {
        let answer = self.check().map(|()| self.inner.claim(key, now));
        Box::pin(std::future::ready(answer))
    }
    fn wait(&self, key: &str, timeout: Duration) -> wechat_callback::dedup::BoxFuture<()> {
        let (inner, key) = (Arc::clone(&self.inner), key.to_owned());
        Box::pin(async move { inner.wait(&key, timeout) })
    }
    fn complete(&self, key: &str, body: Bytes, now: u64) {
        self.inner.complete(key, body, now);
    }
    fn release(&self, key: &str) {
        self.inner.release(key);
    }
    fn check_nonce(
        &self,
        timestamp: &str,
        nonce: &str,
        digest: &[u8; 20],
        now: u64,
        window_s: u64,
    ) -> wechat_callback::dedup::BoxFuture<
        Result<wechat_callback::dedup::NonceCheck, wechat_callback::Error>,
    > {
        let answer = self.check().map(|()| {
            self.inner
                .check_nonce(timestamp, nonce, digest, now, window_s)
        });
        Box::pin(std::future::ready(answer))
    }
}

fn awaited_engines(
    runs: &Arc<AtomicUsize>,
    down: &Arc<std::sync::atomic::AtomicBool>,
    dedup: impl Fn(Dedup) -> Dedup,
) -> Vec<Engine> {
    let inner = Arc::new(MemoryDedupStore::default());
    (0..2)
        .map(|_| {
            let store = Awaited {
                inner: Arc::clone(&inner),
                down: Arc::clone(down),
            };
            Engine::new(config(Mode::Plain), counting(runs, 0))
                .unwrap()
                .with_clock(|| NOW)
                .with_dedup(dedup(Dedup::shared(store)))
        })
        .collect()
}

#[test]
fn a_shared_async_store_dedups_retries_and_nonces_across_engines() {
    let runs = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let engines = awaited_engines(&runs, &down, Dedup::reject_nonce_replays);
    assert!(
        engines[0].dedup().unwrap().store().is_none(),
        "not in process"
    );
    let body = text(77, "once");
    let a = opened(&engines[0], &deliver(&engines[0], &body, 1));
    let b = opened(&engines[1], &deliver(&engines[1], &body, 2));
    assert!(a.contains("run #1: once"));
    assert_eq!(a, b, "the retry on the other engine got the first reply");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // A captured signature reused with another body, on the other engine: refused.
    let forged = deliver(&engines[1], &text(78, "pay 1000"), 1);
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_shared_store_down_is_fail_open_by_default_and_fail_closed_on_request() {
    let runs = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let open = awaited_engines(&runs, &down, |dedup| dedup);
    let body = text(90, "store down");
    // Fail-open: both deliveries answered, the handler run for each (no deduplication).
    assert!(opened(&open[0], &deliver(&open[0], &body, 1)).contains("run #1"));
    assert!(opened(&open[1], &deliver(&open[1], &body, 2)).contains("run #2"));
    // Fail-closed: 503, the handler not run, WeChat retries later.
    let closed = awaited_engines(&runs, &down, Dedup::fail_closed);
    assert!(closed[0].dedup().unwrap().is_fail_closed());
    let refused = deliver(&closed[0], &body, 3);
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The store back: deduplicated again.
    down.store(false, Ordering::SeqCst);
    let first = opened(&closed[0], &deliver(&closed[0], &body, 4));
    assert!(first.contains("run #3"));
    assert_eq!(opened(&closed[1], &deliver(&closed[1], &body, 5)), first);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}
