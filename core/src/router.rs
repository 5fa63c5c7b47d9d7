//! The handler registry: plain synchronous functions registered per message kind and event;
//! see [`Router`].

use std::sync::Arc;

use crate::callback::Callback;
use crate::message::{Kind, Payload, UnknownEvent, UnknownMessage, for_each_kind};
use crate::reply::{IntoReply, Reply};

/// A function usable as a handler for payload `T` with state `S`; `M` is a marker that tells
/// the accepted shapes apart (see [`Router`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler for `{T}`",
    note = "a handler is `Fn(&{T}) -> R`, `Fn(&{T}, &Callback) -> R`, `Fn(&{T}, &S) -> R` or \
            `Fn(&{T}, &Callback, &S) -> R` with `R: IntoReply`, and is `Send + Sync + 'static`; \
            closures need their argument types written out"
)]
pub trait Handler<T, S, M>: Send + Sync + 'static {
    /// Runs the handler; `None` declines.
    fn call(&self, payload: &T, callback: &Callback, state: &S) -> Option<Reply>;
}

/// The marker types that tell the handler shapes apart: named by the blanket impls, never by
/// users (axum's `ViaParts` trick).
mod shape {
    #![allow(unreachable_pub, missing_debug_implementations)]
    /// `Fn(&T) -> R`.
    pub enum PayloadOnly {}
    /// `Fn(&T, &Callback) -> R`.
    pub enum WithCallback {}
    /// `Fn(&T, &S) -> R`.
    pub enum WithState {}
    /// `Fn(&T, &Callback, &S) -> R`.
    pub enum WithCallbackAndState {}
}

use shape::{PayloadOnly, WithCallback, WithCallbackAndState, WithState};

#[diagnostic::do_not_recommend]
impl<F, R, T, S> Handler<T, S, (PayloadOnly, R)> for F
where
    F: Fn(&T) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, _: &Callback, _: &S) -> Option<Reply> {
        self(payload).into_reply()
    }
}

#[diagnostic::do_not_recommend]
impl<F, R, T, S> Handler<T, S, (WithCallback, R)> for F
where
    F: Fn(&T, &Callback) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, callback: &Callback, _: &S) -> Option<Reply> {
        self(payload, callback).into_reply()
    }
}

#[diagnostic::do_not_recommend]
impl<F, R, T, S> Handler<T, S, (WithState, R)> for F
where
    F: Fn(&T, &S) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, _: &Callback, state: &S) -> Option<Reply> {
        self(payload, state).into_reply()
    }
}

#[diagnostic::do_not_recommend]
impl<F, R, T, S> Handler<T, S, (WithCallbackAndState, R)> for F
where
    F: Fn(&T, &Callback, &S) -> R + Send + Sync + 'static,
    R: IntoReply,
{
    fn call(&self, payload: &T, callback: &Callback, state: &S) -> Option<Reply> {
        self(payload, callback, state).into_reply()
    }
}

type Erased<S> = Arc<dyn Fn(&Callback, &S) -> Option<Reply> + Send + Sync>;

/// Handlers by [`Kind`], plus a fallback; `S` is shared state handed to handlers that ask.
///
/// A handler takes the typed payload and, optionally, the whole [`Callback`] and the router's
/// state, and returns anything [`IntoReply`]:
///
/// | shape | example |
/// |---|---|
/// | `Fn(&T) -> R` | `fn echo(t: &Text) -> Reply` |
/// | `Fn(&T, &Callback) -> R` | `\|e: &Click, c: &Callback\| …c.head().from_user_name…` |
/// | `Fn(&T, &S) -> R` | `\|t: &Text, db: &Db\| …` |
/// | `Fn(&T, &Callback, &S) -> R` | |
///
/// Handlers for one kind run in registration order until one answers; one that returns
/// `None` declines and the next runs; when all decline (or none is registered) the fallback
/// runs, whose default answers `success`.
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

    /// Registers `handler` for the kind of its payload type `T` (e.g. [`Text`](crate::message::Text)).
    /// Handlers of one kind run in registration order until one answers.
    #[must_use]
    pub fn on<T, H, M>(mut self, handler: H) -> Self
    where
        T: Payload,
        H: Handler<T, S, M>,
    {
        let erased: Erased<S> = Arc::new(move |callback: &Callback, state: &S| {
            T::from_message(callback.message())
                .and_then(|payload| handler.call(payload, callback, state))
        });
        self.handlers[slot(T::KIND)].push(erased);
        self
    }

    /// Sets the handler that runs when no handler of the callback's kind answers; its payload is
    /// the [`Callback`] itself. If it declines too, the answer is `success`.
    #[must_use]
    pub fn fallback<H, M>(mut self, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        self.fallback = Some(Arc::new(move |callback: &Callback, state: &S| {
            handler.call(callback, callback, state)
        }));
        self
    }

    /// Runs the handlers for `callback` with `state`; see [`Router`] for the order.
    pub fn dispatch_with(&self, callback: &Callback, state: &S) -> Reply {
        self.handlers[slot(callback.kind())]
            .iter()
            .chain(&self.fallback)
            .find_map(|handler| handler(callback, state))
            .unwrap_or(Reply::Empty)
    }

    /// Whether any handler is registered for `kind`.
    pub fn handles(&self, kind: Kind) -> bool {
        !self.handlers[slot(kind)].is_empty()
    }
}

