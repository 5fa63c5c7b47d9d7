//! Routing rules (matchers, named kinds, order), observers, interceptors, and what each
//! callback leaves behind: its metrics and its `tracing` span.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use wechat_callback::message::{Click, Text};
use wechat_callback::reply::Reply;
use wechat_callback::telemetry::{CALLBACKS_TOTAL, HANDLER_SECONDS};
use wechat_callback::{Callback, Engine, Interceptor, Matcher, Mode, Router};

const TOKEN: &str = "routingToken";
const NOW: u64 = 1_700_000_000;

fn body(inner: &str, msg_id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime>{inner}<MsgId>{msg_id}</MsgId></xml>"
    )
}

fn text(content: &str, msg_id: u64) -> String {
    body(
        &format!("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"),
        msg_id,
    )
}

fn event(event: &str, key: &str, msg_id: u64) -> String {
    body(
        &format!(
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>\
             <EventKey><![CDATA[{key}]]></EventKey>"
        ),
        msg_id,
    )
}

fn engine(router: Router) -> Engine {
    Engine::new(crate::mp_config(TOKEN, Mode::Plain), router)
        .unwrap()
        .with_clock(|| NOW)
}

fn post(engine: &Engine, body: &str, nonce: &str) -> http::Response<Bytes> {
    engine.handle(crate::signed_post(TOKEN, NOW, nonce, body, None, &[0; 16]))
}

/// The `Content` of a plaintext text reply, or the body as it is (`success`).
fn answer(response: &http::Response<Bytes>) -> String {
    let body = String::from_utf8_lossy(response.body()).into_owned();
    match Callback::from_xml(&body) {
        Ok(reply) => reply
            .fields()
            .child_text("Content")
            .unwrap_or_default()
            .to_owned(),
        Err(_) => body,
    }
}

/// The examples' rules: `help` exactly, `MENU_` keys, everything else echoed.
fn examples_router() -> Router {
    Router::new()
        .on_matching(
            Matcher::content("help"),
            |_: &Text| "help: send any text and it comes back",
        )
        .on_matching(Matcher::event_key_prefix("MENU_"), |click: &Click| {
            format!("menu {}", &click.event_key["MENU_".len()..])
        })
        .on_text(|text: &Text| text.content.to_string())
}

#[test]
fn matchers_choose_handlers_in_registration_order() {
    let engine = engine(examples_router());
    let ask = |body: &str| answer(&post(&engine, body, "1"));
    assert!(ask(&text("help", 1)).starts_with("help:"));
    assert!(ask(&text(" help\n", 2)).starts_with("help:"), "trimmed");
    assert_eq!(ask(&text("help me", 3)), "help me");
    assert_eq!(ask(&text("HELP", 4)), "HELP");
    assert_eq!(ask(&event("CLICK", "MENU_news", 5)), "menu news");
    assert_eq!(ask(&event("CLICK", "OTHER", 6)), "success");

    // Order decides: an unconditional handler first shadows the rule after it.
    let shadowed = engine_with(
        Router::new()
            .on_text(|t: &Text| t.content.to_string())
            .on_matching(Matcher::content("help"), |_: &Text| "help: never"),
    );
    assert_eq!(answer(&post(&shadowed, &text("help", 7), "1")), "help");
}

fn engine_with(router: Router) -> Engine {
    engine(router)
}

#[test]
fn compositions_senders_and_rules_across_kinds() {
    let blocked = Matcher::from_users(["o_user", "o_other"]);
    let router = Router::new()
        .on_any_matching(
            blocked.clone().and(Matcher::msg_type("text")),
            |_: &Callback| "blocked text",
        )
        .on_matching(
            Matcher::content_prefix("a").or(Matcher::content_prefix("b")),
            |t: &Text| format!("a-or-b {}", t.content),
        )
        .on_matching(!Matcher::content("x"), |_: &Text| "not x")
        .fallback(|_: &Callback| "fallback");
    let ask = |router: &Router, body: &str| answer(&post(&engine(router.clone()), body, "1"));
    assert_eq!(ask(&router, &text("anything", 1)), "blocked text");
    // The sender rule covers texts only: the click goes on to the fallback.
    assert_eq!(ask(&router, &event("CLICK", "k", 2)), "fallback");
    let open = Router::new()
        .on_matching(
            Matcher::content_prefix("a").or(Matcher::content_prefix("b")),
            |t: &Text| format!("a-or-b {}", t.content),
        )
        .on_matching(!Matcher::content("x"), |_: &Text| "not x")
        .fallback(|_: &Callback| "fallback");
    assert_eq!(ask(&open, &text("bee", 3)), "a-or-b bee");
    assert_eq!(ask(&open, &text("cat", 4)), "not x");
    assert_eq!(ask(&open, &text("x", 5)), "fallback");
    let predicate = Router::new()
        .on_matching(
            Matcher::when(|c| c.head().create_time == NOW).and(Matcher::account("shop")),
            |_: &Text| "shop now",
        )
        .on_text(|_: &Text| "elsewhere");
    let shop = engine(predicate.clone()).with_account_id("shop");
    assert_eq!(answer(&post(&shop, &text("t", 6), "1")), "shop now");
    assert_eq!(
        answer(&post(&engine(predicate), &text("t", 7), "1")),
        "elsewhere"
    );
}

