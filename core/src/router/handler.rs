//! The handler shapes: synchronous functions, `async` functions, and synchronous functions
//! marked [`blocking`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::callback::Callback;
use crate::reply::{IntoReply, Reply};

/// A boxed, sendable future, as async handlers and late-reply hooks produce.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A synchronous handler call, boxed for a blocking pool: `None` declines.
pub type BlockingJob = Box<dyn FnOnce() -> Option<Reply> + Send + 'static>;

/// A function usable as a handler for payload `T` with state `S`; `M` is a marker that tells
/// the accepted shapes apart (see [`Router`](crate::Router)). Implemented for every function
/// and closure of those shapes, and for [`Blocking`]; not implementable elsewhere.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler for `{T}`",
    note = "a synchronous handler is `Fn(&{T}) -> R`, `Fn(&{T}, &Callback) -> R`, \
            `Fn(&{T}, &S) -> R` or `Fn(&{T}, &Callback, &S) -> R` with `R: IntoReply`",
    note = "an async handler is `Fn({T}) -> F`, `Fn({T}, Arc<Callback>) -> F`, `Fn({T}, S) -> F` \
            or `Fn({T}, Arc<Callback>, S) -> F` with `F: Future + Send + 'static` whose \
            output is `IntoReply` (and `S: Clone`)",
    note = "handlers are `Send + Sync + 'static`; closures need their argument types written out"
)]
pub trait Handler<T, S, M>: private::Call<T, S, M> + Send + Sync + 'static {}

impl<H, T, S, M> Handler<T, S, M> for H where H: private::Call<T, S, M> + Send + Sync + 'static {}

pub(crate) mod private {
    #![allow(unreachable_pub, missing_debug_implementations)]
    use super::{Arc, BlockingJob, BoxFuture, Callback, Reply};

    /// How a handler runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Shape {
        /// Inline on the caller's thread.
        Sync,
        /// As a future on the runtime.
        Async,
        /// On the runtime's blocking pool.
        Blocking,
    }

    /// What calling one handler gave.
    pub enum Outcome {
        /// A synchronous handler's answer; `None` declines.
        Ready(Option<Reply>),
        /// An async handler's future.
        Async(BoxFuture<Option<Reply>>),
        /// A call to run on the blocking pool.
        Blocking(BlockingJob),
    }

    /// The sealed part of [`Handler`](super::Handler).
    pub trait Call<T, S, M> {
        /// Calls the handler.
        fn call(&self, payload: &T, callback: &Arc<Callback>, state: &Arc<S>) -> Outcome;
        /// How it runs.
        fn shape(&self) -> Shape;
    }

    /// The markers that tell the shapes apart: named by the blanket impls, never by users
    /// (axum's `ViaParts` trick).
    pub enum PayloadOnly {}
    pub enum WithCallback {}
    pub enum WithState {}
    pub enum WithCallbackAndState {}
    pub enum AsyncPayloadOnly {}
    pub enum AsyncWithCallback {}
    pub enum AsyncWithState {}
    pub enum AsyncWithCallbackAndState {}
    pub enum Blocked {}

    /// The synchronous shapes: what [`blocking`](super::blocking) takes.
    pub trait SyncShape {}
    impl SyncShape for PayloadOnly {}
    impl SyncShape for WithCallback {}
    impl SyncShape for WithState {}
    impl SyncShape for WithCallbackAndState {}
}

use private::{
    AsyncPayloadOnly, AsyncWithCallback, AsyncWithCallbackAndState, AsyncWithState, Blocked,
    PayloadOnly, SyncShape, WithCallback, WithCallbackAndState, WithState,
};
pub(crate) use private::{Call, Outcome, Shape};

macro_rules! sync_shape {
    ($marker:ident, ($($arg:ty),*), |$f:ident, $payload:ident, $callback:ident, $state:ident| $call:expr) => {
        #[diagnostic::do_not_recommend]
        impl<F, R, T, S> Call<T, S, ($marker, R)> for F
        where
            F: Fn($($arg),*) -> R,
            R: IntoReply,
        {
            #[allow(unused_variables)]
            fn call(&self, $payload: &T, $callback: &Arc<Callback>, $state: &Arc<S>) -> Outcome {
                let $f = self;
                Outcome::Ready($call.into_reply())
            }
            fn shape(&self) -> Shape {
                Shape::Sync
            }
        }
    };
}

sync_shape!(PayloadOnly, (&T), |f, p, c, s| f(p));
sync_shape!(WithCallback, (&T, &Callback), |f, p, c, s| f(p, c));
sync_shape!(WithState, (&T, &S), |f, p, c, s| f(p, s));
sync_shape!(WithCallbackAndState, (&T, &Callback, &S), |f, p, c, s| f(
    p, c, s
));

macro_rules! async_shape {
    ($marker:ident, ($($arg:ty),*), |$f:ident, $payload:ident, $callback:ident, $state:ident| $call:expr) => {
        #[diagnostic::do_not_recommend]
        impl<F, Fut, T, S> Call<T, S, ($marker, Fut)> for F
        where
            F: Fn($($arg),*) -> Fut,
            Fut: Future + Send + 'static,
            Fut::Output: IntoReply,
            T: Clone,
            S: Clone,
        {
            #[allow(unused_variables)]
            fn call(&self, $payload: &T, $callback: &Arc<Callback>, $state: &Arc<S>) -> Outcome {
                let $f = self;
                let future = $call;
                Outcome::Async(Box::pin(async move { future.await.into_reply() }))
            }
            fn shape(&self) -> Shape {
                Shape::Async
            }
        }
    };
}

async_shape!(AsyncPayloadOnly, (T), |f, p, c, s| f(p.clone()));
async_shape!(AsyncWithCallback, (T, Arc<Callback>), |f, p, c, s| f(
    p.clone(),
    Arc::clone(c)
));
async_shape!(AsyncWithState, (T, S), |f, p, c, s| f(
    p.clone(),
    S::clone(s)
));
async_shape!(
    AsyncWithCallbackAndState,
    (T, Arc<Callback>, S),
    |f, p, c, s| f(p.clone(), Arc::clone(c), S::clone(s))
);

/// A synchronous handler that blocks (network or disk I/O, long locks, heavy work): it runs
/// on the runtime's blocking thread pool instead of a runtime worker. Made by [`blocking`].
#[derive(Debug, Clone)]
pub struct Blocking<H>(H);

/// Marks a synchronous handler as blocking: `.on_text(blocking(lookup_in_database))`.
///
/// Handlers run inline on the runtime's worker by default, as axum's and actix's do, which is
/// right for handlers that return quickly. A handler that blocks would stall every
/// connection that worker serves: mark it with `blocking`, or mark the whole router with
/// [`Router::blocking_handlers`](crate::Router::blocking_handlers). Async handlers never need
/// it. The synchronous [`Engine::handle`](crate::Engine::handle) has no pool and runs them
/// inline.
pub fn blocking<H>(handler: H) -> Blocking<H> {
    Blocking(handler)
}

#[diagnostic::do_not_recommend]
impl<H, T, S, M, R> Call<T, S, (Blocked, (M, R))> for Blocking<H>
where
    H: Call<T, S, (M, R)>,
    M: SyncShape,
{
    fn call(&self, payload: &T, callback: &Arc<Callback>, state: &Arc<S>) -> Outcome {
        self.0.call(payload, callback, state)
    }
    fn shape(&self) -> Shape {
        Shape::Blocking
    }
}
