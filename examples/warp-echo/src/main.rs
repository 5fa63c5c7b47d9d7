//! A WeChat callback server on warp: text messages come back as text replies
//! (`slow:N` after an async sleep of N ms), `subscribe` gets a welcome, everything else `success`. Configured by the `WECHAT_*` variables
//! (see `echo-support`); `cargo run -p warp-echo`, then `wxcb simulate --text hello`.

use warp::Filter as _;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let (settings, engine) = echo_support::engine_from_env();
    let routes = warp::path(echo_support::PATH.trim_start_matches('/'))
        .and(warp::path::end())
        .and(wechat_callback_warp::filter(engine));
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    println!("{}", settings.banner("warp-echo"));
    // The same limits as hyper-echo's (head timeout, connection cap), and it stops on Ctrl-C
    // or SIGTERM after in-flight work finishes.
    let limits = wechat_callback_warp::Limits::default();
    let shutdown = wechat_callback_warp::shutdown_signal();
    wechat_callback_warp::serve_with(listener, warp::service(routes), limits, shutdown).await
}
