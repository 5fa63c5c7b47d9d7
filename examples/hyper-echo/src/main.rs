//! A WeChat callback server on hyper: text messages come back as text replies
//! (`slow:N` after an async sleep of N ms), `subscribe` gets a welcome, everything else `success`. Configured by the `WECHAT_*` variables
//! (see `echo-support`); `cargo run -p hyper-echo`, then `wxcb simulate --text hello`.

use wechat_callback_hyper::{Limits, serve_with, service, shutdown_signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let (settings, engine) = echo_support::engine_from_env();
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    println!("{}", settings.banner("hyper-echo"));
    // Stops on Ctrl-C or SIGTERM, after in-flight work (late handlers included) finishes.
    let service = service(engine).at(echo_support::PATH);
    serve_with(listener, service, Limits::default(), shutdown_signal()).await
}
