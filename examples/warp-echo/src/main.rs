//! A WeChat callback server on warp: the text `help` gets a `help:` reply, a menu button
//! `MENU_x` gets `menu x`, other texts come back as text replies (`slow:N` after an async
//! sleep of N ms), `subscribe` gets a welcome, everything else `success`; Prometheus metrics at
//! `GET /metrics`. Configured by the `WECHAT_*` variables (see `echo-support`);
//! `cargo run -p warp-echo`, then `wxcb simulate --text hello`.

use warp::Filter as _;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let metrics = echo_support::install_metrics();
    // `GET /metrics` on the same address.
    let metrics = warp::path(echo_support::METRICS_PATH.trim_start_matches('/'))
        .and(warp::path::end())
        .and(warp::get())
        .map(move || {
            warp::reply::with_header(
                metrics.render(),
                "content-type",
                echo_support::METRICS_CONTENT_TYPE,
            )
        });
    let (settings, served) = echo_support::served_from_env();
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    println!("{}", served.banner(&settings, "warp-echo"));
    // The same limits as hyper-echo's (head timeout, connection cap), and it stops on Ctrl-C
    // or SIGTERM after in-flight work finishes.
    let limits = wechat_callback_warp::Limits::default();
    let shutdown = wechat_callback_warp::shutdown_signal();
    let prefix = warp::path(echo_support::PATH.trim_start_matches('/'));
    match served {
        // One account at /wechat.
        echo_support::Served::One(engine) => {
            let routes = metrics.or(prefix
                .and(warp::path::end())
                .and(wechat_callback_warp::filter(engine)));
            wechat_callback_warp::serve_with(listener, warp::service(routes), limits, shutdown)
                .await
        }
        // Each account of WECHAT_CONFIG at /wechat/{id}.
        echo_support::Served::Many(accounts) => {
            let routes = metrics.or(prefix.and(wechat_callback_warp::accounts_filter(accounts)));
            wechat_callback_warp::serve_with(listener, warp::service(routes), limits, shutdown)
                .await
        }
    }
}