/// Writes the typed `on_*` registration methods from the kinds table ([`for_each_kind!`]).
macro_rules! on_methods {
    (
        messages {$(
            $(#[$mdoc:meta])*
            $MVar:ident($MTy:ident) = $mtype:literal, $mkind:ident, $mon:ident { $($mfields:tt)* }
        )*}
        events {$(
            $(#[$edoc:meta])*
            $EVar:ident($ETy:ident) = $etype:literal, $ekind:ident, $eon:ident { $($efields:tt)* }
        )*}
    ) => {
        impl<S: 'static> Router<S> {
            $(
                #[doc = concat!("Registers a handler for `", $mtype, "` messages ([`",
                    stringify!($MTy), "`](crate::message::", stringify!($MTy),
                    ")); same as [`Router::on`].")]
                #[must_use]
                pub fn $mon<H, M>(self, handler: H) -> Self
                where
                    H: Handler<crate::message::$MTy, S, M>,
                {
                    self.on(handler)
                }
            )*
            $(
                #[doc = concat!("Registers a handler for `", $etype, "` events ([`",
                    stringify!($ETy), "`](crate::message::", stringify!($ETy),
                    ")); same as [`Router::on`].")]
                #[must_use]
                pub fn $eon<H, M>(self, handler: H) -> Self
                where
                    H: Handler<crate::message::$ETy, S, M>,
                {
                    self.on(handler)
                }
            )*
        }
    };
}

for_each_kind!(on_methods);

impl<S: 'static> Router<S> {
    /// Registers a handler for messages whose `MsgType` is not in the kinds table.
    #[must_use]
    pub fn on_unknown_message<H, M>(self, handler: H) -> Self
    where
        H: Handler<UnknownMessage, S, M>,
    {
        self.on(handler)
    }

    /// Registers a handler for events whose `Event` is not in the kinds table.
    #[must_use]
    pub fn on_unknown_event<H, M>(self, handler: H) -> Self
    where
        H: Handler<UnknownEvent, S, M>,
    {
        self.on(handler)
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// Supplies the state, giving a router the engine can run.
    pub fn with_state(self, state: S) -> Router<()> {
        let state = Arc::new(state);
        let bind = |handler: Erased<S>| -> Erased<()> {
            let state = Arc::clone(&state);
            Arc::new(move |callback: &Callback, _: &()| handler(callback, &state))
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
    /// Runs the handlers for `callback`; see [`Router`] for the order.
    pub fn dispatch(&self, callback: &Callback) -> Reply {
        self.dispatch_with(callback, &())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::message::{Click, Text};

    fn callback(body: &str) -> Callback {
        Callback::from_xml(body).unwrap()
    }

    fn text(content: &str) -> Callback {
        callback(&format!(
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
            .fallback(|r: &Callback| format!("fallback for {}", r.head().from_user_name));
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
        let click = callback(
            "<xml><MsgType>event</MsgType><Event>CLICK</Event><EventKey>k</EventKey></xml>",
        );
        assert_eq!(router.dispatch(&click), Reply::Empty);
        assert!(router.handles(Kind::Text));
        assert!(!router.handles(Kind::EventClick));
    }

    #[test]
    fn state_and_callback_are_available() {
        struct Counter(AtomicUsize);
        let router = Router::<Counter>::new()
            .on_event_click(|c: &Click, r: &Callback, n: &Counter| {
                let seen = n.0.fetch_add(1, Ordering::SeqCst) + 1;
                format!("{} {} {seen}", c.event_key, r.head().msg_type)
            })
            .with_state(Counter(AtomicUsize::new(0)));
        let click = callback(
            "<xml><MsgType>event</MsgType><Event>click</Event><EventKey>k</EventKey></xml>",
        );
        assert_eq!(router.dispatch(&click), Reply::text("k event 1"));
        assert_eq!(router.dispatch(&click), Reply::text("k event 2"));
    }
}
