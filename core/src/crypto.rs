//! WXBizMsgCrypt “safe mode” encryption, as in Tencent's official samples
//! (公众平台 “消息加解密说明”, 企业微信 “加解密方案说明”).
//!
//! - key = base64_decode(EncodingAESKey + "="), 32 bytes; IV = key[..16]; AES-256-CBC.
//! - plaintext = random(16) ‖ u32 big-endian length of msg ‖ msg ‖ receive id.
//! - PKCS#7 padding to a multiple of **32** bytes (pad value 1..=32).
//! - ciphertext travels as standard base64 (with `=` padding).
//!
//! Also here: the signature functions and the encrypted envelope ([`EncryptedReply`]), for
//! tools and tests that play WeChat's side.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes256Dec, Aes256Enc};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use bytes::Bytes;
use bytestring::ByteString;

use crate::config::{EncodingAesKey, ReceiveId};
use crate::error::{Error, ErrorKind};

mod envelope;

pub use crate::signature::{signature, verify_msg_signature, verify_signature};
pub use envelope::EncryptedReply;
pub(crate) use envelope::{seal_envelope, seal_json_envelope};

/// WeChat's PKCS#7 block size: 32 bytes (not AES's 16).
const PAD_BLOCK: usize = 32;

/// Encrypts and decrypts messages for one EncodingAESKey and receive id.
#[derive(Clone)]
pub struct MsgCrypt {
    key: [u8; 32],
    /// The key's round keys, expanded once here instead of on every message (each direction
    /// has its own: decryption's are the inverse).
    encrypt_keys: Aes256Enc,
    decrypt_keys: Aes256Dec,
    receive_id: ReceiveId,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("key", &"***")
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

impl MsgCrypt {
    /// A codec for `key` whose plaintexts must end with `receive_id`.
    pub fn new(key: &EncodingAesKey, receive_id: ReceiveId) -> Self {
        let bytes = key.key();
        Self {
            key: *bytes,
            encrypt_keys: Aes256Enc::new(bytes.into()),
            decrypt_keys: Aes256Dec::new(bytes.into()),
            receive_id,
        }
    }

    /// The receive id every plaintext must carry.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.receive_id
    }

    /// WXBizMsgCrypt's IV: the key's first 16 bytes.
    fn iv(&self) -> &[u8; 16] {
        // Always `Some`: the key is 32 bytes.
        self.key.first_chunk().unwrap_or(&[0; 16])
    }

    /// AES-256-CBC decryption with the IV `key[..16]`, from the expanded round keys.
    fn decryptor(&self) -> cbc::Decryptor<Aes256Dec> {
        cbc::Decryptor::inner_iv_init(self.decrypt_keys.clone(), self.iv().into())
    }

    /// AES-256-CBC encryption with the IV `key[..16]`, from the expanded round keys.
    fn encryptor(&self) -> cbc::Encryptor<Aes256Enc> {
        cbc::Encryptor::inner_iv_init(self.encrypt_keys.clone(), self.iv().into())
    }

