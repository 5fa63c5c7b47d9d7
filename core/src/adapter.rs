//! For crates that host the engine on a server framework (adapters) and for tools that play
//! WeChat's side. Handler code never needs this module.
//!
//! An adapter does four things, all of which this module supplies except the reading itself:
//!
//! 1. refuses, before reading any body, a `CONNECT` ([`refuse_connect`], 405: its body is a
//!    tunnel that never ends) and a request whose `Content-Length` is over the cap
//!    ([`refuse_oversized`], 413);
//! 2. reads the body with the framework's own tools, stopping at [`max_body_bytes`]
//!    ([`too_large`], 413) and giving up after [`body_read_timeout`] ([`timed_out`], 408);
//!    a body that breaks off gets [`bad_request`] (400);
//! 3. answers through [`handle`], given a [`Runtime`] (`wechat-callback-tokio` has tokio's):
//!    synchronous handlers inline, async ones on the runtime, blocking ones on its pool, the
//!    deadline kept, late replies handed to the hook, waiting retries not blocking a thread;
//! 4. converts the `http::Response<Bytes>` back.
//!
//! [`handle`] is made of the steps below, for a host that drives them itself: [`receive`],
//! then [`dispatch`] and [`respond`] (or, past the deadline, [`respond_late`] and
//! [`late_reply`]), or [`retry`] while a retry waits; [`claim`] when a shared dedup store
//! (Redis) is to be asked. Each is synchronous but [`claim`], [`Pending::finish`] and a shared
//! store's wait ([`Retry::wait_shared`]), which are futures.
//!
//! Every refusal is logged at `warn` with its kind and official code, like the engine's own.

mod oneshot;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;

use crate::callback::Callback;
use crate::crypto::MsgCrypt;
use crate::engine::{Engine, PendingRecord, refuse};
use crate::error::{Error, ErrorKind};
use crate::reply::Reply;

pub use crate::engine::{
    Claiming, Dispatch, Inbound, Late, LateReply, Pending, RequestParts, Retry, Step,
};
pub use crate::router::{BlockingJob, BoxFuture};

/// A response as the engine builds them.
pub type Response = http::Response<Bytes>;

/// The body cap in bytes ([`Config::with_max_body_bytes`](crate::Config::with_max_body_bytes)):
/// stop reading past it.
pub fn max_body_bytes(engine: &Engine) -> usize {
    engine.config().max_body_bytes
}

/// How long to wait for the whole body once the request head has arrived
/// ([`Config::with_body_read_timeout`](crate::Config::with_body_read_timeout)).
pub fn body_read_timeout(engine: &Engine) -> Duration {
    engine.config().body_read_timeout
}

/// The 405 response (with `Allow: GET, POST`) to send, unread, for `CONNECT`, whose body is a
/// tunnel that never ends (the method by name, so any `http` version fits); `None` for every
/// other method. Other methods are read as usual and the engine answers them 405: reading the
/// body keeps a kept-alive connection usable for the client's next request.
pub fn refuse_connect(method: &str) -> Option<Response> {
    (method == "CONNECT").then(|| refuse(&Error::new(ErrorKind::MethodNotAllowed)))
}

