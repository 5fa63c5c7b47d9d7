//! A WeChat callback server on actix-web: the text `help` gets a `help:` reply, a menu button
//! `MENU_x` gets `menu x`, other texts come back as text replies (`slow:N` after an async
//! sleep of N ms), `subscribe` gets a welcome, everything else `success`; Prometheus metrics at
//! `GET /metrics`. Configured by the `WECHAT_*` variables (see `echo-support`);
//! `cargo run -p actix-echo`, then `wxcb simulate --text hello`.

use actix_web::{App, HttpResponse, HttpServer, web};

fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let metrics = echo_support::install_metrics();
    let (settings, served) = echo_support::served_from_env();
    let banner = served.banner(&settings, "actix-echo");
    match served {
        // One account at /wechat.
        echo_support::Served::One(engine) => run(
            wechat_callback_actix::configure(echo_support::PATH, engine),
            &settings,
            &banner,
            metrics,
        ),
        // Each account of WECHAT_CONFIG at /wechat/{id}.
        echo_support::Served::Many(accounts) => run(
            wechat_callback_actix::configure_accounts(echo_support::PATH, accounts),
            &settings,
            &banner,
            metrics,
        ),
    }
}

fn run(
    mount: impl Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
    settings: &echo_support::Settings,
    banner: &str,
    metrics: echo_support::PrometheusHandle,
) -> std::io::Result<()> {
    // The same limits as hyper-echo's; actix stops gracefully on Ctrl-C and SIGTERM itself.
    // After it stops, handlers past their deadline get the grace period to finish.
    let limits = wechat_callback_actix::Limits::default();
    let server = HttpServer::new(move || {
        // `GET /metrics` on the same address.
        let metrics = metrics.clone();
        App::new()
            .route(
                echo_support::METRICS_PATH,
                web::get().to(move || {
                    let text = metrics.render();
                    async move {
                        HttpResponse::Ok()
                            .content_type(echo_support::METRICS_CONTENT_TYPE)
                            .body(text)
                    }
                }),
            )
            .configure(mount.clone())
    });
    let server = wechat_callback_actix::with_limits(server, &limits, 2)
        .bind(settings.addr)?
        .run();
    println!("{banner}");
    actix_web::rt::System::new().block_on(wechat_callback_actix::run(server, &limits))
}
