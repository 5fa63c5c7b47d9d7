//! A WeChat callback server on hyper: the text `help` gets a `help:` reply, a menu button
//! `MENU_x` gets `menu x`, other texts come back as text replies (`slow:N` after an async
//! sleep of N ms, naming the replica), `subscribe` gets a welcome, everything else `success`;
//! Prometheus metrics at `GET /metrics`. Configured by the `WECHAT_*` variables (see
//! `echo-support`; `WECHAT_REDIS_URL` shares retries between replicas);
//! `cargo run -p hyper-echo`, then `wxcb simulate --text hello`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    hyper_echo::main().await
}
