//! Around the handlers: observers, which see every callback and cannot change the answer, and
//! interceptors, which may answer instead of the handlers or change the reply on its way out.

use std::future::Future;
use std::sync::Arc;

use super::handler::BoxFuture;
use crate::callback::Callback;
use crate::reply::Reply;

/// Code around the handlers of one router, in registration order: a block list, a per-openid
/// rate limit, maintenance mode (answer instead of the handlers), or a signature appended to
/// every text (change the reply).
///
/// Both methods are synchronous and run inline on the worker: keep them quick, as a
/// synchronous handler. A panic in either is logged and answered `success`, as a handler's.
/// A closure `Fn(&Callback) -> Option<Reply>` is an interceptor that only answers.
///
/// ```
/// use wechat_callback::reply::Reply;
/// use wechat_callback::{Callback, Interceptor, Router};
///
/// struct Maintenance;
/// impl Interceptor for Maintenance {
///     fn before(&self, _: &Callback) -> Option<Reply> {
///         Some(Reply::text("Back in five minutes."))
///     }
/// }
/// let blocked = ["oSpammer"];
/// let router: Router = Router::new()
///     .intercept(move |callback: &Callback| {
///         blocked
///             .contains(&&*callback.head().from_user_name)
///             .then_some(Reply::Empty)
///     })
///     .intercept(Maintenance);
/// # let _ = router;
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Runs before the handlers, in registration order: `Some(reply)` answers instead of them
    /// (and of the interceptors registered after this one); `None` goes on.
    fn before(&self, callback: &Callback) -> Option<Reply> {
        let _ = callback;
        None
    }

    /// Runs on every reply on its way out, in reverse registration order (the first
    /// registered has the last word), also on a reply an interceptor gave, a late reply handed
    /// to the late-reply hook, and `success` ([`Reply::Empty`]).
    fn after(&self, callback: &Callback, reply: Reply) -> Reply {
        let _ = callback;
        reply
    }
}

impl<F> Interceptor for F
where
    F: Fn(&Callback) -> Option<Reply> + Send + Sync + 'static,
{
    fn before(&self, callback: &Callback) -> Option<Reply> {
        self(callback)
    }
}

pub(crate) use private::Observer;

/// A function usable as an observer ([`Router::observe`](crate::Router::observe)):
/// `Fn(&Callback)`, run inline, or `Fn(Arc<Callback>) -> impl Future<Output = ()>`, spawned
/// on the runtime. `M` tells the shapes apart; implemented for every function and closure of
/// those shapes, not implementable elsewhere.
pub trait Observe<M>: private::IntoObserver<M> + Send + Sync + 'static {}

impl<O, M> Observe<M> for O where O: private::IntoObserver<M> + Send + Sync + 'static {}

pub(crate) mod private {
    #![allow(unreachable_pub, missing_debug_implementations)]
    use super::{Arc, BoxFuture, Callback, Future};

    /// A registered observer.
    #[derive(Clone)]
    pub enum Observer {
        /// Runs inline.
        Sync(Arc<dyn Fn(&Callback) + Send + Sync>),
        /// Spawned on the runtime.
        Async(Arc<dyn Fn(Arc<Callback>) -> BoxFuture<()> + Send + Sync>),
    }

    /// The sealed part of [`Observe`](super::Observe).
    pub trait IntoObserver<M> {
        /// The observer, erased.
        fn into_observer(self) -> Observer;
    }

    /// The markers of the two shapes.
    pub enum Inline {}
    pub enum Spawned {}

    impl<F> IntoObserver<Inline> for F
    where
        F: Fn(&Callback) + Send + Sync + 'static,
    {
        fn into_observer(self) -> Observer {
            Observer::Sync(Arc::new(self))
        }
    }

    impl<F, Fut> IntoObserver<Spawned> for F
    where
        F: Fn(Arc<Callback>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        fn into_observer(self) -> Observer {
            Observer::Async(Arc::new(move |callback| -> BoxFuture<()> {
                Box::pin(self(callback))
            }))
        }
    }
}

impl super::Router<()> {
    /// Runs the synchronous observers here and returns the async ones' work, one future that
    /// runs them in turn, each panic caught and logged.
    pub(crate) fn observe_callback(&self, callback: &Arc<Callback>) -> Option<BoxFuture<()>> {
        let mut spawned = Vec::new();
        for observer in &self.observers {
            match observer {
                Observer::Sync(observe) => {
                    let run = std::panic::AssertUnwindSafe(|| observe(callback));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!(kind = ?callback.kind(), "observer panicked");
                    }
                }
                Observer::Async(observe) => {
                    let start = std::panic::AssertUnwindSafe(|| observe(Arc::clone(callback)));
                    match std::panic::catch_unwind(start) {
                        Ok(future) => spawned.push(future),
                        Err(_) => tracing::error!(kind = ?callback.kind(), "observer panicked"),
                    }
                }
            }
        }
        if spawned.is_empty() {
            return None;
        }
        let kind = callback.kind();
        Some(Box::pin(async move {
            for future in spawned {
                if super::catch_unwind_future(future).await.is_err() {
                    tracing::error!(kind = ?kind, "observer panicked");
                }
            }
        }))
    }

    /// The first interceptor's answer before the handlers, if one answers.
    pub(crate) fn intercept_before(&self, callback: &Callback) -> Option<Reply> {
        self.interceptors
            .iter()
            .find_map(|interceptor| interceptor.before(callback))
    }

    /// Whether any interceptor is registered (so the reply need not be copied for them).
    pub(crate) fn intercepts(&self) -> bool {
        !self.interceptors.is_empty()
    }

    /// `reply` through every interceptor's `after`, last registered first. A panic in one is
    /// logged and makes the reply `success`.
    pub(crate) fn intercept_after(&self, callback: &Callback, reply: Reply) -> Reply {
        self.interceptors
            .iter()
            .rev()
            .fold(reply, |reply, interceptor| {
                let run = std::panic::AssertUnwindSafe(|| interceptor.after(callback, reply));
                std::panic::catch_unwind(run).unwrap_or_else(|_| {
                tracing::error!(kind = ?callback.kind(), "interceptor panicked; answered success");
                Reply::Empty
            })
            })
    }
}
