//! The handler registry: synchronous, async and blocking handlers registered per message
//! kind and event, tried in order; see [`Router`].

mod exec;
mod handler;
mod intercept;
mod matcher;

use std::sync::{Arc, LazyLock};

use crate::callback::Callback;
use crate::message::{Kind, Payload, UnknownEvent, UnknownInfo, UnknownMessage, for_each_kind};
use crate::reply::Reply;

pub(crate) use exec::{block_on, catch_unwind_future};
pub use handler::{Blocking, BlockingJob, BoxFuture, Handler, blocking};
use handler::{Outcome, Shape};
pub(crate) use intercept::Observer;
pub use intercept::{Interceptor, Observe};
pub use matcher::Matcher;

type Erased<S> = Arc<dyn Fn(&Arc<Callback>, &Arc<S>) -> Outcome + Send + Sync>;

/// One registered handler, and the condition it needs, if any.
struct Entry<S> {
    call: Erased<S>,
    shape: Shape,
    matcher: Option<Matcher>,
}

impl<S> Clone for Entry<S> {
    fn clone(&self) -> Self {
        Self {
            call: Arc::clone(&self.call),
            shape: self.shape,
            matcher: self.matcher.clone(),
        }
    }
}

/// Handlers by [`Kind`], plus a fallback; `S` is shared state handed to handlers that ask.
///
/// A handler takes the typed payload and, optionally, the whole [`Callback`] and the router's
/// state, and returns anything [`IntoReply`](crate::reply::IntoReply). Synchronous handlers
/// borrow; async handlers own what they take (payloads are cheap clones of shared text, the
/// callback comes in an [`Arc`], the state is cloned, so `S` is typically an `Arc`):
///
/// | shape | example |
/// |---|---|
/// | `Fn(&T) -> R` | `fn echo(t: &Text) -> Reply` |
/// | `Fn(&T, &Callback) -> R` | `\|e: &Click, c: &Callback\| …c.head().from_user_name…` |
/// | `Fn(&T, &S) -> R` | `\|t: &Text, db: &Db\| …` |
/// | `Fn(&T, &Callback, &S) -> R` | |
/// | `Fn(T) -> impl Future<Output = R>` | `async fn ask(t: Text) -> Reply` |
/// | `Fn(T, Arc<Callback>) -> impl Future<Output = R>` | |
/// | `Fn(T, S) -> impl Future<Output = R>` | `async fn lookup(t: Text, db: Arc<Db>) -> …` |
/// | `Fn(T, Arc<Callback>, S) -> impl Future<Output = R>` | |
///
/// Handlers for one kind run in registration order until one answers; one that returns
/// `None` declines and the next runs; when all decline (or none is registered) the fallback
/// runs, whose default answers `success`. Async handlers decline and fall through the same
/// way.
///
/// Synchronous handlers run inline on the runtime's worker, so they must not block; one that
/// does is registered through [`blocking`] (or the whole router is marked
/// [`Router::blocking_handlers`]) and runs on the blocking pool. Adapters run async handlers
/// on the runtime, within the engine's deadline ([`Engine::with_deadline`](crate::Engine::with_deadline)).
///
/// Build with [`Router::new`], register with [`Router::on`] or the typed `on_*` methods
/// (`on_text`, `on_event_subscribe`, …), then give it state with [`Router::with_state`]
/// (when `S` is not `()`) and hand it to [`crate::Engine::new`].
pub struct Router<S = ()> {
    handlers: Vec<Vec<Entry<S>>>,
    fallback: Option<Entry<S>>,
    blocking: bool,
    observers: Vec<Observer>,
    interceptors: Vec<Arc<dyn Interceptor>>,
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Self {
            handlers: self.handlers.clone(),
            fallback: self.fallback.clone(),
            blocking: self.blocking,
            observers: self.observers.clone(),
            interceptors: self.interceptors.clone(),
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
            .field("blocking_handlers", &self.blocking)
            .field("observers", &self.observers.len())
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl<S: 'static> Default for Router<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The typed kind `is` picks out, else `unknown` (where a name the table does not have goes).
fn kind_named(unknown: Kind, is: impl Fn(Kind) -> bool) -> Kind {
    Kind::ALL
        .iter()
        .copied()
        .find(|kind| is(*kind))
        .unwrap_or(unknown)
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
            blocking: false,
            observers: Vec::new(),
            interceptors: Vec::new(),
        }
    }

