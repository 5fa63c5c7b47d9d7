//! The hyper echo server as a library, so tests run exactly what `cargo run -p hyper-echo`
//! runs (several of them as replicas sharing a Redis, for one).

use std::convert::Infallible;
use std::future::Future;

use hyper::body::Incoming;
use wechat_callback_hyper::{
    Limits, Response, accounts_service, serve_service_with, service, shutdown_signal,
};

/// Serves what the `WECHAT_*` variables say (see `echo-support`) on `listener` until
/// `shutdown` completes: the echo handlers at `/wechat` (or each account of `WECHAT_CONFIG`
/// at `/wechat/{id}`), Prometheus text at `GET /metrics`. `metrics` is the handle of the
/// process's recorder ([`echo_support::install_metrics`]). Prints the banner.
///
/// # Errors
/// The listener failing.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: echo_support::PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (settings, served) = echo_support::served_from_env();
    println!("{}", served.banner(&settings, "hyper-echo"));
    // One account at /wechat, or each account of WECHAT_CONFIG at /wechat/{id}.
    let wechat = match served {
        echo_support::Served::One(engine) => service(engine),
        echo_support::Served::Many(accounts) => accounts_service(accounts),
    }
    .at(echo_support::PATH);
    // `GET /metrics` on the same address; everything else to the engine.
    let app = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let (wechat, metrics) = (wechat.clone(), metrics.clone());
        async move {
            if request.uri().path() == echo_support::METRICS_PATH
                && request.method() == http::Method::GET
            {
                let mut response = Response::new(metrics.render().into());
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(echo_support::METRICS_CONTENT_TYPE),
                );
                return Ok::<_, Infallible>(response);
            }
            Ok(wechat.respond(request).await)
        }
    });
    serve_service_with(listener, app, Limits::default(), shutdown).await
}

/// [`serve`] on `WECHAT_ADDR`, stopping on Ctrl-C or SIGTERM after in-flight work (late
/// handlers included) finishes.
///
/// # Errors
/// The address cannot be bound; the listener failing.
pub async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let metrics = echo_support::install_metrics();
    let addr = echo_support::Settings::from_env()
        .map(|settings| settings.addr)
        .unwrap_or_else(|problem| {
            eprintln!("{problem}");
            std::process::exit(2)
        });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve(listener, metrics, shutdown_signal()).await
}