#[test]
fn kinds_registered_by_name_get_every_field() {
    let router = Router::new()
        .on_event_named("some_new_event", |callback: &Callback| {
            format!(
                "new {}",
                callback.fields().child_text("Extra").unwrap_or_default()
            )
        })
        .on_message_named("brand_new_type", |callback: &Callback| {
            format!("type {}", callback.head().msg_type)
        })
        .on_event_named("CLICK", |callback: &Callback| {
            format!(
                "named click {}",
                callback.fields().child_text("EventKey").unwrap()
            )
        });
    let engine = engine(router);
    let new_event = body(
        "<MsgType>event</MsgType><Event>Some_New_Event</Event><Extra>kept</Extra>",
        1,
    );
    assert_eq!(answer(&post(&engine, &new_event, "1")), "new kept");
    let other_event = body("<MsgType>event</MsgType><Event>another_event</Event>", 2);
    assert_eq!(answer(&post(&engine, &other_event, "1")), "success");
    let new_type = body("<MsgType>brand_new_type</MsgType><A>1</A>", 3);
    assert_eq!(
        answer(&post(&engine, &new_type, "1")),
        "type brand_new_type"
    );
    assert_eq!(
        answer(&post(&engine, &event("click", "K", 4), "1")),
        "named click K"
    );
}

