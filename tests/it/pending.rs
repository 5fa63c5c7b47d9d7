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
        wechat_callback_tokio::runtime().spawn(task);
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        wechat_callback_tokio::runtime().sleep(duration)
    }
    fn spawn_blocking(&self, job: BlockingJob) -> BoxFuture<Result<Option<Reply>, ()>> {
        wechat_callback_tokio::runtime().spawn_blocking(job)
    }
    fn polls_inline(&self) -> bool {
        !self.detached
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
    answer_on(router, Counting::default()).await
}

async fn answer_on(router: Router, runtime: Counting) -> (String, usize) {
    let config = crate::mp_config(TOKEN, Mode::Plain);
    let engine = Arc::new(Engine::new(config, router).unwrap().with_clock(|| NOW));
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[hi]]></Content><MsgId>42</MsgId></xml>"
    );
    let request = crate::signed_post(TOKEN, NOW, "7", &body, None, &[0; 16]);
    let runtime = Arc::new(runtime);
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

#[test]
fn a_runtime_whose_tasks_outlive_the_request_gets_even_a_fast_handler_spawned() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let router = Router::new().on_text(|text: Text| async move { Reply::text(text.content) });
    let detached = Counting {
        detached: true,
        ..Counting::default()
    };
    let (body, spawned) = runtime.block_on(answer_on(router, detached));
    assert!(body.contains("<Content><![CDATA[hi]]></Content>"), "{body}");
    assert_eq!(spawned, 1);
}