/// The 413 response to send, unread, when a `Content-Length` header value (its raw bytes, so
/// any `http` version fits) announces a body over the cap; `None` when it does not. A
/// missing or unreadable value passes: the capped read catches what it hides.
pub fn refuse_oversized(engine: &Engine, content_length: Option<&[u8]>) -> Option<Response> {
    // Digits too many for a u64 announce more than any cap.
    let announced = content_length
        .map(<[u8]>::trim_ascii)
        .filter(|value| !value.is_empty() && value.iter().all(u8::is_ascii_digit))
        .map(|digits| {
            std::str::from_utf8(digits)
                .ok()
                .and_then(|digits| digits.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        });
    announced
        .filter(|&length| usize::try_from(length).map_or(true, |n| n > max_body_bytes(engine)))
        .map(|length| too_large(engine, length))
}

/// The 413 response for a body that is, or grew, past the cap (`seen` bytes so far, or the
/// `Content-Length` announced), logged like any refused callback.
pub fn too_large(engine: &Engine, seen: u64) -> Response {
    refuse(&Error::with_detail(
        ErrorKind::TooLarge,
        format!("{seen} bytes or more, limit {}", max_body_bytes(engine)),
    ))
}

/// The 408 response for a body that did not arrive within [`body_read_timeout`], logged like
/// any refused callback.
pub fn timed_out(engine: &Engine) -> Response {
    refuse(&Error::with_detail(
        ErrorKind::RequestTimeout,
        format!("no whole body within {:?}", body_read_timeout(engine)),
    ))
}

/// The 400 response for a request the framework could not hand over whole (a body that broke
/// off, a URI it could not carry), logged with `detail`, which must not carry content.
pub fn bad_request(detail: impl std::fmt::Display) -> Response {
    refuse(&Error::with_detail(
        ErrorKind::BadRequest,
        detail.to_string(),
    ))
}

/// What an adapter's async runtime does for the engine: spawn, sleep, run blocking work.
/// Implemented for tokio by `wechat-callback-tokio`; the core depends on no runtime.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `task` to completion in the background.
    fn spawn(&self, task: BoxFuture<()>);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;

    /// Runs a synchronous handler call on a pool where blocking is allowed; `Err` when it
    /// panicked.
    fn spawn_blocking(&self, job: BlockingJob) -> BoxFuture<Result<Option<Reply>, ()>>;

    /// Runs `first_poll` (a handler's first poll, made in the request's own task before the
    /// handler goes to [`Runtime::spawn`]) in the context of the runtime `spawn` uses, so the
    /// timers and I/O the handler registers there belong to the runtime it will finish on.
    /// The default runs it as it is: right when `spawn` runs tasks on the request's runtime.
    fn in_spawn_context(&self, first_poll: &mut dyn FnMut()) {
        first_poll();
    }
}

/// How often a retry waiting for its first delivery asks the dedup store again.
pub const RETRY_POLL: Duration = Duration::from_millis(20);

/// Answers one request whose body has been read, on `runtime`: the whole of what an adapter
/// does after reading the body.
///
/// - Synchronous handlers run inline. An async handler is polled once inline (in the
///   context [`Runtime::in_spawn_context`] gives): if it answers without waiting, that is the
///   answer (no task, no timer); otherwise it, like a blocking one, is spawned on the runtime,
///   so it runs to completion whatever happens to the request.
/// - If the handlers have not answered by the engine's deadline
///   ([`Engine::with_deadline`]), the answer is `success` (WeChat neither retries nor shows
///   the user an error) and the reply, when it comes, goes to the late-reply hook
///   ([`Engine::with_late_reply_hook`]).
/// - A shared dedup store (Redis) is awaited, never blocking a runtime worker.
/// - A retry whose first delivery is still running waits without blocking a thread (asking
///   the in-process store every [`RETRY_POLL`], woken by a shared one), and gets the first
///   reply if it comes within
///   [`Dedup::retry_wait`](crate::dedup::Dedup::retry_wait) and the deadline, else `success`.
///   The handlers run once per message either way.
pub async fn handle<R: Runtime>(
    engine: &Arc<Engine>,
    request: http::Request<Bytes>,
    runtime: &Arc<R>,
) -> Response {
    let record = PendingRecord::of_request(engine, &request);
    let response = run(engine, receive(engine, &request), runtime).await;
    if let Some(record) = record {
        record.answered(engine, &response);
    }
    response
}

/// [`handle`] from the [`RequestParts`], so the URI is not rebuilt and parsed again.
pub async fn handle_parts<R: Runtime>(
    engine: &Arc<Engine>,
    parts: RequestParts<'_>,
    runtime: &Arc<R>,
) -> Response {
    let record = PendingRecord::of_parts(engine, &parts);
    let response = run(engine, receive_parts(engine, parts), runtime).await;
    if let Some(record) = record {
        record.answered(engine, &response);
    }
    response
}

