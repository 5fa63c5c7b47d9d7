//! A one-value channel from the spawned handler task to the request waiting for it, on `std`
//! alone: the receiver can be closed at the deadline, after which a send fails and hands the
//! value back (to go to the late-reply hook).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The receiver gave up: sends fail.
    closed: bool,
    /// The sender is gone without sending.
    dropped: bool,
}

type Shared<T> = Arc<Mutex<Slot<T>>>;

fn lock<T>(shared: &Shared<T>) -> std::sync::MutexGuard<'_, Slot<T>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends the one value.
pub(super) struct Sender<T>(Shared<T>);

/// Receives it: a future of `Some(value)`, or `None` once the sender is gone without one.
pub(super) struct Receiver<T>(Shared<T>);

pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        closed: false,
        dropped: false,
    }));
    (Sender(Arc::clone(&shared)), Receiver(shared))
}

impl<T> Sender<T> {
    /// Sends `value`, or hands it back when the receiver was closed.
    pub(super) fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut slot = lock(&self.0);
            if slot.closed {
                return Err(value);
            }
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.0);
            slot.dropped = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Refuses further sends; returns a value sent before.
    pub(super) fn close(&mut self) -> Option<T> {
        let mut slot = lock(&self.0);
        slot.closed = true;
        slot.value.take()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = lock(&self.0);
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Some(value));
        }
        if slot.dropped {
            return Poll::Ready(None);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::block_on;

    #[test]
    fn delivers_once_and_refuses_after_close() {
        let (sender, receiver) = channel();
        let waiter = std::thread::spawn(move || block_on(receiver));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(sender.send(5).is_ok());
        assert_eq!(waiter.join().unwrap(), Some(5));

        let (sender, mut receiver) = channel();
        assert_eq!(receiver.close(), None);
        assert_eq!(sender.send("late"), Err("late"));

        let (sender, mut receiver) = channel();
        sender.send(1).unwrap();
        assert_eq!(
            receiver.close(),
            Some(1),
            "sent just before the close still counts"
        );

        let (sender, receiver) = channel::<u8>();
        drop(sender);
        assert_eq!(block_on(receiver), None);
    }
}
