//! A per-thread buffer for what a callback writes only to copy or encrypt it away: the reply
//! XML of a plaintext callback (copied into an exactly sized body) and the framed plaintext of
//! an encrypted one (encrypted in place, then base64-encoded into the envelope). Reusing it
//! saves an allocation per reply and lets the reply be written in one pass, with no pass
//! before it to measure its length.

use std::cell::Cell;

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A buffer grown past this (a reply of over 64 KiB) is dropped after use rather than kept,
/// so one large reply does not hold memory in every thread that ever wrote one.
const KEEP_AT_MOST: usize = 64 * 1024;

/// Runs `f` with this thread's buffer, empty. A nested call (never made by the core, but
/// harmless) gets a fresh buffer instead of the one in use.
pub(crate) fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut buffer = BUFFER.take();
    buffer.clear();
    let result = f(&mut buffer);
    if buffer.capacity() <= KEEP_AT_MOST {
        BUFFER.set(buffer);
    }
    result
}

/// [`with_buffer`] as an empty `String` (the buffer's storage, no copy).
pub(crate) fn with_text<R>(f: impl FnOnce(&mut String) -> R) -> R {
    with_buffer(|buffer| {
        // Empty, so valid UTF-8: the conversion takes the storage as it is.
        let mut text = String::from_utf8(std::mem::take(buffer)).unwrap_or_default();
        let result = f(&mut text);
        *buffer = text.into_bytes();
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_reused_empty_and_large_ones_are_dropped() {
        let first = with_text(|text| {
            assert!(text.is_empty());
            text.push_str("hello");
            text.as_ptr() as usize
        });
        let second = with_buffer(|buffer| {
            assert!(buffer.is_empty(), "handed over empty");
            assert!(buffer.capacity() >= 5, "the storage is kept");
            buffer.as_ptr() as usize
        });
        assert_eq!(first, second);
        with_buffer(|buffer| buffer.resize(KEEP_AT_MOST + 1, 0));
        with_buffer(|buffer| assert_eq!(buffer.capacity(), 0, "a large buffer is not kept"));
        // Nested: the inner call gets its own buffer.
        with_buffer(|outer| {
            outer.push(1);
            with_buffer(|inner| assert!(inner.is_empty()));
            assert_eq!(outer, &[1]);
        });
    }
}
