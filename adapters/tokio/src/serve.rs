//! The accept loop the hyper and warp adapters share: HTTP/1.1 connections with a request-head
//! timeout (which hyper also applies to idle keep-alive connections), a cap on open
//! connections, recovery from accept errors, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};

/// What the accept loop allows. [`Limits::default`] is what the adapters' `serve` uses.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// How long a client may take to send a request head, and how long a kept-alive
    /// connection may sit idle before its next one: 10 s. WeChat sends at once; a client that
    /// trickles (slowloris) is cut off.
    pub header_read_timeout: Duration,
    /// Most connections open at once: 4,096. At the cap the loop stops accepting; further
    /// clients wait in the listener's backlog (bounded by the OS) until one closes.
    pub max_connections: usize,
    /// How long the loop pauses after an accept error (out of file descriptors, say) before
    /// it accepts again: 50 ms.
    pub accept_error_pause: Duration,
    /// After shutdown was asked for: how long in-flight requests, and handlers still running
    /// after the deadline, get to finish before `serve` returns anyway: 10 s.
    pub grace_period: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            accept_error_pause: Duration::from_millis(50),
            grace_period: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// These limits with `max_connections` open at once.
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// These limits with another request-head (and keep-alive idle) timeout.
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// These limits with another grace period for shutdown.
    #[must_use]
    pub fn with_grace_period(mut self, grace_period: Duration) -> Self {
        self.grace_period = grace_period;
        self
    }
}

/// Serves `service` on every connection `listener` accepts, within `limits`, until
/// `shutdown` completes; then stops accepting, lets in-flight requests finish and handlers
/// that outlived their deadline run to completion, up to [`Limits::grace_period`], and
/// returns.
///
/// # Errors
/// None so far: accept errors are logged at `warn` and retried after
/// [`Limits::accept_error_pause`]; the `Result` is for the caller's `?`.
pub async fn serve<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: hyper::service::Service<
            http::Request<Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accept failed; pausing");
                tokio::time::sleep(limits.accept_error_pause).await;
                continue;
            }
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; waiting for in-flight work");
    let started = tokio::time::Instant::now();
    if tokio::time::timeout(limits.grace_period, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period");
    }
    let left = limits.grace_period.saturating_sub(started.elapsed());
    if !crate::handlers_finished(left).await {
        tracing::warn!("handlers still running after the grace period");
    }
    Ok(())
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: what the examples stop on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
