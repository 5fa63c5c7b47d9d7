//! The encrypted envelope: `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::MsgCrypt;
use crate::config::Token;
use crate::error::{Error, ErrorKind};
use crate::xml::{Document, push_cdata, push_cdata_element};

/// The body of an encrypted passive reply (公众平台 “消息加解密说明”, 企业微信 “被动回复消息格式”):
/// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`, where
/// `MsgSignature = sha1(sort(token, TimeStamp, Nonce, Encrypt))` and `TimeStamp` is Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptedReply {
    /// `Encrypt`: base64 ciphertext.
    pub encrypt: String,
    /// `MsgSignature`: 40 hex digits.
    pub msg_signature: String,
    /// `TimeStamp`: Unix seconds.
    pub timestamp: u64,
    /// `Nonce`.
    pub nonce: String,
}

impl EncryptedReply {
    /// Encrypts `xml` with the 16 `random` bytes and signs it with `token`, `timestamp`
    /// (Unix seconds) and `nonce`, as WeChat expects a reply (deterministic, for tools and
    /// known-answer tests; the engine seals its replies itself).
    pub fn seal(
        crypt: &MsgCrypt,
        token: &Token,
        xml: &str,
        timestamp: u64,
        nonce: &str,
        random: &[u8; 16],
    ) -> Self {
        let encrypt = crypt.encrypt_with_random(xml, random);
        let msg_signature =
            crate::signature::signature(&[token.as_str(), &timestamp.to_string(), nonce, &encrypt]);
        Self {
            encrypt,
            msg_signature,
            timestamp,
            nonce: nonce.to_owned(),
        }
    }

    /// Renders the envelope XML.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(self.encrypt.len() + 200);
        out.push_str("<xml><Encrypt>");
        push_cdata(&mut out, &self.encrypt);
        out.push_str("</Encrypt>");
        finish_envelope(&mut out, &self.msg_signature, self.timestamp, &self.nonce);
        out
    }

    /// Reads an envelope from XML (a reply as the engine sent it).
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] when the XML is malformed or lacks `Encrypt`, `MsgSignature`,
    /// `TimeStamp` (a number) or `Nonce`.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        let root = Document::parse(xml)?;
        let field = |name: &'static str| {
            root.child_text(name)
                .map(str::to_owned)
                .ok_or_else(|| Error::with_detail(ErrorKind::Xml, format!("no {name}")))
        };
        Ok(Self {
            encrypt: field("Encrypt")?,
            msg_signature: field("MsgSignature")?,
            timestamp: field("TimeStamp")?
                .trim()
                .parse()
                .map_err(|_| Error::with_detail(ErrorKind::Xml, "TimeStamp is not a number"))?,
            nonce: field("Nonce")?,
        })
    }

    /// Renders the envelope as JSON, the reply of a mini-program whose data format is JSON
    /// (小程序 “消息推送”, 安全模式回包): `{"Encrypt","MsgSignature","TimeStamp","Nonce"}` with
    /// `TimeStamp` a number and `Nonce` a string.
    pub fn to_json(&self) -> String {
        json_envelope(
            &self.encrypt,
            &self.msg_signature,
            self.timestamp,
            &self.nonce,
        )
    }

    /// Reads a JSON envelope (a JSON mini-program's encrypted reply). `TimeStamp` may be a
    /// number or a string of digits, as WeChat is lenient about numbers.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] (the class of a malformed body) when the text is not a JSON object
    /// or lacks `Encrypt`, `MsgSignature`, `TimeStamp` (a number) or `Nonce`.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| Error::with_detail(ErrorKind::Xml, "the envelope is not JSON"))?;
        let text = |name: &'static str| match value.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(Error::with_detail(ErrorKind::Xml, format!("no {name}"))),
        };
        Ok(Self {
            encrypt: text("Encrypt")?,
            msg_signature: text("MsgSignature")?,
            timestamp: text("TimeStamp")?
                .trim()
                .parse()
                .map_err(|_| Error::with_detail(ErrorKind::Xml, "TimeStamp is not a number"))?,
            nonce: text("Nonce")?,
        })
    }

    /// Checks `MsgSignature` and decrypts, as WeChat does with a reply.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSignature`] (-40001) or any error of [`MsgCrypt::decrypt`].
    pub fn open(&self, crypt: &MsgCrypt, token: &Token) -> Result<String, Error> {
        crate::signature::verify_msg_signature(
            token,
            &self.timestamp.to_string(),
            &self.nonce,
            &self.encrypt,
            &self.msg_signature,
        )?;
        crypt.decrypt(&self.encrypt)
    }
}