    /// Decrypts an `Encrypt` value (or WeCom's encrypted `echostr`) and returns the message,
    /// after checking padding, length prefix and receive id.
    ///
    /// # Errors
    /// - [`ErrorKind::Base64`] (-40010): not standard base64;
    /// - [`ErrorKind::Decrypt`] (-40007): empty, not a whole number of 16-byte blocks, or bad
    ///   PKCS#7 padding (block 32, every pad byte checked);
    /// - [`ErrorKind::Buffer`] (-40008): shorter than random + length, or the length prefix
    ///   points past the end;
    /// - [`ErrorKind::ReceiveId`] (-40005): the trailing receive id is not the configured one
    ///   (an empty one included);
    /// - [`ErrorKind::Xml`] (-40002): the message is not UTF-8.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, Error> {
        let (mut buf, msg) = self.open(encrypt)?;
        buf.truncate(msg.end);
        buf.drain(..msg.start);
        String::from_utf8(buf)
            .map_err(|error| Error::xml("decrypted message is not UTF-8").with_source(error))
    }

    /// [`MsgCrypt::decrypt`], returning the message as a [`ByteString`] that shares the
    /// decryption buffer (no copy of the message).
    ///
    /// # Errors
    /// As [`MsgCrypt::decrypt`].
    pub(crate) fn decrypt_shared(&self, encrypt: &str) -> Result<ByteString, Error> {
        self.decrypt_shared_for(encrypt, self.receive_id.as_str())
    }

    /// [`MsgCrypt::decrypt_shared`], with `receive_id` expected instead of the configured one
    /// (a WeCom suite's data callbacks carry the authorizing corp's corpid, its URL
    /// verification the provider's).
    pub(crate) fn decrypt_shared_for(
        &self,
        encrypt: &str,
        receive_id: &str,
    ) -> Result<ByteString, Error> {
        let (buf, msg) = self.open_for(encrypt, receive_id)?;
        crate::xml::shared_text(Bytes::from(buf).slice(msg))
            .map_err(|error| Error::xml("decrypted message is not UTF-8").with_source(error))
    }

    /// Decodes, decrypts and checks; returns the plaintext buffer and where the message is.
    fn open(&self, encrypt: &str) -> Result<(Vec<u8>, std::ops::Range<usize>), Error> {
        self.open_for(encrypt, self.receive_id.as_str())
    }

    /// [`MsgCrypt::open`] expecting `expected` as the receive id.
    fn open_for(
        &self,
        encrypt: &str,
        expected: &str,
    ) -> Result<(Vec<u8>, std::ops::Range<usize>), Error> {
        let mut buf = STANDARD
            .decode(encrypt.as_bytes())
            .map_err(|error| Error::new(ErrorKind::Base64).with_source(error))?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(Error::with_detail(
                ErrorKind::Decrypt,
                "ciphertext is not a whole number of AES blocks",
            ));
        }
        let len = self
            .decryptor()
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| Error::new(ErrorKind::Decrypt))?
            .len();
        let unpadded = unpad(&buf[..len])?;
        if unpadded < 20 {
            return Err(Error::with_detail(
                ErrorKind::Buffer,
                "plaintext shorter than random and length prefix",
            ));
        }
        let msg_len = u32::from_be_bytes([buf[16], buf[17], buf[18], buf[19]]) as usize;
        let msg_end = 20usize
            .checked_add(msg_len)
            .filter(|&end| end <= unpadded)
            .ok_or_else(|| Error::with_detail(ErrorKind::Buffer, "length prefix past the end"))?;
        let receive_id = &buf[msg_end..unpadded];
        if receive_id.is_empty() || receive_id != expected.as_bytes() {
            return Err(Error::with_detail(
                ErrorKind::ReceiveId,
                "receive id does not match the configured appid / corpid",
            ));
        }
        Ok((buf, 20..msg_end))
    }

    /// Encrypts `msg` with 16 fresh random bytes; returns the base64 `Encrypt` value.
    pub fn encrypt(&self, msg: &str) -> String {
        self.encrypt_with_random(msg, &rand::random())
    }

    /// Encrypts `msg` with the given 16 “random” bytes (for known-answer tests); returns the
    /// base64 `Encrypt` value.
    pub fn encrypt_with_random(&self, msg: &str, random: &[u8; 16]) -> String {
        let mut buf = Vec::new();
        self.encrypt_framed_into(
            &mut buf,
            random,
            msg.len(),
            |out| out.push_str(msg),
            self.receive_id.as_str(),
        );
        STANDARD.encode(&buf)
    }

    /// Frames the message that `write` appends (random ‖ length ‖ message ‖ `receive_id` ‖
    /// PKCS#7 padding to 32) in `buf` (cleared first; the caller may reuse it from call to
    /// call) and encrypts it in place: `buf` ends up holding the ciphertext. `len_hint` is
    /// about the message's length in bytes: room for it and the framing is reserved at once,
    /// so a large message grows the buffer once.
    pub(crate) fn encrypt_framed_into(
        &self,
        buf: &mut Vec<u8>,
        random: &[u8; 16],
        len_hint: usize,
        write: impl FnOnce(&mut String),
        receive_id: &str,
    ) {
        buf.clear();
        buf.reserve(20 + len_hint + receive_id.len() + PAD_BLOCK);
        // Empty, so valid UTF-8: the conversion takes the storage as it is.
        let mut plain = String::from_utf8(std::mem::take(buf)).unwrap_or_default();
        // Placeholder for random and length, filled in below: NUL is valid UTF-8.
        plain.push_str("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        write(&mut plain);
        let msg_len = plain.len() - 20;
        plain.push_str(receive_id);
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        // `pad` is 1..=32: an ASCII control character, one byte each.
        plain.extend(std::iter::repeat_n(char::from(pad as u8), pad));
        *buf = plain.into_bytes();
        buf[..16].copy_from_slice(random);
        // A message over 4 GiB cannot be framed; the body cap keeps us far below that.
        buf[16..20].copy_from_slice(&u32::try_from(msg_len).unwrap_or(u32::MAX).to_be_bytes());
        let total = buf.len();
        self.encryptor()
            .encrypt_padded::<NoPadding>(buf, total)
            .expect("buffer is a whole number of blocks");
    }
}

