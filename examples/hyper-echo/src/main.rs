//! A WeChat callback server on hyper: text messages come back as text replies
//! (`slow:N` after an async sleep of N ms), `subscribe` gets a welcome, everything else `success`. Configured by the `WECHAT_*` variables
//! (see `echo-support`); `cargo run -p hyper-echo`, then `wxcb simulate --text hello`.

use wechat_callback_hyper::{Limits, accounts_service, serve_with, service, shutdown_signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let (settings, served) = echo_support::served_from_env();
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    println!("{}", served.banner(&settings, "hyper-echo"));
    // One account at /wechat, or each account of WECHAT_CONFIG at /wechat/{id}.
    let service = match served {
        echo_support::Served::One(engine) => service(engine),
        echo_support::Served::Many(accounts) => accounts_service(accounts),
    }
    .at(echo_support::PATH);
    // Stops on Ctrl-C or SIGTERM, after in-flight work (late handlers included) finishes.
    serve_with(listener, service, Limits::default(), shutdown_signal()).await
}