#[test]
fn observers_see_every_callback_and_cannot_change_the_answer() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let spawned = Arc::new(AtomicUsize::new(0));
    let router = examples_router()
        .observe({
            let seen = Arc::clone(&seen);
            move |callback: &Callback| seen.lock().unwrap().push(callback.kind().label())
        })
        .observe(|_: &Callback| panic!("a broken observer"))
        .observe({
            let spawned = Arc::clone(&spawned);
            move |_: Arc<Callback>| {
                let spawned = Arc::clone(&spawned);
                async move {
                    spawned.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .observe(|_: Arc<Callback>| async { panic!("a broken async observer") });
    let engine = engine(router);
    assert!(answer(&post(&engine, &text("help", 1), "1")).starts_with("help:"));
    // Answered `success` (no handler for a subscribe): seen all the same.
    assert_eq!(
        answer(&post(&engine, &event("subscribe", "", 2), "2")),
        "success"
    );
    assert_eq!(answer(&post(&engine, &text("hi", 3), "3")), "hi");
    // A retry (same MsgId) is answered from the dedup store: not seen again.
    assert_eq!(answer(&post(&engine, &text("hi", 3), "4")), "hi");
    assert_eq!(
        *seen.lock().unwrap(),
        ["text", "event:subscribe", "text"],
        "each message once, in order"
    );
    assert_eq!(spawned.load(Ordering::SeqCst), 3);
}

/// On a runtime, an async observer is spawned: the answer does not wait for it.
#[test]
fn an_async_observer_never_delays_the_answer() {
    let release = Arc::new(tokio::sync::Notify::new());
    let done = Arc::new(AtomicUsize::new(0));
    let router = examples_router().observe({
        let (release, done) = (Arc::clone(&release), Arc::clone(&done));
        move |_: Arc<Callback>| {
            let (release, done) = (Arc::clone(&release), Arc::clone(&done));
            async move {
                release.notified().await;
                done.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let engine = Arc::new(engine(router));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_runtime = Arc::new(wechat_callback_tokio::Tokio);
    runtime.block_on(async {
        let request = crate::signed_post(TOKEN, NOW, "1", &text("hi", 1), None, &[0; 16]);
        // If the answer waited for the observer, this would never finish: it is released
        // only after the answer is in.
        let response = tokio::time::timeout(
            Duration::from_secs(10),
            wechat_callback::adapter::handle(&engine, request, &tokio_runtime),
        )
        .await
        .expect("answered without waiting for the observer");
        assert_eq!(answer(&response), "hi");
        assert_eq!(done.load(Ordering::SeqCst), 0);
        release.notify_one();
        for _ in 0..100 {
            if done.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            done.load(Ordering::SeqCst),
            1,
            "the observer ran to its end"
        );
    });
}

struct Signature(&'static str);

impl Interceptor for Signature {
    fn after(&self, _: &Callback, reply: Reply) -> Reply {
        match reply {
            Reply::Text { content } => Reply::text(format!("{content}{}", self.0)),
            other => other,
        }
    }
}

#[test]
fn interceptors_answer_instead_and_change_replies_on_the_way_out() {
    let handled = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .on_text({
            let handled = Arc::clone(&handled);
            move |t: &Text| {
                handled.fetch_add(1, Ordering::SeqCst);
                t.content.to_string()
            }
        })
        .intercept(Signature(" [1]"))
        .intercept(|callback: &Callback| {
            (callback.fields().child_text("Content") == Some("maintenance"))
                .then(|| Reply::text("back soon"))
        })
        .intercept(Signature(" [3]"));
    let engine = engine(router);
    // After: in reverse order, the first registered last.
    assert_eq!(answer(&post(&engine, &text("hi", 1), "1")), "hi [3] [1]");
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    // Before: the second answers instead of the handlers, and the replies still go out
    // through every `after`.
    assert_eq!(
        answer(&post(&engine, &text("maintenance", 2), "2")),
        "back soon [3] [1]"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1, "the handler did not run");
}

#[test]
fn a_panicking_interceptor_costs_its_reply_only() {
    struct Broken;
    impl Interceptor for Broken {
        fn after(&self, callback: &Callback, reply: Reply) -> Reply {
            assert!(
                callback.fields().child_text("Content") != Some("boom"),
                "broken"
            );
            reply
        }
    }
    let engine = engine(examples_router().intercept(Broken));
    assert_eq!(answer(&post(&engine, &text("boom", 1), "1")), "success");
    assert_eq!(answer(&post(&engine, &text("fine", 2), "2")), "fine");
}

/// `(kind, outcome)` → count of `wechat_callbacks_total`, and the number of handler-time
/// samples, from a snapshot.
fn counted(recorder: &DebuggingRecorder) -> (Vec<(String, String, String, u64)>, usize) {
    let mut counts = Vec::new();
    let mut samples = 0;
    for (key, _, _, value) in recorder.snapshotter().snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
                .unwrap_or_default()
        };
        match value {
            DebugValue::Counter(n) if key.name() == CALLBACKS_TOTAL => {
                counts.push((label("account"), label("kind"), label("outcome"), n));
            }
            DebugValue::Histogram(values) if key.name() == HANDLER_SECONDS => {
                samples += values.len();
            }
            _ => {}
        }
    }
    counts.sort();
    (counts, samples)
}

#[test]
fn callbacks_are_counted_ok_refused_deduplicated_and_late() {
    let recorder = DebuggingRecorder::new();
    let router =
        examples_router().on_event_subscribe(|_: wechat_callback::message::Subscribe| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "late welcome"
        });
    let engine = Arc::new(
        engine(router)
            .with_account_id("shop")
            .with_deadline(Duration::from_millis(50)),
    );
    metrics::with_local_recorder(&recorder, || {
        post(&engine, &text("hi", 1), "1");
        post(&engine, &text("hi", 1), "2"); // a retry
        let forged = crate::signed_post("wrongToken", NOW, "3", &text("x", 2), None, &[0; 16]);
        assert_eq!(engine.handle(forged).status(), 401);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tokio_runtime = Arc::new(wechat_callback_tokio::Tokio);
        runtime.block_on(async {
            let request =
                crate::signed_post(TOKEN, NOW, "4", &event("subscribe", "", 3), None, &[0; 16]);
            let response = wechat_callback::adapter::handle(&engine, request, &tokio_runtime).await;
            assert_eq!(answer(&response), "success");
        });
    });
    let (counts, samples) = counted(&recorder);
    let row = |kind: &str, outcome: &str, n: u64| {
        ("shop".to_owned(), kind.to_owned(), outcome.to_owned(), n)
    };
    assert_eq!(
        counts,
        [
            row("event:subscribe", "late", 1),
            row("none", "signature", 1),
            row("text", "deduplicated", 1),
            row("text", "ok", 1),
        ]
    );
    assert_eq!(samples, 1, "handler time of the one answered in time");
}

/// A span per callback with its fields, and nothing of the message in it.
#[test]
fn a_span_per_callback_carries_its_fields_and_no_content() {
    use tracing_subscriber::layer::SubscriberExt as _;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);
    struct Fields<'a>(&'a mut String);
    impl tracing::field::Visit for Fields<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={value:?} ", field.name()));
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut line = format!("new {} ", attrs.metadata().name());
            attrs.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push(line);
        }
        fn on_record(
            &self,
            _: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut line = "record ".to_owned();
            values.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push(line);
        }
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut line = "event ".to_owned();
            event.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push(line);
        }
    }
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let engine = engine(examples_router()).with_account_id("shop");
    tracing::subscriber::with_default(subscriber, || {
        post(&engine, &text("secret words", 42), "1");
    });
    let lines = capture.0.lock().unwrap().join("\n");
    assert!(
        lines.contains(r#"new wechat_callback account="shop" kind="text" msg_id="42""#),
        "{lines}"
    );
    assert!(lines.contains(r#"outcome="ok""#), "{lines}");
    assert!(lines.contains("status=200"), "{lines}");
    assert!(lines.contains("handler_ms="), "{lines}");
    assert!(!lines.contains("secret words"), "content leaked: {lines}");
    assert!(!lines.contains("o_user"), "openid leaked: {lines}");
    assert!(!lines.contains(TOKEN), "token leaked: {lines}");
}
