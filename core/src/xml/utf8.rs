//! Text shared with the buffer it arrived in, checked as UTF-8 once.
//!
//! This is the crate's one `unsafe` site (`unsafe_code` is `deny`, allowed here alone). A
//! body, or a decrypted message, is validated by `simdutf8` (SIMD, several times faster than
//! `std::str::from_utf8` on CJK and emoji text, which is most of WeChat's) and then wrapped
//! as a [`ByteString`] without `ByteString::try_from` validating it a second time. Measured
//! in the speed issue's closing note: on the reference corpus, `from_utf8` was the single
//! largest entry of a plaintext callback's profile.

use bytes::Bytes;
use bytestring::ByteString;

/// `bytes` as text, sharing its storage.
///
/// # Errors
/// The standard library's [`std::str::Utf8Error`] (with its byte offset) when `bytes` is not
/// UTF-8.
pub(crate) fn shared_text(bytes: Bytes) -> Result<ByteString, std::str::Utf8Error> {
    if simdutf8::basic::from_utf8(&bytes).is_err() {
        // Cold, and safe: the standard library checks again and says where it failed.
        return ByteString::try_from(bytes);
    }
    // Under the fuzzers (built with debug assertions) every input is checked both ways.
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    #[allow(unsafe_code)]
    // SAFETY: `simdutf8::basic::from_utf8` returned `Ok` for exactly these bytes just above,
    // so they are valid UTF-8, which is `from_bytes_unchecked`'s one requirement. `Bytes` is
    // immutable: nothing can change them between the check and the wrap.
    let text = unsafe { ByteString::from_bytes_unchecked(bytes) };
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_valid_text_and_shares_it() {
        let bytes = Bytes::from("微信 😀 <xml>&amp; ascii".repeat(40));
        let text = shared_text(bytes.clone()).unwrap();
        assert_eq!(text.as_bytes(), &bytes);
        // The same storage, not a copy.
        assert_eq!(text.as_bytes().as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn refuses_what_std_refuses_with_its_offset() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![0xff],
            b"abc\xc3".to_vec(),
            b"\xed\xa0\x80".to_vec(),     // a surrogate
            b"\xf4\x90\x80\x80".to_vec(), // past U+10FFFF
            b"\xc0\xaf".to_vec(),         // overlong
        ];
        // Long inputs take the SIMD path: a bad byte at every position of a 100-byte run.
        let text = "微信 😀 消息".repeat(8);
        for at in 0..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[at] = 0x80 ^ (bytes[at] & 0x40);
            cases.push(bytes);
        }
        for bytes in cases {
            let ours = shared_text(Bytes::from(bytes.clone())).map(|t| t.to_string());
            let std = std::str::from_utf8(&bytes).map(str::to_owned);
            assert_eq!(ours, std, "{bytes:?}");
        }
    }
}
