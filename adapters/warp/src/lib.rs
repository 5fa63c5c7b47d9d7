#![doc = include_str!("../README.md")]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::{Buf, BufMut as _, Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use warp::Filter;
use wechat_callback::Engine;
use wechat_callback::accounts::Accounts;
use wechat_callback::adapter;

/// The engine as a filter: extracts the method, query and body and answers with the engine's
/// response. Never rejects.
pub fn filter(
    engine: impl Into<Arc<Engine>>,
) -> impl Filter<Extract = (http::Response<Bytes>,), Error = warp::Rejection> + Clone {
    let engine: Arc<Engine> = engine.into();
    request().then(move |method, query, length, body| {
        respond(Arc::clone(&engine), None, method, query, length, body)
    })
}

/// Many accounts as one filter: account `id` answers at the path segment `{id}` (mount it
/// under a prefix: `warp::path("wechat").and(accounts_filter(accounts))` serves
/// `/wechat/{id}`), an open platform's authorizers and a WeCom suite's corps at
/// `{id}/{appid or corpid}` ([`Accounts::route`]). A path naming no account gets 404 before
/// the body is read. Never rejects.
pub fn accounts_filter(
    accounts: impl Into<Arc<Accounts>>,
) -> impl Filter<Extract = (http::Response<Bytes>,), Error = warp::Rejection> + Clone {
    let accounts: Arc<Accounts> = accounts.into();
    warp::path::tail().and(request()).then(
        move |tail: warp::path::Tail, method, query, length, body| {
            let found = accounts
                .route(tail.as_str())
                .map(|(engine, sub)| (Arc::clone(engine), sub.map(str::to_owned)));
            async move {
                match found {
                    Some((engine, on_behalf_of)) => {
                        respond(engine, on_behalf_of, method, query, length, body).await
                    }
                    None => not_found(),
                }
            }
        },
    )
}

/// What the engine reads of a request: the method, the raw query (empty when there is none),
/// the `Content-Length` header and the body, unread. Never rejects.
fn request() -> impl Filter<
    Extract = (
        http::Method,
        String,
        Option<String>,
        impl Stream<Item = Result<impl Buf, warp::Error>> + Send + 'static,
    ),
    Error = warp::Rejection,
> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(query)
        .and(warp::header::optional::<String>("content-length"))
        .and(warp::body::stream())
}

fn not_found() -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(b"Not Found"));
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    response
}

pub use wechat_callback_tokio::{Limits, shutdown_signal};

/// Serves `routes` (as `warp::service(routes)`) on every connection `listener` accepts, over
/// HTTP/1.1, within [`Limits::default`]: a client gets 10 s to send a request head (and a
/// kept-alive connection 10 s of idleness), at most 4,096 connections are open at once, accept
/// errors (running out of file descriptors) are logged and retried after 50 ms. These are the
/// limits `warp::serve` does not keep; the hyper adapter's `serve` keeps the same. Runs until
/// the task is dropped; see [`serve_with`].
///
/// ```no_run
/// use warp::Filter as _;
/// # async fn run(engine: wechat_callback::Engine) -> std::io::Result<()> {
/// let routes = warp::path("wechat").and(warp::path::end()).and(wechat_callback_warp::filter(engine));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// wechat_callback_warp::serve(listener, warp::service(routes)).await
/// # }
/// ```
///
/// # Errors
/// None so far; the `Result` is for the caller's `?`.
pub async fn serve<S, B>(listener: tokio::net::TcpListener, service: S) -> std::io::Result<()>
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    serve_with(listener, service, Limits::default(), std::future::pending()).await
}

/// [`serve`] within `limits`, until `shutdown` completes (for example [`shutdown_signal`]);
/// then it stops accepting, lets in-flight requests finish and handlers past their deadline
/// run to completion, up to [`Limits::grace_period`], and returns.
///
/// # Errors
/// As [`serve`].
pub async fn serve_with<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = hyper_util::service::TowerToHyperService::new(service);
    wechat_callback_tokio::serve(listener, service, limits, shutdown).await
}

/// Reads the whole body, or answers 413 as soon as it passes the cap (400 if it breaks off).
/// A body that arrives in one chunk (the usual case) is kept as it came, without a copy.
async fn read<S, B>(engine: &Engine, body: S) -> Result<Bytes, http::Response<Bytes>>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let limit = adapter::max_body_bytes(engine);
    let mut first = Bytes::new();
    let mut rest = BytesMut::new();
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(adapter::bad_request)?;
        let seen = first.len() + rest.len() + chunk.remaining();
        if seen > limit {
            return Err(adapter::too_large(engine, seen as u64));
        }
        if first.is_empty() && rest.is_empty() {
            first = chunk.copy_to_bytes(chunk.remaining());
        } else {
            if rest.is_empty() {
                rest.reserve(seen);
                rest.extend_from_slice(&first);
                first = Bytes::new();
            }
            rest.put(chunk);
        }
    }
    Ok(if rest.is_empty() {
        first
    } else {
        rest.freeze()
    })
}

/// Answers one request: reads the body with the cap and the time limit, then runs the engine.
async fn respond<S, B>(
    engine: Arc<Engine>,
    on_behalf_of: Option<String>,
    method: http::Method,
    query: String,
    content_length: Option<String>,
    body: S,
) -> http::Response<Bytes>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    if let Some(refused) = adapter::refuse_connect(method.as_str()) {
        return refused;
    }
    if let Some(refused) =
        adapter::refuse_oversized(&engine, content_length.as_deref().map(str::as_bytes))
    {
        return refused;
    }
    let read = read(&engine, body);
    let body = match tokio::time::timeout(adapter::body_read_timeout(&engine), read).await {
        Err(_elapsed) => return adapter::timed_out(&engine),
        Ok(Err(response)) => return response,
        Ok(Ok(body)) => body,
    };
    // The engine reads only the method, the query and the body: handed over as they are,
    // without a URI to build and parse again.
    let query = wechat_callback::CallbackQuery::from_query_string(query);
    let runtime = wechat_callback_tokio::runtime();
    let parts = adapter::RequestParts {
        method: method.as_str(),
        query,
        body,
        on_behalf_of: on_behalf_of.as_deref(),
    };
    // The request's span around the engine's `wechat_callback` span (the query, with its
    // signatures, is left out).
    let span = tracing::debug_span!("http_request", method = %method);
    tracing::Instrument::instrument(adapter::handle_parts(&engine, parts, runtime), span).await
}
