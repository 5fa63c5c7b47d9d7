#![doc = include_str!("../README.md")]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use wechat_callback::adapter::{BlockingJob, BoxFuture, Runtime};
use wechat_callback::reply::Reply;

/// tokio as the engine's [`Runtime`]: `tokio::spawn`, `tokio::time::sleep`,
/// `tokio::task::spawn_blocking`. Needs a tokio runtime with timers enabled in context (actix-web's
/// workers are one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture<()>) {
        tokio::spawn(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn spawn_blocking(&self, job: BlockingJob) -> BoxFuture<Result<Option<Reply>, ()>> {
        let handle = tokio::task::spawn_blocking(job);
        Box::pin(async move { handle.await.map_err(|_| ()) })
    }
}

static SHARED: LazyLock<Arc<Tokio>> = LazyLock::new(|| Arc::new(Tokio));

/// The shared [`Tokio`] runtime handle, as [`wechat_callback::adapter::handle`] takes it.
pub fn runtime() -> &'static Arc<Tokio> {
    &SHARED
}