/// Checks PKCS#7 padding with WeChat's 32-byte block; returns the unpadded length.
fn unpad(buf: &[u8]) -> Result<usize, Error> {
    let pad = usize::from(*buf.last().unwrap_or(&0));
    if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
        return Err(Error::with_detail(ErrorKind::Decrypt, "bad padding"));
    }
    let start = buf.len() - pad;
    if buf[start..].iter().any(|&b| usize::from(b) != pad) {
        return Err(Error::with_detail(ErrorKind::Decrypt, "bad padding"));
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(receive_id: &str) -> MsgCrypt {
        let key = EncodingAesKey::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        MsgCrypt::new(&key, ReceiveId::AppId(receive_id.into()))
    }

    /// Encrypts raw plaintext bytes (no framing) so malformed plaintexts can be built.
    fn encrypt_raw(c: &MsgCrypt, plain: &[u8]) -> String {
        assert_eq!(plain.len() % 16, 0);
        let mut buf = plain.to_vec();
        let n = buf.len();
        let ct = c
            .encryptor()
            .encrypt_padded::<NoPadding>(&mut buf, n)
            .unwrap()
            .to_vec();
        STANDARD.encode(ct)
    }

    /// The mini-program message-push page's JSON reply vector (安全模式回包), exactly.
    #[test]
    fn the_official_json_reply_vector_seals_and_opens() {
        let key = EncodingAesKey::new(&"A".repeat(43)).unwrap();
        let crypt = MsgCrypt::new(&key, ReceiveId::AppId("wxba5fad812f8e6fb9".into()));
        let token = crate::Token::new("AAAAA").unwrap();
        let reply = EncryptedReply::seal(
            &crypt,
            &token,
            r#"{"demo_resp":"good luck"}"#,
            1_713_424_427,
            "415670741",
            b"707722b803182950",
        );
        let json = reply.to_json();
        assert_eq!(
            json,
            r#"{"Encrypt":"ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==","MsgSignature":"1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1","TimeStamp":1713424427,"Nonce":"415670741"}"#
        );
        let read = EncryptedReply::from_json(&json).unwrap();
        assert_eq!(read, reply);
        assert_eq!(
            read.open(&crypt, &token).unwrap(),
            r#"{"demo_resp":"good luck"}"#
        );
        let string_timestamp = json.replace("1713424427", "\"1713424427\"");
        assert_eq!(EncryptedReply::from_json(&string_timestamp).unwrap(), reply);
        for bad in ["<xml/>", "[]", r#"{"Encrypt":"x"}"#] {
            assert_eq!(
                EncryptedReply::from_json(bad).unwrap_err().kind(),
                ErrorKind::Xml
            );
        }
    }

    /// The open platform's reply vector (第三方平台 “消息推送”, 回包), exactly: encrypted for
    /// the component appid.
    #[test]
    fn the_official_open_platform_reply_vector_seals() {
        let key = EncodingAesKey::new(&"A".repeat(43)).unwrap();
        let crypt = MsgCrypt::new(&key, ReceiveId::AppId("wx134c8103faa5a59e".into()));
        let reply = EncryptedReply::seal(
            &crypt,
            &crate::Token::new("AAAAA").unwrap(),
            "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>",
            1_713_424_427,
            "415670741",
            b"999951349e8ee746",
        );
        assert_eq!(
            reply.encrypt,
            "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7"
        );
        assert_eq!(
            reply.msg_signature,
            "03e0812039325c2712ef5f0f980fd14c70d6e307"
        );
    }

    #[test]
    fn round_trip_pads_to_32() {
        let c = codec("wxb11529c136998cb6");
        for len in [0usize, 1, 11, 12, 13, 44, 100] {
            let msg = "x".repeat(len);
            let enc = c.encrypt_with_random(&msg, &[7; 16]);
            assert_eq!(STANDARD.decode(&enc).unwrap().len() % 32, 0);
            assert_eq!(c.decrypt(&enc).unwrap(), msg);
        }
    }

    #[test]
    fn wrong_receive_id_is_40005() {
        let enc = codec("wx_a").encrypt_with_random("<xml/>", &[1; 16]);
        assert_eq!(
            codec("wx_b").decrypt(&enc).unwrap_err().code(),
            Some(-40005)
        );
        let empty = codec("").encrypt_with_random("<xml/>", &[1; 16]);
        assert_eq!(
            codec("wx_a").decrypt(&empty).unwrap_err().kind(),
            ErrorKind::ReceiveId
        );
    }

    #[test]
    fn malformed_ciphertexts_get_their_codes() {
        let c = codec("wx_a");
        assert_eq!(c.decrypt("not base64!").unwrap_err().code(), Some(-40010));
        assert_eq!(c.decrypt("").unwrap_err().code(), Some(-40007));
        assert_eq!(c.decrypt("AAAA").unwrap_err().code(), Some(-40007));
        // Last byte 0 and last byte 33: bad padding.
        let mut plain = [3u8; 64];
        plain[63] = 0;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40007)
        );
        plain[63] = 33;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40007)
        );
        // Inconsistent pad bytes.
        let mut plain = [4u8; 64];
        plain[61] = 9;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40007)
        );
        // Valid padding, but the length prefix points past the end.
        let mut plain = [0u8; 64];
        plain[16..20].copy_from_slice(&1000u32.to_be_bytes());
        plain[32..].fill(32);
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40008)
        );
        // Valid padding that leaves less than 20 bytes.
        let plain = [32u8; 32];
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40008)
        );
        // A length prefix of u32::MAX must not overflow.
        let mut plain = [0u8; 64];
        plain[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        plain[32..].fill(32);
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)).unwrap_err().code(),
            Some(-40008)
        );
    }

    #[test]
    fn debug_hides_key() {
        assert!(!format!("{:?}", codec("wx_a")).contains("105"));
        assert!(format!("{:?}", codec("wx_a")).contains("***"));
    }
}