async fn run<R: Runtime>(engine: &Arc<Engine>, mut step: Step, runtime: &Arc<R>) -> Response {
    loop {
        match step {
            Step::Respond(response) => return response,
            Step::Dispatch(inbound) => {
                if let Some(observers) = observe(engine, &inbound) {
                    runtime.spawn(observers);
                }
                return match dispatch(engine, &inbound) {
                    Dispatch::Ready(reply) => respond(engine, inbound, &reply),
                    Dispatch::Pending(pending) => {
                        run_pending(engine, inbound, pending, runtime).await
                    }
                };
            }
            Step::Wait(retry) => {
                let limit = engine.retry_wait().min(engine.deadline());
                let left = limit.saturating_sub(retry.waited());
                if left.is_zero() {
                    return give_up(engine, &retry);
                }
                match retry.wait_shared(left) {
                    Some(wait) => wait.await,
                    None => runtime.sleep(left.min(RETRY_POLL)).await,
                }
                step = self::retry(engine, retry);
            }
            Step::Claim(claiming) => step = claim(engine, claiming).await,
        }
    }
}

/// Spawns the pending handler work and waits for it until the deadline.
async fn run_pending<R: Runtime>(
    engine: &Arc<Engine>,
    inbound: Inbound,
    pending: Pending,
    runtime: &Arc<R>,
) -> Response {
    // Polled once here first, in the spawning runtime's context: a handler that answers
    // without waiting (an async handler that awaited nothing pending) is done with no task
    // spawned, no channel and no timer. Otherwise the boxed work moves into a task on the
    // runtime (its contents stay pinned).
    let mut work: BoxFuture<Reply> = {
        let spawner = Arc::clone(runtime);
        let work = pending.finish(move |job| spawner.spawn_blocking(job));
        Box::pin(tracing::Instrument::instrument(
            work,
            inbound.span().clone(),
        ))
    };
    let first = std::future::poll_fn(|cx| {
        let mut first = Poll::Pending;
        runtime.in_spawn_context(&mut || first = work.as_mut().poll(cx));
        Poll::Ready(first)
    })
    .await;
    if let Poll::Ready(reply) = first {
        return respond(engine, inbound, &reply);
    }
    let (sender, mut receiver) = oneshot::channel();
    let late = Late {
        appid: Arc::clone(&engine.appid),
        callback: Arc::clone(inbound.callback()),
    };
    let task = {
        let (engine, runtime) = (Arc::clone(engine), Arc::clone(runtime));
        async move {
            let reply = work.await;
            if let Err(reply) = sender.send(reply) {
                // The answer went out without it: the deadline passed.
                if let Some(hook) = engine.late_reply(late, reply) {
                    runtime.spawn(hook);
                }
            }
        }
    };
    runtime.spawn(Box::pin(task));
    let left = engine.deadline().saturating_sub(inbound.elapsed());
    let mut sleep = runtime.sleep(left);
    let reply = std::future::poll_fn(|cx| {
        if let Poll::Ready(reply) = Pin::new(&mut receiver).poll(cx) {
            return Poll::Ready(reply);
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await;
    // A reply sent between the deadline and the close still makes the answer.
    match reply.or_else(|| receiver.close()) {
        Some(reply) => respond(engine, inbound, &reply),
        None => {
            tracing::info!(
                kind = ?inbound.callback().kind(),
                deadline_ms = engine.deadline().as_millis() as u64,
                "handlers did not answer by the deadline; answered success"
            );
            respond_late(engine, inbound).0
        }
    }
}

/// The first step after the body is read: verifies (signature, timestamp), opens (decrypt,
/// parse) and claims the callback in the dedup store, running no handler.
pub fn receive(engine: &Engine, request: &http::Request<Bytes>) -> Step {
    engine.receive(request)
}

/// [`receive`] from the [`RequestParts`] ([`handle_parts`]).
pub fn receive_parts(engine: &Engine, parts: RequestParts<'_>) -> Step {
    engine.receive_parts(parts)
}

/// Runs the router's synchronous observers for a received callback and returns the async
/// observers' work, to spawn on the runtime (never awaited before answering). Call it before
/// [`dispatch`]; [`handle`] does.
pub fn observe(engine: &Engine, inbound: &Inbound) -> Option<BoxFuture<()>> {
    engine.observe(inbound)
}

/// Starts the handlers of a received callback: synchronous ones run here until one answers;
/// an async or blocking one comes back as [`Dispatch::Pending`], for the runtime to finish.
pub fn dispatch(engine: &Engine, inbound: &Inbound) -> Dispatch {
    engine.dispatch(inbound)
}

/// The answer for the handlers' `reply`: `success`, the reply XML, or its encrypted envelope
/// (fresh random bytes and nonce); the dedup claim is completed with it, so retries get it.
pub fn respond(engine: &Engine, inbound: Inbound, reply: &Reply) -> Response {
    engine.respond(inbound, reply)
}

/// The answer when the deadline passed first: `success`, recorded for the retries; and a
/// [`Late`] to hand the handlers' reply to [`late_reply`] when it comes.
pub fn respond_late(engine: &Engine, inbound: Inbound) -> (Response, Late) {
    engine.respond_late(inbound)
}

/// The late-reply hook's future for a reply that came after the deadline, to run on the
/// runtime; `None` when there is nothing to run (no hook: logged at `info`; or the reply is
/// `success`).
pub fn late_reply(engine: &Engine, late: Late, reply: Reply) -> Option<BoxFuture<()>> {
    engine.late_reply(late, reply)
}

/// Asks a shared dedup store ([`AsyncDedupStore`](crate::dedup::AsyncDedupStore)) for a
/// [`Step::Claim`]: first the nonce check (with
/// [`Dedup::reject_nonce_replays`](crate::dedup::Dedup::reject_nonce_replays)), then the claim.
/// The next step as [`receive`] would give it; when the store fails, [`Step::Dispatch`]
/// without deduplication (fail-open, logged and counted) or a 503 ([`Step::Respond`], with
/// [`Dedup::fail_closed`](crate::dedup::Dedup::fail_closed)).
pub async fn claim(engine: &Engine, claiming: Claiming) -> Step {
    engine.ask_shared(claiming).await.into()
}

/// Asks the dedup store again for a waiting retry: the first reply ([`Step::Respond`]), still
/// running ([`Step::Wait`]), or released by a failed first delivery ([`Step::Dispatch`]: this
/// delivery runs the handlers); with a shared store, [`Step::Claim`] to await.
pub fn retry(engine: &Engine, retry: Retry) -> Step {
    engine.retry(retry)
}

/// The answer to a retry that waited long enough for its first delivery: `success`, logged at
/// `warn`.
pub fn give_up(engine: &Engine, retry: &Retry) -> Response {
    engine.give_up(retry)
}

/// The engine's codec, when an EncodingAESKey is configured: what a tool needs to encrypt a
/// request for this engine or open its reply.
pub fn crypt(engine: &Engine) -> Option<&MsgCrypt> {
    engine.crypt()
}

/// The engine's clock, Unix seconds ([`Engine::with_clock`]).
pub fn now(engine: &Engine) -> u64 {
    engine.now()
}

/// The response body the engine would send for `reply` to `callback`, with the randomness
/// fixed: 16 `random` bytes to frame an encrypted reply and its `nonce` (both unused for a
/// plaintext callback or the empty reply), `TimeStamp` / `CreateTime` from the engine's clock.
/// For known-answer tests and tools.
///
/// # Errors
/// [`ErrorKind::Config`] if `callback` was encrypted but the engine has no EncodingAESKey.
pub fn render(
    engine: &Engine,
    callback: &Callback,
    reply: &Reply,
    random: &[u8; 16],
    nonce: u32,
) -> Result<String, Error> {
    // The engine writes only UTF-8: XML, JSON, base64 and `success`.
    let body = engine.render(callback, reply, random, nonce)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::{Config, Router, Token};

    fn engine(cap: usize) -> Engine {
        let config =
            Config::official_account(Token::new("t").unwrap(), "wx1").with_max_body_bytes(cap);
        Engine::new(config, Router::new()).unwrap()
    }

    #[test]
    fn content_length_over_the_cap_is_413() {
        let engine = engine(10);
        assert!(refuse_oversized(&engine, Some(b"10")).is_none());
        assert!(refuse_oversized(&engine, Some(b" 10 ")).is_none());
        assert!(refuse_oversized(&engine, None).is_none());
        assert!(refuse_oversized(&engine, Some(b"ten")).is_none());
        let refused = refuse_oversized(&engine, Some(b"11")).unwrap();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let huge = refuse_oversized(&engine, Some(b"99999999999999999999")).unwrap();
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(timed_out(&engine).status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(bad_request("broke off").status(), StatusCode::BAD_REQUEST);
        assert!(refuse_connect("GET").is_none() && refuse_connect("PUT").is_none());
        let connect = refuse_connect("CONNECT").unwrap();
        assert_eq!(connect.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(connect.headers()["allow"], "GET, POST");
    }
}