    /// Registers `handler` for the kind of its payload type `T` (e.g. [`Text`](crate::message::Text)).
    /// Handlers of one kind run in registration order until one answers.
    #[must_use]
    pub fn on<T, H, M>(self, handler: H) -> Self
    where
        T: Payload,
        H: Handler<T, S, M>,
    {
        self.push_typed(None, handler)
    }

    /// Registers `handler` for the kind of its payload type `T`, to run only on callbacks
    /// `matcher` matches (see [`Matcher`]); on the others it is passed over as if it declined.
    /// Registration order decides among all the handlers of a kind, with or without matchers.
    ///
    /// ```
    /// use wechat_callback::message::{Click, Text};
    /// use wechat_callback::{Matcher, Router};
    /// let router: Router = Router::new()
    ///     .on_matching(Matcher::content("help"), |_: &Text| "help: send any text")
    ///     .on_matching(Matcher::event_key_prefix("MENU_"), |click: &Click| {
    ///         format!("menu {}", &click.event_key["MENU_".len()..])
    ///     })
    ///     .on_text(|text: &Text| text.content.to_string());
    /// # let _ = router;
    /// ```
    #[must_use]
    pub fn on_matching<T, H, M>(self, matcher: Matcher, handler: H) -> Self
    where
        T: Payload,
        H: Handler<T, S, M>,
    {
        self.push_typed(Some(matcher), handler)
    }

    fn push_typed<T, H, M>(mut self, matcher: Option<Matcher>, handler: H) -> Self
    where
        T: Payload,
        H: Handler<T, S, M>,
    {
        let shape = handler.shape();
        let call: Erased<S> = Arc::new(move |callback: &Arc<Callback>, state: &Arc<S>| {
            match T::from_message(callback.message()) {
                Some(payload) => handler.call(payload, callback, state),
                None => Outcome::Ready(None),
            }
        });
        self.handlers[slot(T::KIND)].push(Entry {
            call,
            shape,
            matcher,
        });
        self
    }

    /// An entry whose payload is the whole [`Callback`].
    fn callback_entry<H, M>(handler: H, matcher: Option<Matcher>) -> Entry<S>
    where
        H: Handler<Callback, S, M>,
    {
        let shape = handler.shape();
        let call: Erased<S> = Arc::new(move |callback: &Arc<Callback>, state: &Arc<S>| {
            handler.call(callback, callback, state)
        });
        Entry {
            call,
            shape,
            matcher,
        }
    }

    /// Registers `handler`, which takes the whole [`Callback`], for every kind, to run on the
    /// callbacks `matcher` matches: a rule over senders, accounts or a predicate that cuts
    /// across kinds. It takes its place in registration order in every kind.
    #[must_use]
    pub fn on_any_matching<H, M>(mut self, matcher: Matcher, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        let entry = Self::callback_entry(handler, Some(matcher));
        for handlers in &mut self.handlers {
            handlers.push(entry.clone());
        }
        self
    }

    /// Registers `handler` for messages whose `MsgType` is `msg_type` (ASCII
    /// case-insensitive), typed or not: for kinds this crate does not type yet, the handler
    /// gets the [`Callback`] with every field ([`Callback::fields`]).
    #[must_use]
    pub fn on_message_named<H, M>(self, msg_type: &str, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        let kind = kind_named(Kind::UnknownMessage, |kind| {
            !kind.is_event()
                && !kind.is_info()
                && !kind.msg_type().is_empty()
                && kind.msg_type().eq_ignore_ascii_case(msg_type)
        });
        self.push_named(kind, Matcher::msg_type(msg_type), handler)
    }

    /// Registers `handler` for events whose `Event` is `event` (ASCII case-insensitive), typed
    /// or not (`"some_new_event"`); it gets the [`Callback`] with every field.
    #[must_use]
    pub fn on_event_named<H, M>(self, event: &str, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        let kind = kind_named(Kind::EventUnknown, |kind| {
            kind.event().is_some_and(|e| e.eq_ignore_ascii_case(event))
        });
        self.push_named(kind, Matcher::event(event), handler)
    }

    /// Registers `handler` for `InfoType` pushes whose `InfoType` is `info_type` (ASCII
    /// case-insensitive), typed or not; it gets the [`Callback`] with every field.
    #[must_use]
    pub fn on_info_named<H, M>(self, info_type: &str, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        let kind = kind_named(Kind::InfoUnknown, |kind| {
            kind.info_type()
                .is_some_and(|i| i.eq_ignore_ascii_case(info_type))
        });
        self.push_named(kind, Matcher::info_type(info_type), handler)
    }

