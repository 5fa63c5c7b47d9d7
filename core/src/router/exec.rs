//! The two pieces of execution the core needs without a runtime: catching a panic while a
//! future is polled, and driving a future on the calling thread.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// `future`'s output, or `Err` if polling it panicked.
pub(crate) async fn catch_unwind_future<F: Future>(future: F) -> Result<F::Output, ()> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    })
    .await
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on the calling thread, parking it while the future waits.
/// Enough for futures that need no runtime (no runtime timers, sockets or spawning); the
/// adapters run handlers on their runtime instead.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = Pin::as_mut(&mut future).poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_a_future_woken_from_another_thread() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (sender, receiver) = std::sync::mpsc::channel::<Waker>();
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let helper = std::thread::spawn(move || {
            let waker = receiver.recv().unwrap();
            flag.store(true, Ordering::SeqCst);
            waker.wake();
        });
        let mut sent = false;
        let value = block_on(std::future::poll_fn(|cx| {
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(42);
            }
            if !sent {
                sender.send(cx.waker().clone()).unwrap();
                sent = true;
            }
            Poll::Pending
        }));
        helper.join().unwrap();
        assert_eq!(value, 42);
    }

    #[test]
    fn a_panic_while_polling_is_an_error() {
        let panicking = async {
            if true {
                panic!("handler bug");
            }
            0
        };
        assert!(block_on(catch_unwind_future(panicking)).is_err());
        assert_eq!(block_on(catch_unwind_future(async { 7 })), Ok(7));
    }
}
