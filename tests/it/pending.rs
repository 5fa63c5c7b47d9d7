//! `adapter::handle` with async handlers: one that answers without waiting is finished in the
//! request's own task (nothing spawned), one that waits is spawned and its reply still makes
//! the answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use wechat_callback::adapter::{BlockingJob, BoxFuture, Runtime};
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Engine, Mode, Router};

const TOKEN: &str = "pendingToken";
const NOW: u64 = 1_700_000_000;

/// tokio's runtime, counting the tasks the engine spawns; `detached` says tasks go to a
/// runtime of their own (no first poll in the request's task).
#[derive(Default)]
struct Counting {
    spawned: AtomicUsize,
    detached: bool,
}

impl Runtime for Counting {
    fn spawn(&self, task: BoxFuture<()>) {
        self.spawned.fetch_add(1, Ordering::SeqCst);
        if self.detached {
            DETACHED.spawn(task);
        } else {
            wechat_callback_tokio::runtime().spawn(task);
        }
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        wechat_callback_tokio::runtime().sleep(duration)
    }
    fn spawn_blocking(&self, job: BlockingJob) -> BoxFuture<Result<Option<Reply>, ()>> {
        wechat_callback_tokio::runtime().spawn_blocking(job)
    }
    fn in_spawn_context(&self, first_poll: &mut dyn FnMut()) {
        if self.detached {
            // A runtime of its own: the handler's timer must register with it.
            let _context = DETACHED.enter();
            first_poll();
        } else {
            first_poll();
        }
    }
}

/// Pending once (waking itself), then ready: an await that does not complete at once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn answer(router: Router) -> (String, usize) {
    let config = crate::mp_config(TOKEN, Mode::Plain);
    let engine = Arc::new(Engine::new(config, router).unwrap().with_clock(|| NOW));
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[hi]]></Content><MsgId>42</MsgId></xml>"
    );
    let request = crate::signed_post(TOKEN, NOW, "7", &body, None, &[0; 16]);
    let runtime = Arc::new(Counting::default());
    let response = wechat_callback::adapter::handle(&engine, request, &runtime).await;
    assert_eq!(response.status(), 200);
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    (body, runtime.spawned.load(Ordering::SeqCst))
}

#[test]
fn an_async_handler_that_does_not_wait_is_not_spawned() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let router = Router::new().on_text(|text: Text| async move { Reply::text(text.content) });
    let (body, spawned) = runtime.block_on(answer(router));
    assert!(body.contains("<Content><![CDATA[hi]]></Content>"), "{body}");
    assert_eq!(spawned, 0);
}

#[test]
fn an_async_handler_that_waits_is_spawned_and_its_reply_still_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let router = Router::new().on_text(|text: Text| async move {
        YieldOnce(false).await;
        Reply::text(format!("waited: {}", text.content))
    });
    let (body, spawned) = runtime.block_on(answer(router));
    assert!(
        body.contains("<Content><![CDATA[waited: hi]]></Content>"),
        "{body}"
    );
    assert_eq!(spawned, 1);
}

/// What `Detached` does for actix: handler tasks on a runtime of their own.
static DETACHED: std::sync::LazyLock<tokio::runtime::Runtime> =
    std::sync::LazyLock::new(|| tokio::runtime::Runtime::new().unwrap());

/// A handler first polled in the request's task, then spawned on a runtime of its own, keeps
/// its timer when the request's runtime stops (as an actix worker's does at shutdown): its
/// late reply still comes.
#[test]
fn a_handler_moved_to_another_runtime_survives_the_request_runtime() {
    let (sender, receiver) = std::sync::mpsc::channel();
    let router = Router::new().on_text(|text: Text| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Reply::text(format!("late: {}", text.content))
    });
    let config = crate::mp_config(TOKEN, Mode::Plain);
    let engine = Engine::new(config, router)
        .unwrap()
        .with_clock(|| NOW)
        .with_deadline(Duration::from_millis(50))
        .with_late_reply_hook(move |late| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(late.reply);
            }
        });
    let engine = Arc::new(engine);
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[hi]]></Content><MsgId>43</MsgId></xml>"
    );
    let request = crate::signed_post(TOKEN, NOW, "8", &body, None, &[0; 16]);
    let runtime = Arc::new(Counting {
        detached: true,
        ..Counting::default()
    });
    let request_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response =
        request_runtime.block_on(wechat_callback::adapter::handle(&engine, request, &runtime));
    assert_eq!(response.body().as_ref(), b"success");
    assert_eq!(runtime.spawned.load(Ordering::SeqCst), 1);
    // The request's runtime stops, timers and all, while the handler still sleeps.
    drop(request_runtime);
    let late = receiver
        .recv_timeout(Duration::from_secs(5))
        .expect("the late reply");
    assert_eq!(late, Reply::text("late: hi"));
}