    fn push_named<H, M>(mut self, kind: Kind, matcher: Matcher, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        self.handlers[slot(kind)].push(Self::callback_entry(handler, Some(matcher)));
        self
    }

    /// Adds an observer: a function that sees every callback of the account after it is
    /// verified and before the handlers run, and cannot change the answer (logging,
    /// analytics, saving to a database). See [`Observe`] for the shapes: a synchronous one
    /// runs inline and must be quick; an async one is spawned on the runtime and never delays
    /// the reply. One that panics is logged and costs nothing else. Observers see each message
    /// once: a retry answered from the dedup store is not shown again.
    #[must_use]
    pub fn observe<O, M>(mut self, observer: O) -> Self
    where
        O: Observe<M>,
    {
        self.observers.push(observer.into_observer());
        self
    }

    /// Adds an interceptor around the handlers (see [`Interceptor`]): `before` in registration
    /// order, the first that answers answers instead of the handlers; `after` on every reply on
    /// its way out, in reverse order (the first registered has the last word).
    #[must_use]
    pub fn intercept(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Sets the handler that runs when no handler of the callback's kind answers; its payload is
    /// the [`Callback`] itself. If it declines too, the answer is `success`.
    #[must_use]
    pub fn fallback<H, M>(mut self, handler: H) -> Self
    where
        H: Handler<Callback, S, M>,
    {
        self.fallback = Some(Self::callback_entry(handler, None));
        self
    }

    /// Runs every synchronous handler of this router on the blocking pool, as if each were
    /// registered through [`blocking`]: for routers whose handlers block and are not worth
    /// marking one by one. Async handlers are not affected.
    #[must_use]
    pub fn blocking_handlers(mut self) -> Self {
        self.blocking = true;
        self
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
        infos {$(
            $(#[$idoc:meta])*
            $IVar:ident($ITy:ident) = $itype:literal, $ikind:ident, $ion:ident { $($ifields:tt)* }
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
            $(
                #[doc = concat!("Registers a handler for `InfoType` = `", $itype, "` ([`",
                    stringify!($ITy), "`](crate::message::", stringify!($ITy),
                    ")); same as [`Router::on`].")]
                #[must_use]
                pub fn $ion<H, M>(self, handler: H) -> Self
                where
                    H: Handler<crate::message::$ITy, S, M>,
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

    /// Registers a handler for `InfoType` pushes (open platform, WeCom suites) whose
    /// `InfoType` is not in the kinds table.
    #[must_use]
    pub fn on_unknown_info<H, M>(self, handler: H) -> Self
    where
        H: Handler<UnknownInfo, S, M>,
    {
        self.on(handler)
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// Supplies the state, giving a router the engine can run.
    pub fn with_state(self, state: S) -> Router<()> {
        let state = Arc::new(state);
        let bind = |entry: Entry<S>| -> Entry<()> {
            let state = Arc::clone(&state);
            let inner = entry.call;
            Entry {
                call: Arc::new(move |callback: &Arc<Callback>, _: &Arc<()>| {
                    inner(callback, &state)
                }),
                shape: entry.shape,
                matcher: entry.matcher,
            }
        };
        Router {
            handlers: self
                .handlers
                .into_iter()
                .map(|hs| hs.into_iter().map(bind).collect())
                .collect(),
            fallback: self.fallback.map(bind),
            blocking: self.blocking,
            observers: self.observers,
            interceptors: self.interceptors,
        }
    }
}

/// The state of a router without state.
static NO_STATE: LazyLock<Arc<()>> = LazyLock::new(|| Arc::new(()));

/// What starting the handlers gave: the reply, or work to run before the chain goes on.
pub(crate) enum Dispatched {
    /// A synchronous handler answered, or every handler declined (`success`).
    Ready(Reply),
    /// An async or blocking handler is next.
    Pending(Pending),
}

/// Async or blocking work, and where the chain goes on if it declines.
pub(crate) struct Pending {
    /// The handlers after the one whose work this is: the rest of the kind's, then the
    /// fallback.
    rest: Arc<[Entry<()>]>,
    blocking: bool,
    callback: Arc<Callback>,
    work: Work,
}

pub(crate) enum Work {
    Async(BoxFuture<Option<Reply>>),
    Blocking(BlockingJob),
}

impl Router<()> {
    /// The handlers for `callback`'s kind, then the fallback.
    fn chain(&self, callback: &Callback) -> impl Iterator<Item = &Entry<()>> {
        self.handlers[slot(callback.kind())]
            .iter()
            .chain(&self.fallback)
    }

    /// Runs the handlers for `callback`: synchronous ones inline until one answers, stopping
    /// at the first async or blocking one.
    pub(crate) fn run(&self, callback: &Arc<Callback>) -> Dispatched {
        run_chain(self.chain(callback), self.blocking, callback)
    }

    /// Runs the handlers for `callback` to the end on the calling thread: async handlers are
    /// driven by a minimal executor (so they must not need a runtime's timers or I/O) and
    /// blocking ones run inline. For tests and synchronous hosts; see [`Router`] for the order.
    pub fn dispatch(&self, callback: impl Into<Arc<Callback>>) -> Reply {
        match self.run(&callback.into()) {
            Dispatched::Ready(reply) => reply,
            Dispatched::Pending(pending) => block_on(pending.finish(inline_blocking)),
        }
    }
}

/// Runs `entries` for `callback` until one answers or one has async or blocking work.
fn run_chain<'a>(
    entries: impl Iterator<Item = &'a Entry<()>>,
    blocking: bool,
    callback: &Arc<Callback>,
) -> Dispatched {
    let mut entries = entries;
    while let Some(entry) = entries.next() {
        if entry
            .matcher
            .as_ref()
            .is_some_and(|matcher| !matcher.matches(callback))
        {
            continue;
        }
        let to_pool = entry.shape == Shape::Blocking || (blocking && entry.shape == Shape::Sync);
        let work = if to_pool {
            let (call, callback) = (Arc::clone(&entry.call), Arc::clone(callback));
            Work::Blocking(Box::new(move || match call(&callback, &NO_STATE) {
                Outcome::Ready(reply) => reply,
                Outcome::Async(_) | Outcome::Blocking(_) => None,
            }))
        } else {
            match (entry.call)(callback, &NO_STATE) {
                Outcome::Ready(Some(reply)) => return Dispatched::Ready(reply),
                Outcome::Ready(None) => continue,
                Outcome::Async(future) => Work::Async(future),
                Outcome::Blocking(job) => Work::Blocking(job),
            }
        };
        return Dispatched::Pending(Pending {
            rest: entries.cloned().collect(),
            blocking,
            callback: Arc::clone(callback),
            work,
        });
    }
    Dispatched::Ready(Reply::Empty)
}

/// Runs a blocking job on the calling thread, its panic caught.
pub(crate) fn inline_blocking(job: BlockingJob) -> std::future::Ready<Result<Option<Reply>, ()>> {
    std::future::ready(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).map_err(|_| ()))
}

impl Pending {
    /// The callback this work is for.
    pub(crate) fn callback(&self) -> &Arc<Callback> {
        &self.callback
    }

    /// Runs the work, then the rest of the chain, to the reply: async work awaited here,
    /// blocking work handed to `spawn_blocking`. A handler that panics (an async one while
    /// polled, a blocking one on the pool) is logged and answered `success`.
    pub(crate) async fn finish<B, F, E>(mut self, spawn_blocking: B) -> Reply
    where
        B: Fn(BlockingJob) -> F,
        F: std::future::Future<Output = Result<Option<Reply>, E>>,
    {
        loop {
            let answer = match self.work {
                Work::Async(future) => catch_unwind_future(future).await.ok(),
                Work::Blocking(job) => spawn_blocking(job).await.ok(),
            };
            let answer = answer.unwrap_or_else(|| {
                tracing::error!(kind = ?self.callback.kind(), "handler panicked; answered success");
                Some(Reply::Empty)
            });
            if let Some(reply) = answer {
                return reply;
            }
            let rest = std::panic::AssertUnwindSafe(|| {
                run_chain(self.rest.iter(), self.blocking, &self.callback)
            });
            match std::panic::catch_unwind(rest) {
                Ok(Dispatched::Ready(reply)) => return reply,
                Ok(Dispatched::Pending(next)) => self = next,
                Err(_) => {
                    tracing::error!(kind = ?self.callback.kind(), "handler panicked; answered success");
                    return Reply::Empty;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::message::{Click, Text};
    use crate::reply::Reply;

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
        assert_eq!(router.dispatch(text("hi")), Reply::text("HI"));
        assert_eq!(router.dispatch(text("skip")), Reply::text("SKIP"));
        assert_eq!(
            router.dispatch(text("pass")),
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
        assert_eq!(router.dispatch(click.clone()), Reply::Empty);
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
        assert_eq!(router.dispatch(click.clone()), Reply::text("k event 1"));
        assert_eq!(router.dispatch(click.clone()), Reply::text("k event 2"));
    }

    async fn shout_later(t: Text) -> Reply {
        // Yields once, as a real await would.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return std::task::Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
        Reply::text(t.content.to_uppercase())
    }

    #[test]
    fn async_handlers_answer_decline_and_fall_through() {
        let router = Router::new()
            .on_text(|t: Text| async move { (t.content == "sync?").then_some("declined by async") })
            .on_text(|t: &Text| (t.content == "sync").then_some("sync"))
            .on_text(shout_later)
            .fallback(|c: Callback| async move { format!("fallback {}", c.kind()) });
        assert_eq!(
            router.dispatch(text("sync?")),
            Reply::text("declined by async")
        );
        assert_eq!(router.dispatch(text("sync")), Reply::text("sync"));
        assert_eq!(router.dispatch(text("hi")), Reply::text("HI"));
        let click = callback("<xml><MsgType>event</MsgType><Event>CLICK</Event></xml>");
        assert_eq!(router.dispatch(click), Reply::text("fallback event:CLICK"));
        // The synchronous path stops at the first async handler and hands over its work.
        let started = Arc::new(text("hi"));
        match router.run(&started) {
            Dispatched::Pending(pending) => {
                assert!(matches!(pending.work, Work::Async(_)));
                assert_eq!(
                    pending.rest.len(),
                    3,
                    "two more text handlers and the fallback"
                );
            }
            Dispatched::Ready(reply) => panic!("answered inline: {reply:?}"),
        }
    }

    #[test]
    fn async_handlers_take_the_callback_and_state() {
        #[derive(Clone)]
        struct Prefix(Arc<str>);
        let router = Router::<Prefix>::new()
            .on_event_click(|c: Click, cb: Arc<Callback>, p: Prefix| async move {
                format!("{}{} from {}", p.0, c.event_key, cb.head().from_user_name)
            })
            .on_text(|t: Text, p: Prefix| async move { format!("{}{}", p.0, t.content) })
            .with_state(Prefix(Arc::from("> ")));
        let click = callback(
            "<xml><FromUserName>o9</FromUserName><MsgType>event</MsgType><Event>CLICK</Event>\
             <EventKey>K</EventKey></xml>",
        );
        assert_eq!(router.dispatch(click), Reply::text("> K from o9"));
        assert_eq!(router.dispatch(text("x")), Reply::text("> x"));
    }

    #[test]
    fn blocking_handlers_go_to_the_pool() {
        let marked = Router::new().on_text(blocking(shout));
        match marked.run(&Arc::new(text("hi"))) {
            Dispatched::Pending(pending) => match pending.work {
                Work::Blocking(job) => assert_eq!(job(), Some(Reply::text("HI"))),
                Work::Async(_) => panic!("async work for a blocking handler"),
            },
            Dispatched::Ready(_) => panic!("a blocking handler ran inline"),
        }
        let whole = Router::new().on_text(shout).blocking_handlers();
        assert!(matches!(
            whole.run(&Arc::new(text("hi"))),
            Dispatched::Pending(_)
        ));
        // Run to the end on the calling thread, the pool is the thread itself.
        assert_eq!(marked.dispatch(text("hi")), Reply::text("HI"));
        assert_eq!(whole.dispatch(text("hi")), Reply::text("HI"));
        // Inline by default.
        let inline = Router::new().on_text(shout);
        assert!(matches!(
            inline.run(&Arc::new(text("hi"))),
            Dispatched::Ready(_)
        ));
    }

    #[test]
    fn a_panicking_async_handler_is_answered_success() {
        let router = Router::new().on_text(|t: Text| async move {
            if t.content == "boom" {
                panic!("handler bug");
            }
            Reply::text("fine")
        });
        assert_eq!(router.dispatch(text("boom")), Reply::Empty);
        assert_eq!(router.dispatch(text("ok")), Reply::text("fine"));
    }
}
