//! A WeChat callback server on actix-web: text messages come back as text replies
//! (`slow:N` after an async sleep of N ms), `subscribe` gets a welcome, everything else `success`. Configured by the `WECHAT_*`
//! variables (see `echo-support`); `cargo run -p actix-echo`, then `wxcb simulate --text hello`.

use actix_web::{App, HttpServer};

fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let (settings, served) = echo_support::served_from_env();
    let banner = served.banner(&settings, "actix-echo");
    match served {
        // One account at /wechat.
        echo_support::Served::One(engine) => run(
            wechat_callback_actix::configure(echo_support::PATH, engine),
            &settings,
            &banner,
        ),
        // Each account of WECHAT_CONFIG at /wechat/{id}.
        echo_support::Served::Many(accounts) => run(
            wechat_callback_actix::configure_accounts(echo_support::PATH, accounts),
            &settings,
            &banner,
        ),
    }
}

fn run(
    mount: impl Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
    settings: &echo_support::Settings,
    banner: &str,
) -> std::io::Result<()> {
    // The same limits as hyper-echo's; actix stops gracefully on Ctrl-C and SIGTERM itself.
    // After it stops, handlers past their deadline get the grace period to finish.
    let limits = wechat_callback_actix::Limits::default();
    let server = HttpServer::new(move || App::new().configure(mount.clone()));
    let server = wechat_callback_actix::with_limits(server, &limits, 2)
        .bind(settings.addr)?
        .run();
    println!("{banner}");
    actix_web::rt::System::new().block_on(wechat_callback_actix::run(server, &limits))
}
