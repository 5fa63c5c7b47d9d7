//! The CDATA writer used by replies, envelopes and tools.

use std::sync::LazyLock;

use memchr::memmem;

/// The `]]>` searcher, built once: it tests two bytes per candidate with SIMD, so a text
/// full of `>` or `]` does not cost a call per occurrence.
static CDATA_END: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"]]>"));

/// Where the first `]]>` in `text` starts.
pub(crate) fn find_cdata_end(text: &[u8]) -> Option<usize> {
    CDATA_END.find(text)
}

/// Characters XML 1.0 allows (production `Char`).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` to `out` as CDATA, splitting any `]]>` so it cannot end the section early.
///
/// Characters XML 1.0 does not allow (C0 controls other than tab, line feed and carriage
/// return; U+FFFE, U+FFFF) cannot be written in any form and are left out; a carriage return,
/// which a reader would turn into a line feed, is written as `&#13;` between sections. So
/// every reader gets back `text` less the characters XML cannot carry.
pub fn push_cdata(out: &mut String, text: &str) {
    if needs_care(text.as_bytes()) {
        push_cdata_with_care(out, text);
        return;
    }
    push_cdata_section(out, text);
}

/// Appends `<name><![CDATA[text]]></name>` to `out`, `text` written as by [`push_cdata`].
pub fn push_cdata_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_cdata_section(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut rest = text;
    while let Some(at) = find_cdata_end(rest.as_bytes()) {
        out.push_str(&rest[..at + 2]);
        out.push_str("]]><![CDATA[");
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out.push_str("]]>");
}

/// The rare path of [`push_cdata`]: forbidden characters dropped, `\r` as a reference.
fn push_cdata_with_care(out: &mut String, text: &str) {
    let kept: String = text.chars().filter(|&c| is_xml_char(c)).collect();
    for (i, line) in kept.split('\r').enumerate() {
        if i > 0 {
            out.push_str("&#13;");
        }
        push_cdata_section(out, line);
    }
}

/// Whether `text` holds a carriage return or a character XML 1.0 forbids.
fn needs_care(text: &[u8]) -> bool {
    let (forbidden, cr) = scan_controls(text);
    forbidden || cr
}

/// One pass over `text`: whether it holds a character XML 1.0 forbids (a C0 control other
/// than tab, line feed and carriage return; U+FFFE or U+FFFF), and whether it holds a carriage
/// return. Branch-free over the bytes (so it vectorizes), then a look at each `0xEF` lead byte.
pub(crate) fn scan_controls(text: &[u8]) -> (bool, bool) {
    let (controls, cr) = text.iter().fold((0u8, 0u8), |(controls, cr), &b| {
        (
            controls | u8::from(b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r'),
            cr | u8::from(b == b'\r'),
        )
    });
    let forbidden = controls != 0
        || memchr::memchr_iter(0xEF, text).any(|i| {
            text.get(i + 1) == Some(&0xBF) && matches!(text.get(i + 2), Some(0xBE | 0xBF))
        });
    (forbidden, cr != 0)
}

/// The exact length [`push_cdata`] writes for `text`.
pub(crate) fn cdata_len(text: &str) -> usize {
    const CDATA: usize = "<![CDATA[]]>".len();
    if needs_care(text.as_bytes()) {
        let mut out = String::new();
        push_cdata_with_care(&mut out, text);
        return out.len();
    }
    CDATA + text.len() + CDATA_END.find_iter(text.as_bytes()).count() * CDATA
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Document;

    #[test]
    fn splits_terminators_and_reads_back() {
        let mut out = String::new();
        push_cdata(&mut out, "a]]>b]]>");
        assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
        let doc = Document::parse(&format!("<xml><C>{out}</C></xml>")).unwrap();
        assert_eq!(doc.child_text("C"), Some("a]]>b]]>"));
        assert_eq!(cdata_len("]]>]]>a]]"), 9 + 12 * 3);
    }

    #[test]
    fn drops_forbidden_characters_and_keeps_carriage_returns() {
        let text = "a\u{0}b\rc\u{FFFE}d";
        let mut out = String::new();
        push_cdata(&mut out, text);
        assert_eq!(out, "<![CDATA[ab]]>&#13;<![CDATA[cd]]>");
        assert_eq!(cdata_len(text), out.len());
        let doc = Document::parse(&format!("<xml><C>{out}</C></xml>")).unwrap();
        assert_eq!(doc.child_text("C"), Some("ab\rcd"));
    }

    #[test]
    fn scan_tells_forbidden_from_carriage_return() {
        assert_eq!(scan_controls(b"plain\ttext\n"), (false, false));
        assert_eq!(scan_controls(b"a\rb"), (false, true));
        assert_eq!(scan_controls(b"a\x01b"), (true, false));
        assert_eq!(scan_controls("\u{FFFF}".as_bytes()), (true, false));
        assert_eq!(scan_controls("\u{FFFD}".as_bytes()), (false, false));
    }
}
