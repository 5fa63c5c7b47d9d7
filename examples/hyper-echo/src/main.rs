//! A WeChat callback server on hyper: the text `help` gets a `help:` reply, a menu button
//! `MENU_x` gets `menu x`, other texts come back as text replies (`slow:N` after an async
//! sleep of N ms), `subscribe` gets a welcome, everything else `success`; Prometheus metrics at
//! `GET /metrics`. Configured by the `WECHAT_*` variables (see `echo-support`);
//! `cargo run -p hyper-echo`, then `wxcb simulate --text hello`.

use std::convert::Infallible;

use hyper::body::Incoming;
use wechat_callback_hyper::{
    Limits, Response, accounts_service, serve_service_with, service, shutdown_signal,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let metrics = echo_support::install_metrics();
    let (settings, served) = echo_support::served_from_env();
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
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
    // Stops on Ctrl-C or SIGTERM, after in-flight work (late handlers included) finishes.
    serve_service_with(listener, app, Limits::default(), shutdown_signal()).await
}
