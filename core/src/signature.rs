//! `signature` and `msg_signature`: SHA-1 of the lexicographically sorted concatenation of the
//! token, `timestamp`, `nonce` and (for `msg_signature`) the `Encrypt` value or WeCom's
//! encrypted `echostr`.
//!
//! Source: 公众平台 “接入概述 / 验证消息的确来自微信服务器” and the `WXBizMsgCrypt` samples'
//! `SHA1.getSHA1`. Comparison is constant-time on the 20-byte digest.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::config::Token;
use crate::error::{Error, ErrorKind};

/// A SHA-1 digest, 20 bytes.
pub(crate) type Digest20 = [u8; 20];

/// SHA-1 of the concatenation of `parts` after sorting them by bytes (the order WeChat uses).
/// Up to four parts (every WeChat signature) are sorted on the stack; `parts` is not modified.
pub(crate) fn compute(parts: &[&str]) -> Digest20 {
    let mut hasher = Sha1::new();
    if parts.len() <= 4 {
        let mut sorted: [&str; 4] = [""; 4];
        sorted[..parts.len()].copy_from_slice(parts);
        let sorted = &mut sorted[..parts.len()];
        sorted.sort_unstable();
        sorted.iter().for_each(|p| hasher.update(p.as_bytes()));
    } else {
        let mut sorted = parts.to_vec();
        sorted.sort_unstable();
        sorted.iter().for_each(|p| hasher.update(p.as_bytes()));
    }
    hasher.finalize().into()
}

/// A WeChat signature: SHA-1 of `parts` sorted bytewise and concatenated, as 40 lowercase
/// hex digits, the form WeChat puts in `signature` / `msg_signature` and in a reply's
/// `MsgSignature`. `parts` are the token, `timestamp`, `nonce` and, for `msg_signature`, the
/// `Encrypt` value (公众平台 “接入概述”; `WXBizMsgCrypt` `SHA1.getSHA1`).
pub fn signature(parts: &[&str]) -> String {
    to_hex(&compute(parts))
}

/// Lowercase hex of a digest.
pub(crate) fn to_hex(digest: &Digest20) -> String {
    String::from_utf8_lossy(&to_hex_array(digest)).into_owned()
}

/// The 40 lowercase hex digits of a digest, on the stack.
pub(crate) fn to_hex_array(digest: &Digest20) -> [u8; 40] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 40];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    out
}

fn parse_hex(claimed: &str) -> Option<Digest20> {
    let bytes = claimed.as_bytes();
    if bytes.len() != 40 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 20];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// Checks `claimed` against the signature of `parts`; returns the digest they share.
fn verify_parts(parts: &[&str], claimed: &str, what: &'static str) -> Result<Digest20, Error> {
    let Some(claimed) = parse_hex(claimed) else {
        return Err(Error::with_detail(
            ErrorKind::InvalidSignature,
            format!("{what} is not 40 hex digits"),
        ));
    };
    let digest = compute(parts);
    if bool::from(digest.ct_eq(&claimed)) {
        Ok(digest)
    } else {
        Err(Error::with_detail(
            ErrorKind::InvalidSignature,
            format!("{what} does not match"),
        ))
    }
}

/// Checks a `signature` query parameter: `sha1(sort(token, timestamp, nonce))`.
///
/// # Errors
/// [`ErrorKind::InvalidSignature`] (-40001) when `signature` is not 40 hex digits or does not
/// match.
pub fn verify_signature(
    token: &Token,
    timestamp: &str,
    nonce: &str,
    signature: &str,
) -> Result<(), Error> {
    verify_parts(&[token.as_str(), timestamp, nonce], signature, "signature").map(drop)
}

/// Checks a `msg_signature` query parameter: `sha1(sort(token, timestamp, nonce, encrypt))`,
/// where `encrypt` is the body's `Encrypt` value or WeCom's encrypted `echostr`.
///
/// # Errors
/// [`ErrorKind::InvalidSignature`] (-40001) when `msg_signature` is not 40 hex digits or does
/// not match.
pub fn verify_msg_signature(
    token: &Token,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    msg_signature: &str,
) -> Result<(), Error> {
    check_msg_signature(token, timestamp, nonce, encrypt, msg_signature).map(drop)
}

/// [`verify_msg_signature`], returning the verified digest (20 bytes): for one `timestamp`
/// and `nonce`, it tells `Encrypt` values apart as well as a SHA-1 of each would, at no cost.
///
/// # Errors
/// As [`verify_msg_signature`].
pub(crate) fn check_msg_signature(
    token: &Token,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    msg_signature: &str,
) -> Result<Digest20, Error> {
    verify_parts(
        &[token.as_str(), timestamp, nonce, encrypt],
        msg_signature,
        "msg_signature",
    )
}

/// Checks a `timestamp` (Unix seconds) against `now` (Unix seconds).
///
/// With `tolerance_s` the timestamp must lie within that many seconds of `now`, either side;
/// without it any number passes. Returns the parsed timestamp.
///
/// # Errors
/// [`ErrorKind::Timestamp`] when the timestamp is not a decimal number or lies outside the
/// window.
pub(crate) fn check_timestamp(
    timestamp: &str,
    now: u64,
    tolerance_s: Option<u64>,
) -> Result<u64, Error> {
    let ts = timestamp.parse::<u64>().map_err(|error| {
        Error::with_detail(ErrorKind::Timestamp, "timestamp is not a number").with_source(error)
    })?;
    if let Some(tolerance) = tolerance_s
        && ts.abs_diff(now) > tolerance
    {
        return Err(Error::with_detail(
            ErrorKind::Timestamp,
            format!(
                "timestamp is {}s away from now, tolerance {tolerance}s",
                ts.abs_diff(now)
            ),
        ));
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parts_before_hashing() {
        assert_eq!(
            signature(&["c", "a", "b"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            signature(&["789", "456", "123"]),
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
        );
    }

    #[test]
    fn verifies_case_insensitively_and_rejects_garbage() {
        let token = Token::new("test").unwrap();
        let good = "F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF";
        verify_signature(&token, "1410685589", "test", good).unwrap();
        for bad in [
            "",
            "zz",
            &good[..39],
            "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe",
        ] {
            let err = verify_signature(&token, "1410685589", "test", bad).unwrap_err();
            assert_eq!(err.code(), Some(-40001), "{bad}");
        }
        // A multi-byte character must not be split when checking the hex form.
        let err = verify_signature(&token, "1", "2", &"é".repeat(20)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn timestamp_window() {
        assert_eq!(check_timestamp("100", 400, Some(300)).unwrap(), 100);
        assert_eq!(check_timestamp("700", 400, Some(300)).unwrap(), 700);
        assert!(check_timestamp("99", 400, Some(300)).is_err());
        assert!(check_timestamp("701", 400, Some(300)).is_err());
        assert_eq!(check_timestamp("1", 400, None).unwrap(), 1);
        assert_eq!(
            check_timestamp("12a", 400, None).unwrap_err().kind(),
            ErrorKind::Timestamp
        );
        assert!(check_timestamp("", 400, None).is_err());
    }
}
