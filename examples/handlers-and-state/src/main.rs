//! Several handlers on one router, with shared state, served on hyper:
//!
//! - `#count` and `#help` are commands, answered by a handler that **declines** (returns
//!   `None`) every other text, which then reaches the next text handler, an echo;
//! - a menu `CLICK` handler reads the whole callback (`&Callback`) to address the user;
//! - `subscribe` counts followers in the shared state;
//! - the **fallback** logs every kind nobody handles and answers `success`.
//!
//! Handlers are plain functions that never block, so they run inline on the tokio workers (the
//! default); one that blocked would be registered through `blocking(..)`.
//!
//! `cargo run -p handlers-and-state`, then `wxcb simulate --text '#count'` or
//! `wxcb simulate --event CLICK --event-key MENU_HELP`. Same `WECHAT_*` variables as the echo
//! examples.

use std::sync::atomic::{AtomicU64, Ordering};

use wechat_callback::message::{Click, Subscribe, Text};
use wechat_callback::prelude::*;

/// Shared by every handler; the router owns it behind an `Arc`, so it must be `Send + Sync`.
#[derive(Debug, Default)]
struct Stats {
    texts: AtomicU64,
    followers: AtomicU64,
}

/// Answers commands; declines (`None`) anything else so the next text handler runs.
fn command(text: &Text, stats: &Stats) -> Option<Reply> {
    let seen = stats.texts.fetch_add(1, Ordering::Relaxed) + 1;
    match text.content.trim() {
        "#count" => Some(Reply::text(format!(
            "{seen} texts so far, {} new followers",
            stats.followers.load(Ordering::Relaxed)
        ))),
        "#help" => Some(Reply::text(
            "commands: #count, #help; anything else is echoed",
        )),
        _ => None,
    }
}

fn echo(text: &Text) -> Reply {
    Reply::text(format!("you said: {}", text.content))
}

fn menu(click: &Click, callback: &Callback) -> Option<Reply> {
    let user = &callback.head().from_user_name;
    match &*click.event_key {
        "MENU_HELP" => Some(Reply::text(format!("hello {user}, send #help"))),
        _ => None, // unknown buttons fall through to the fallback
    }
}

fn welcome(_: &Subscribe, stats: &Stats) -> Reply {
    let n = stats.followers.fetch_add(1, Ordering::Relaxed) + 1;
    Reply::text(format!("welcome, follower #{n}!"))
}

fn fallback(callback: &Callback) -> Reply {
    tracing::info!(kind = %callback.kind(), "no handler; answering success");
    Reply::Empty
}

fn router() -> Router {
    Router::<Stats>::new()
        .on_text(command)
        .on_text(echo)
        .on_event_click(menu)
        .on_event_subscribe(welcome)
        .fallback(fallback)
        .with_state(Stats::default())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_support::init_logging();
    let settings = echo_support::Settings::from_env().unwrap_or_else(|problem| {
        eprintln!("{problem}");
        std::process::exit(2)
    });
    let engine = Engine::new(settings.config.clone(), router()).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    println!("{}", settings.banner("handlers-and-state"));
    let service = wechat_callback_hyper::service(engine).at(echo_support::PATH);
    let (limits, stop) = (
        wechat_callback_hyper::Limits::default(),
        wechat_callback_hyper::shutdown_signal(),
    );
    wechat_callback_hyper::serve_with(listener, service, limits, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(content: &str) -> Callback {
        Callback::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType>\
             <Content><![CDATA[{content}]]></Content><MsgId>1</MsgId></xml>"
        ))
        .unwrap()
    }

    #[test]
    fn commands_decline_to_the_echo_and_state_is_shared() {
        let router = router();
        assert_eq!(router.dispatch(text("hi")), Reply::text("you said: hi"));
        assert_eq!(
            router.dispatch(text("#count")),
            Reply::text("2 texts so far, 0 new followers")
        );
        let click = Callback::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event>\
             <EventKey>OTHER</EventKey></xml>",
        )
        .unwrap();
        assert_eq!(router.dispatch(click), Reply::Empty);
    }
}
