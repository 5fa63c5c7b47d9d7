#![doc = include_str!("../README.md")]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use wechat_callback::Engine;
use wechat_callback::accounts::Accounts;
use wechat_callback::adapter;

/// The engine (or the engines of many accounts) as a hyper and tower service; cheap to clone
/// (one [`Arc`]).
#[derive(Debug, Clone)]
pub struct WechatService {
    target: Target,
    path: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
enum Target {
    One(Arc<Engine>),
    Many(Arc<Accounts>),
}

/// The engine as a service for hyper (`serve_connection`) and tower / axum
/// (`Router::route_service("/wechat", service(engine))`). Every path reaches the engine
/// unless [`WechatService::at`] names one; every method does, and the engine answers 405 to
/// methods other than GET and POST.
pub fn service(engine: impl Into<Arc<Engine>>) -> WechatService {
    WechatService {
        target: Target::One(engine.into()),
        path: None,
    }
}

/// Many accounts as one service: with [`WechatService::at`]`("/wechat")`, account `id` answers
/// at `/wechat/{id}` (without it, at `/{id}`), an open platform's authorizers and a WeCom
/// suite's corps at `/wechat/{id}/{appid or corpid}` ([`Accounts::route`]). A path naming no
/// account gets 404 before anything else is read.
pub fn accounts_service(accounts: impl Into<Arc<Accounts>>) -> WechatService {
    WechatService {
        target: Target::Many(accounts.into()),
        path: None,
    }
}

pub use wechat_callback_tokio::{Limits, shutdown_signal};

/// Serves `service` (made with [`service`]) on every connection `listener` accepts, over
/// HTTP/1.1, on tasks of the current tokio runtime, within [`Limits::default`]: a client gets
/// 10 s to send a request head (and a kept-alive connection 10 s of idleness), at most 4,096
/// connections are open at once, accept errors (such as running out of file descriptors) are
/// logged and retried after 50 ms. Runs until the task is dropped; see [`serve_with`] for
/// other limits and graceful shutdown.
///
/// # Errors
/// None so far; the `Result` is for the caller's `?`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: WechatService,
) -> std::io::Result<()> {
    serve_with(listener, service, Limits::default(), std::future::pending()).await
}

/// [`serve`] within `limits`, until `shutdown` completes (for example [`shutdown_signal`]:
/// Ctrl-C or SIGTERM); then it stops accepting, lets in-flight requests finish and handlers
/// past their deadline run to completion, up to [`Limits::grace_period`], and returns.
///
/// # Errors
/// As [`serve`].
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    service: WechatService,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    wechat_callback_tokio::serve(listener, service, limits, shutdown).await
}

/// [`serve_with`] for any hyper service, within the same limits: for a server that answers
/// other paths of its own (a health check, `/metrics`) and hands the rest to
/// [`WechatService::respond`], as `hyper-echo` does. It is the serve loop all the adapters
/// share ([`wechat_callback_tokio::serve`]).
pub use wechat_callback_tokio::serve as serve_service_with;

/// The response type: the engine's answer with a complete body.
pub type Response = http::Response<Full<Bytes>>;

/// The future of one call.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl WechatService {
    /// Answers only requests for `path` (such as `/wechat`; for [`accounts_service`], the
    /// prefix of `/wechat/{id}`); others get 404 unread.
    #[must_use]
    pub fn at(mut self, path: &str) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Answers one request: reads the body with the cap, then runs the engine.
    pub async fn respond<B>(&self, request: http::Request<B>) -> Response
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let Some((engine, on_behalf_of)) = self.engine_for(request.uri().path()) else {
            let mut response = Response::new(Full::new(Bytes::from_static(b"Not Found")));
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            return response;
        };
        // Owned, as the request is taken apart below (only for an authorizer's path).
        let on_behalf_of = on_behalf_of.map(str::to_owned);
        if let Some(refused) = adapter::refuse_connect(request.method().as_str()) {
            return refused.map(Full::new);
        }
        let content_length = request.headers().get(http::header::CONTENT_LENGTH);
        if let Some(refused) =
            adapter::refuse_oversized(engine, content_length.map(|v| v.as_bytes()))
        {
            return refused.map(Full::new);
        }
        let (parts, body) = request.into_parts();
        let limit = adapter::max_body_bytes(engine);
        let read = Limited::new(body, limit).collect();
        let body = match tokio::time::timeout(adapter::body_read_timeout(engine), read).await {
            Err(_elapsed) => return adapter::timed_out(engine).map(Full::new),
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) if error.is::<LengthLimitError>() => {
                return adapter::too_large(engine, limit as u64 + 1).map(Full::new);
            }
            Ok(Err(error)) => return adapter::bad_request(error).map(Full::new),
        };
        let runtime = wechat_callback_tokio::runtime();
        let response = match on_behalf_of {
            None => adapter::handle(engine, http::Request::from_parts(parts, body), runtime).await,
            Some(on_behalf_of) => {
                let parts = adapter::RequestParts {
                    method: parts.method.as_str(),
                    query: wechat_callback::CallbackQuery::from_uri(&parts.uri),
                    body,
                    on_behalf_of: Some(&on_behalf_of),
                };
                adapter::handle_parts(engine, parts, runtime).await
            }
        };
        response.map(Full::new)
    }
}

impl WechatService {
    /// The engine for a request path, if it serves one, and the authorizer it is for (an
    /// open-platform account at `…/{id}/{authorizer_appid}`).
    fn engine_for<'p>(&self, path: &'p str) -> Option<(&Arc<Engine>, Option<&'p str>)> {
        match &self.target {
            Target::One(engine) => match &self.path {
                Some(only) if path != &**only => None,
                _ => Some((engine, None)),
            },
            Target::Many(accounts) => {
                let rest = match &self.path {
                    Some(prefix) => path.strip_prefix(&**prefix)?,
                    None => path,
                };
                accounts.route(rest.strip_prefix('/')?)
            }
        }
    }
}

impl<B> hyper::service::Service<http::Request<B>> for WechatService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        // The request's span, around the engine's `wechat_callback` span (the path names the
        // account; the query, with its signatures, is left out).
        let span = tracing::debug_span!(
            "http_request",
            method = %request.method(),
            path = request.uri().path(),
        );
        Box::pin(tracing::Instrument::instrument(
            async move { Ok(service.respond(request).await) },
            span,
        ))
    }
}

impl<B> tower_service::Service<http::Request<B>> for WechatService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        hyper::service::Service::call(self, request)
    }
}
