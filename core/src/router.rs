//! The handler registry: plain synchronous functions registered per message kind and event.
//!
//! A handler takes the typed payload and, optionally, the whole [`Request`] and the router's
//! state, and returns anything [`IntoReply`]:
//!
//! | shape | example |
//! |---|---|
//! | `Fn(&T) -> R` | `fn echo(t: &Text) -> Reply` |
//! | `Fn(&T, &Request) -> R` | `\|e: &Click, r: &Request\| …r.head().from_user_name…` |
//! | `Fn(&T, &S) -> R` | `\|t: &Text, db: &Db\| …` |
//! | `Fn(&T, &Request, &S) -> R` | |
//!
//! Handlers for one kind run in registration order until one answers; one that returns
//! `None` declines and the next runs; when all decline (or none is registered) the fallback
//! runs, whose default answers `success`.

use std::sync::Arc;

use crate::message::{Kind, Payload};
use crate::reply::{IntoReply, Reply};
use crate::request::Request;

/// A function usable as a handler for payload `T` with state `S`; `M` is a marker that tells
/// the accepted shapes apart (see the [module docs](self)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler for `{T}`",
    note = "a handler is `Fn(&{T}) -> R`, `Fn(&{T}, &Request) -> R`, `Fn(&{T}, &S) -> R` or \
            `Fn(&{T}, &Request, &S) -> R` with `R: IntoReply`, and is `Send + Sync + 'static`; \
            closures need their argument types written out"
)]
pub trait Handler<T, S, M>: Send + Sync + 'static {
    /// Runs the handler; `None` declines.
    fn call(&self, payload: &T, request: &Request, state: &S) -> Option<Reply>;
}

/// Marker: `Fn(&T) -> R`.
#[derive(Debug)]
pub enum PayloadOnly {}
/// Marker: `Fn(&T, &Request) -> R`.
#[derive(Debug)]
pub enum WithRequest {}
/// Marker: `Fn(&T, &S) -> R`.
#[derive(Debug)]
pub enum WithState {}
/// Marker: `Fn(&T, &Request, &S) -> R`.
#[derive(Debug)]
pub enum WithRequestAndState {}

impl<F, R, T, S> Handler<T, S, (PayloadOnly, R)> for F
where
    F: Fn(&T) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, _: &Request, _: &S) -> Option<Reply> {
        self(payload).into_reply()
    }
}

impl<F, R, T, S> Handler<T, S, (WithRequest, R)> for F
where
    F: Fn(&T, &Request) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, request: &Request, _: &S) -> Option<Reply> {
        self(payload, request).into_reply()
    }
}

impl<F, R, T, S> Handler<T, S, (WithState, R)> for F
where
    F: Fn(&T, &S) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, _: &Request, state: &S) -> Option<Reply> {
        self(payload, state).into_reply()
    }
}

impl<F, R, T, S> Handler<T, S, (WithRequestAndState, R)> for F
where
    F: Fn(&T, &Request, &S) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, request: &Request, state: &S) -> Option<Reply> {
        self(payload, request, state).into_reply()
    }
}

type Erased<S> = Arc<dyn Fn(&Request, &S) -> Option<Reply> + Send + Sync>;