/// Writes the passive-reply envelope for `ciphertext` in one exactly sized string (so it
/// becomes `Bytes` with no further allocation): the base64 goes straight into the XML and is
/// signed where it lies. Same output as [`EncryptedReply::to_xml`].
pub(crate) fn seal_envelope(
    token: &Token,
    ciphertext: &[u8],
    timestamp: u64,
    nonce: &str,
) -> String {
    const HEAD: &str = "<xml><Encrypt><![CDATA[";
    const FIXED: usize = HEAD.len()
        + "]]></Encrypt>".len()
        + "<MsgSignature><![CDATA[]]></MsgSignature>".len()
        + "<TimeStamp></TimeStamp>".len()
        + "<Nonce><![CDATA[]]></Nonce></xml>".len();
    let mut timestamp_text = itoa::Buffer::new();
    let timestamp_text = timestamp_text.format(timestamp);
    let b64_len = base64::encoded_len(ciphertext.len(), true).unwrap_or(0);
    let mut out = String::with_capacity(FIXED + b64_len + 40 + timestamp_text.len() + nonce.len());
    out.push_str(HEAD);
    let start = out.len();
    STANDARD.encode_string(ciphertext, &mut out);
    let digest = crate::signature::compute(&[token.as_str(), timestamp_text, nonce, &out[start..]]);
    out.push_str("]]></Encrypt>");
    let hex = crate::signature::to_hex_array(&digest);
    finish_envelope(
        &mut out,
        std::str::from_utf8(&hex).unwrap_or_default(),
        timestamp,
        nonce,
    );
    out
}

/// The envelope after `</Encrypt>`: `MsgSignature`, `TimeStamp`, `Nonce`, `</xml>`.
/// The encrypted reply as JSON, for a mini-program whose data format is JSON (小程序 “消息推送”,
/// 安全模式回包): `{"Encrypt","MsgSignature","TimeStamp","Nonce"}`, `TimeStamp` a number and
/// `Nonce` a string, `MsgSignature` the SHA-1 of the sorted token, `TimeStamp`, `Nonce` and
/// `Encrypt`.
pub(crate) fn seal_json_envelope(
    token: &Token,
    ciphertext: &[u8],
    timestamp: u64,
    nonce: &str,
) -> String {
    let encrypt = STANDARD.encode(ciphertext);
    let mut timestamp_text = itoa::Buffer::new();
    let timestamp_text = timestamp_text.format(timestamp);
    let digest = crate::signature::compute(&[token.as_str(), timestamp_text, nonce, &encrypt]);
    let hex = crate::signature::to_hex_array(&digest);
    json_envelope(
        &encrypt,
        std::str::from_utf8(&hex).unwrap_or_default(),
        timestamp,
        nonce,
    )
}

/// The JSON envelope in the official page's key order (`Encrypt`, `MsgSignature`, `TimeStamp`,
/// `Nonce`); every string through `serde_json` so a nonce is always escaped.
fn json_envelope(encrypt: &str, msg_signature: &str, timestamp: u64, nonce: &str) -> String {
    let string = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        "{{\"Encrypt\":{},\"MsgSignature\":{},\"TimeStamp\":{timestamp},\"Nonce\":{}}}",
        string(encrypt),
        string(msg_signature),
        string(nonce)
    )
}

fn finish_envelope(out: &mut String, msg_signature: &str, timestamp: u64, nonce: &str) {
    push_cdata_element(out, "MsgSignature", msg_signature);
    out.push_str("<TimeStamp>");
    out.push_str(itoa::Buffer::new().format(timestamp));
    out.push_str("</TimeStamp>");
    push_cdata_element(out, "Nonce", nonce);
    out.push_str("</xml>");
}
