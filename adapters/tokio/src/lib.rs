#![doc = include_str!("../README.md")]

mod serve;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use wechat_callback::adapter::{BlockingJob, BoxFuture, Runtime};
use wechat_callback::reply::Reply;

pub use serve::{Limits, serve, shutdown_signal};

/// Handler tasks running now (spawned by [`Tokio`]), for graceful shutdown.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static FINISHED: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

/// Counts one running task for as long as it lives.
struct Running;

impl Running {
    fn start() -> Self {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        FINISHED.notify_waiters();
    }
}

/// How many handler tasks (async handlers, late-reply hooks) are running now.
pub fn running_handlers() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Waits until no handler task runs, for at most `grace`; whether they all finished.
pub async fn handlers_finished(grace: Duration) -> bool {
    let wait = async {
        loop {
            let finished = FINISHED.notified();
            if running_handlers() == 0 {
                return;
            }
            finished.await;
        }
    };
    tokio::time::timeout(grace, wait).await.is_ok()
}

/// tokio as the engine's [`Runtime`]: `tokio::spawn`, `tokio::time::sleep`,
/// `tokio::task::spawn_blocking`. Needs a tokio runtime with timers enabled in context (actix-web's
/// workers are one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture<()>) {
        let running = Running::start();
        tokio::spawn(async move {
            task.await;
            drop(running);
        });
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

/// tokio as the engine's [`Runtime`], with handler tasks on a runtime of their own: a
/// multi-thread tokio runtime (one worker per CPU, threads named `wechat-handlers`) built on
/// first use and kept for the life of the process. For frameworks whose worker runtimes stop
/// before a handler past its deadline has finished (actix-web drops its workers' tasks when it
/// stops): tasks here outlive them, and [`handlers_finished`] waits for them. Timers and the
/// blocking pool are the calling runtime's, as for [`Tokio`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Detached;

static HANDLERS: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("wechat-handlers")
        .enable_all()
        .build()
        .expect("the handlers' tokio runtime could not start")
});

impl Runtime for Detached {
    fn spawn(&self, task: BoxFuture<()>) {
        let running = Running::start();
        HANDLERS.spawn(async move {
            task.await;
            drop(running);
        });
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Tokio.sleep(duration)
    }

    fn spawn_blocking(&self, job: BlockingJob) -> BoxFuture<Result<Option<Reply>, ()>> {
        Tokio.spawn_blocking(job)
    }

    /// In the handlers' runtime's context: the timers and I/O a handler registers in its
    /// first poll (made on the request's thread, an actix worker's) belong to the runtime that
    /// outlives the worker, not to the worker's, which may stop before the handler finishes.
    fn in_spawn_context(&self, first_poll: &mut dyn FnMut()) {
        let _context = HANDLERS.enter();
        first_poll();
    }
}

static SHARED_DETACHED: LazyLock<Arc<Detached>> = LazyLock::new(|| Arc::new(Detached));

/// The shared [`Detached`] runtime handle.
pub fn detached() -> &'static Arc<Detached> {
    &SHARED_DETACHED
}

/// The shared [`Tokio`] runtime handle, as [`wechat_callback::adapter::handle`] takes it.
pub fn runtime() -> &'static Arc<Tokio> {
    &SHARED
}