/// Handlers by [`Kind`], plus a fallback; `S` is shared state handed to handlers that ask.
///
/// Build with [`Router::new`], register with [`Router::on`] or the typed `on_*` methods
/// (`on_text`, `on_event_subscribe`, …), then give it state with [`Router::with_state`]
/// (when `S` is not `()`) and hand it to [`crate::Engine::new`].
pub struct Router<S = ()> {
    handlers: Vec<Vec<Erased<S>>>,
    fallback: Option<Erased<S>>,
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Self {
            handlers: self.handlers.clone(),
            fallback: self.fallback.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<(Kind, usize)> = Kind::ALL
            .iter()
            .zip(&self.handlers)
            .filter(|(_, hs)| !hs.is_empty())
            .map(|(k, hs)| (*k, hs.len()))
            .collect();
        f.debug_struct("Router")
            .field("handlers", &kinds)
            .field("custom_fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<S: 'static> Default for Router<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// A kind's index in [`Kind::ALL`]: the table macro lists `ALL` in declaration order, so the
/// discriminant is the index (checked by a test).
fn slot(kind: Kind) -> usize {
    kind as usize
}

impl<S: 'static> Router<S> {
    /// An empty router: every callback answers `success`.
    pub fn new() -> Self {
        Self {
            handlers: vec![Vec::new(); Kind::ALL.len()],
            fallback: None,
        }
    }

    /// Registers `handler` for the kind of its payload type `T` (e.g. [`crate::Text`]).
    /// Handlers of one kind run in registration order until one answers.
    #[must_use]
    pub fn on<T, H, M>(mut self, handler: H) -> Self
    where
        T: Payload,
        H: Handler<T, S, M>,
    {
        let erased: Erased<S> = Arc::new(move |request: &Request, state: &S| {
            T::from_message(request.message())
                .and_then(|payload| handler.call(payload, request, state))
        });
        self.handlers[slot(T::KIND)].push(erased);
        self
    }

    /// Sets the handler that runs when no handler of the request's kind answers; its payload is
    /// the [`Request`] itself. If it declines too, the answer is `success`.
    #[must_use]
    pub fn fallback<H, M>(mut self, handler: H) -> Self
    where
        H: Handler<Request, S, M>,
    {
        self.fallback = Some(Arc::new(move |request: &Request, state: &S| {
            handler.call(request, request, state)
        }));
        self
    }

    /// Runs the handlers for `request` with `state`; see the [module docs](self) for the order.
    pub fn dispatch_with(&self, request: &Request, state: &S) -> Reply {
        self.handlers[slot(request.kind())]
            .iter()
            .chain(&self.fallback)
            .find_map(|handler| handler(request, state))
            .unwrap_or(Reply::Empty)
    }

    /// Whether any handler is registered for `kind`.
    pub fn handles(&self, kind: Kind) -> bool {
        !self.handlers[slot(kind)].is_empty()
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// Supplies the state, giving a router the engine can run.
    pub fn with_state(self, state: S) -> Router<()> {
        let state = Arc::new(state);
        let bind = |handler: Erased<S>| -> Erased<()> {
            let state = Arc::clone(&state);
            Arc::new(move |request: &Request, _: &()| handler(request, &state))
        };
        Router {
            handlers: self
                .handlers
                .into_iter()
                .map(|hs| hs.into_iter().map(bind).collect())
                .collect(),
            fallback: self.fallback.map(bind),
        }
    }
}

impl Router<()> {
    /// Runs the handlers for `request`; see the [module docs](self) for the order.
    pub fn dispatch(&self, request: &Request) -> Reply {
        self.dispatch_with(request, &())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::message::{Click, Text};

    fn request(body: &str) -> Request {
        Request::from_xml(body).unwrap()
    }

    fn text(content: &str) -> Request {
        request(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>\
             <MsgType>text</MsgType><Content>{content}</Content></xml>"
        ))
    }

    fn shout(t: &Text) -> Reply {
        Reply::text(t.content.to_uppercase())
    }

    #[test]
    fn plain_fn_closures_and_declining() {
        let router = Router::new()
            .on_text(|t: &Text| {
                (t.content == "skip")
                    .then(|| Reply::text("never"))
                    .filter(|_| false)
            })
            .on_text(|t: &Text| (t.content != "pass").then(|| shout(t)))
            .fallback(|r: &Request| format!("fallback for {}", r.head().from_user_name));
        assert_eq!(router.dispatch(&text("hi")), Reply::text("HI"));
        assert_eq!(router.dispatch(&text("skip")), Reply::text("SKIP"));
        assert_eq!(
            router.dispatch(&text("pass")),
            Reply::text("fallback for o1")
        );
    }

    #[test]
    fn slots_are_positions_in_kind_all() {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            assert_eq!(slot(*kind), i, "{kind:?}");
        }
    }

    #[test]
    fn default_fallback_is_success() {
        let router = Router::new().on_text(shout);
        let click = request(
            "<xml><MsgType>event</MsgType><Event>CLICK</Event><EventKey>k</EventKey></xml>",
        );
        assert_eq!(router.dispatch(&click), Reply::Empty);
        assert!(router.handles(Kind::Text));
        assert!(!router.handles(Kind::EventClick));
    }

    #[test]
    fn state_and_request_are_available() {
        struct Counter(AtomicUsize);
        let router = Router::<Counter>::new()
            .on_event_click(|c: &Click, r: &Request, n: &Counter| {
                let seen = n.0.fetch_add(1, Ordering::SeqCst) + 1;
                format!("{} {} {seen}", c.event_key, r.head().msg_type)
            })
            .with_state(Counter(AtomicUsize::new(0)));
        let click = request(
            "<xml><MsgType>event</MsgType><Event>click</Event><EventKey>k</EventKey></xml>",
        );
        assert_eq!(router.dispatch(&click), Reply::text("k event 1"));
        assert_eq!(router.dispatch(&click), Reply::text("k event 2"));
    }
}
