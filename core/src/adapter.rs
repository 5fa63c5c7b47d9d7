//! For crates that host the engine on a server framework (adapters) and for tools that play
//! WeChat's side. Handler code never needs this module.
//!
//! An adapter does four things, all of which this module supplies except the reading itself:
//!
//! 1. refuses a request whose `Content-Length` is over the cap before reading it
//!    ([`refuse_oversized`], 413);
//! 2. reads the body with the framework's own tools, stopping at [`max_body_bytes`]
//!    ([`too_large`], 413) and giving up after [`body_read_timeout`] ([`timed_out`], 408);
//!    a body that breaks off gets [`bad_request`] (400);
//! 3. runs [`Engine::handle`] through [`run`], which calls it inline or on the runtime's
//!    blocking pool as the engine was built ([`Engine::nonblocking_handlers`]);
//! 4. converts the `http::Response<Bytes>` back.
//!
//! Every refusal is logged at `warn` with its kind and official code, like the engine's own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use crate::callback::Callback;
use crate::crypto::MsgCrypt;
use crate::engine::{Engine, ok_response, refuse};
use crate::error::{Error, ErrorKind};
use crate::reply::Reply;

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

/// A call of [`Engine::handle`], boxed for a blocking pool.
pub type BlockingJob = Box<dyn FnOnce() -> Response + Send + 'static>;

/// Runs [`Engine::handle`] for `request`: inline when the engine was built with
/// [`Engine::nonblocking_handlers`], otherwise on the blocking pool `spawn_blocking` hands the
/// job to (`tokio::task::spawn_blocking`, `actix_web::web::block`). When the pool reports the
/// job failed (it panicked outside the engine's own guard, or the pool is shutting down) the
/// answer is a 500, logged at `error`, which WeChat retries.
pub async fn run<P, F, E>(
    engine: &Arc<Engine>,
    request: http::Request<Bytes>,
    spawn_blocking: P,
) -> Response
where
    P: FnOnce(BlockingJob) -> F,
    F: Future<Output = Result<Response, E>>,
{
    if !engine.handlers_may_block {
        return engine.handle(request);
    }
    let engine = Arc::clone(engine);
    spawn_blocking(Box::new(move || engine.handle(request)))
        .await
        .unwrap_or_else(|_| {
            tracing::error!("callback handling failed on the blocking pool");
            let mut response = ok_response(
                "text/plain; charset=utf-8",
                Bytes::from_static(b"Internal Server Error"),
            );
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        })
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
    engine.render(callback, reply, random, nonce)
}

#[cfg(test)]
mod tests {
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
    }

    fn ready<T>(value: T) -> impl Future<Output = T> {
        std::future::ready(value)
    }

    /// Polls a future that is ready at once (no runtime in the core).
    fn block_on<T>(future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("future not ready"),
        }
    }

    #[test]
    fn run_uses_the_pool_unless_handlers_are_nonblocking() {
        let request = || {
            http::Request::post("/?signature=x")
                .body(Bytes::new())
                .unwrap()
        };
        let blocking = Arc::new(engine(100));
        let used = std::cell::Cell::new(false);
        let response = block_on(run(&blocking, request(), |job| {
            used.set(true);
            ready(Ok::<_, ()>(job()))
        }));
        assert!(used.get());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let failed = block_on(run(&blocking, request(), |_job| {
            ready(Err::<Response, _>(()))
        }));
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let inline = Arc::new(engine(100).nonblocking_handlers());
        let response = block_on(run(
            &inline,
            request(),
            |_job| -> std::future::Ready<Result<Response, ()>> {
                panic!("inline engines never use the pool")
            },
        ));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
