#![doc = include_str!("../README.md")]

use std::sync::Arc;

use actix_http::body::MessageBody;
use actix_service::{IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::AppConfig;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use wechat_callback::Engine;
use wechat_callback::accounts::Accounts;
use wechat_callback::adapter;

pub use wechat_callback_tokio::Limits;

/// Runs `server` until it stops (actix stops on Ctrl-C and SIGTERM, or through its
/// [`ServerHandle`](actix_web::dev::ServerHandle)), then waits for handlers still running past
/// their deadline to reach the late-reply hook, for at most `limits.grace_period`. Handler
/// tasks run on a runtime of their own ([`wechat_callback_tokio::Detached`]), so actix's
/// workers stopping does not cut them off.
///
/// # Errors
/// What `server` returns.
pub async fn run(server: actix_web::dev::Server, limits: &Limits) -> std::io::Result<()> {
    server.await?;
    if !wechat_callback_tokio::handlers_finished(limits.grace_period).await {
        tracing::warn!(
            running = wechat_callback_tokio::running_handlers(),
            grace_period = ?limits.grace_period,
            "handlers still running at the end of the grace period; stopping without them"
        );
    }
    Ok(())
}

/// Applies `limits` to an actix-web server running `workers` worker threads: the same limits
/// the hyper and warp adapters' `serve` keep. The request-head timeout becomes actix's client
/// request timeout and keep-alive idle timeout (actix's defaults are 5 s each), the connection
/// cap is split across the workers (actix counts per worker), and the grace period becomes
/// the shutdown timeout, which actix applies on Ctrl-C and SIGTERM. Accept errors (out of file
/// descriptors) actix-server already survives, pausing its accept loop.
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// # async fn run(engine: wechat_callback::Engine) -> std::io::Result<()> {
/// let mount = wechat_callback_actix::configure("/wechat", engine);
/// let server = HttpServer::new(move || App::new().configure(mount.clone()));
/// let limits = wechat_callback_actix::Limits::default();
/// let server = wechat_callback_actix::with_limits(server, &limits, 2)
///     .bind("127.0.0.1:8080")?
///     .run();
/// wechat_callback_actix::run(server, &limits).await
/// # }
/// ```
pub fn with_limits<F, I, S, B>(
    server: HttpServer<F, I, S, B>,
    limits: &Limits,
    workers: usize,
) -> HttpServer<F, I, S, B>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, actix_http::Request>,
    S: ServiceFactory<actix_http::Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let workers = workers.max(1);
    server
        .workers(workers)
        .client_request_timeout(limits.header_read_timeout)
        .keep_alive(limits.header_read_timeout)
        .max_connections(limits.max_connections.div_ceil(workers))
        .shutdown_timeout(limits.grace_period.as_secs().max(1))
}

/// Mounts `engine` at `path` (every method; GET and POST are the callback's). Pass the result
/// to `App::configure` in the `HttpServer::new` factory; clone it per worker.
pub fn configure(
    path: impl Into<String>,
    engine: impl Into<Arc<Engine>>,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let path = path.into();
    let engine: Arc<Engine> = engine.into();
    move |config: &mut web::ServiceConfig| {
        let engine = Arc::clone(&engine);
        config.service(web::resource(path.as_str()).default_service(web::to(
            move |request: HttpRequest, payload: web::Payload| {
                handle(Arc::clone(&engine), request, payload)
            },
        )));
    }
}

/// Mounts many accounts: account `id` answers at `{prefix}/{id}`, an open platform's
/// authorizers and a WeCom suite's corps at `{prefix}/{id}/{appid or corpid}`
/// ([`Accounts::route`]); every method reaches the engine (GET and POST are the callback's).
/// A path naming no account gets 404 before the body is read. Pass the result to
/// `App::configure` in the `HttpServer::new` factory; clone it per worker.
pub fn configure_accounts(
    prefix: impl Into<String>,
    accounts: impl Into<Arc<Accounts>>,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    // Everything below the prefix; `Accounts::route` says which account, if any, it names.
    let path = format!("{}/{{route:.*}}", prefix.into().trim_end_matches('/'));
    let accounts: Arc<Accounts> = accounts.into();
    move |config: &mut web::ServiceConfig| {
        let accounts = Arc::clone(&accounts);
        config.service(web::resource(path.as_str()).default_service(web::to(
            move |request: HttpRequest, payload: web::Payload| {
                let found = request
                    .match_info()
                    .get("route")
                    .and_then(|route| accounts.route(route))
                    .map(|(engine, sub)| (Arc::clone(engine), sub.map(str::to_owned)));
                async move {
                    match found {
                        Some((engine, on_behalf_of)) => {
                            respond(engine, request, payload, on_behalf_of.as_deref()).await
                        }
                        None => HttpResponse::NotFound().body("Not Found"),
                    }
                }
            },
        )));
    }
}

/// Answers one request: reads the body with the cap, then runs the engine. Use it as a
/// handler when [`configure`] does not fit your routing.
pub async fn handle(
    engine: Arc<Engine>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    respond(engine, request, payload, None).await
}

/// [`handle`], for the account `on_behalf_of` names when it is not the engine's own
/// ([`adapter::RequestParts::on_behalf_of`]).
async fn respond(
    engine: Arc<Engine>,
    request: HttpRequest,
    payload: web::Payload,
    on_behalf_of: Option<&str>,
) -> HttpResponse {
    if let Some(refused) = adapter::refuse_connect(request.method().as_str()) {
        return convert(refused);
    }
    let content_length = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH);
    if let Some(refused) = adapter::refuse_oversized(&engine, content_length.map(|v| v.as_bytes()))
    {
        return convert(refused);
    }
    let limit = adapter::max_body_bytes(&engine);
    let read = payload.to_bytes_limited(limit);
    let body = match actix_web::rt::time::timeout(adapter::body_read_timeout(&engine), read).await {
        Err(_elapsed) => return convert(adapter::timed_out(&engine)),
        Ok(Ok(Ok(body))) => body,
        Ok(Ok(Err(error))) => return convert(adapter::bad_request(error)),
        Ok(Err(_too_large)) => return convert(adapter::too_large(&engine, limit as u64 + 1)),
    };
    // actix-web 4 is built on `http` 0.2: the method and the query go over as text.
    let query = wechat_callback::CallbackQuery::from_query(request.query_string());
    let runtime = wechat_callback_tokio::detached();
    let parts = adapter::RequestParts {
        method: request.method().as_str(),
        query,
        body,
        on_behalf_of,
    };
    // The request's span around the engine's `wechat_callback` span (the path names the
    // account; the query, with its signatures, is left out).
    let span = tracing::debug_span!(
        "http_request",
        method = request.method().as_str(),
        path = request.path(),
    );
    let handled = adapter::handle_parts(&engine, parts, runtime);
    convert(tracing::Instrument::instrument(handled, span).await)
}

fn convert(response: http::Response<Bytes>) -> HttpResponse {
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut out = HttpResponse::build(status);
    for (name, value) in response.headers() {
        out.insert_header((name.as_str(), value.as_bytes()));
    }
    out.body(response.into_body())
}
