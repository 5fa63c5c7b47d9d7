//! JSON callback bodies (小程序 “消息推送”, 数据格式 JSON) into the same flat element tree as
//! XML bodies, so one [`Document`](super::Document) and one field mapping serve both.
//!
//! serde_json tokenizes; this module maps, as the fixture format does: the top-level object is
//! the root (named `xml`); a key whose value is an object becomes an element with children,
//! in the order sent; a key whose value is an array becomes one element of that name per item
//! (WeChat sends `List` as an object for one item and an array for several: both read the
//! same); a string becomes the element's text, unescaped; a number, `true` or `false` becomes
//! its literal JSON text (so a `MsgId` above 2^53 stays exact); `null` an empty text. Keys and
//! unescaped strings are ranges of the body; only strings with escapes are copied.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize as _, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{Document, NONE, Node, Nodes, Span};
use crate::error::Error;

/// The name the root element gets (XML bodies' root is `<xml>`).
const ROOT: &str = "xml";

/// Reads the JSON object `src` into its element array and the buffer of decoded texts.
pub(super) fn read(src: &str) -> Result<(Nodes, String), Error> {
    let mut builder = Builder {
        src,
        nodes: Nodes::new(),
        decoded: String::from(ROOT),
    };
    builder.nodes.push(Node {
        name: Span {
            start: 0,
            len: ROOT.len() as u32,
            decoded: true,
        },
        text: Span::default(),
        first_child: NONE,
        next_sibling: NONE,
    });
    let raw = parse::<&RawValue>(src)?;
    if !raw.get().starts_with('{') {
        return Err(Error::xml("JSON body is not an object"));
    }
    builder.object(0, raw.get(), 1)?;
    Ok((builder.nodes, builder.decoded))
}

/// serde_json's error, without its message (which may quote the body): where, and what sort.
fn malformed(error: &serde_json::Error) -> Error {
    let what = match error.classify() {
        serde_json::error::Category::Eof => "JSON ends early",
        serde_json::error::Category::Syntax => "malformed JSON",
        _ => "unexpected JSON",
    };
    Error::xml(format!(
        "{what} at line {} column {}",
        error.line(),
        error.column()
    ))
}

fn parse<'a, T: de::Deserialize<'a>>(text: &'a str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| malformed(&e))
}

struct Builder<'s> {
    src: &'s str,
    nodes: Nodes,
    decoded: String,
}

impl<'s> Builder<'s> {
    /// A span for `text`: a range of the body when it is one, else a copy in `decoded`.
    fn span(&mut self, text: Cow<'s, str>) -> Span {
        if let Cow::Borrowed(s) = text
            && let Some(start) = (s.as_ptr() as usize).checked_sub(self.src.as_ptr() as usize)
            && start + s.len() <= self.src.len()
        {
            return Span {
                start: start as u32,
                len: s.len() as u32,
                decoded: false,
            };
        }
        let start = self.decoded.len() as u32;
        self.decoded.push_str(&text);
        Span {
            start,
            len: text.len() as u32,
            decoded: true,
        }
    }

    /// Appends an element under `parent` after `last` (its last child so far, or [`NONE`]).
    fn push(&mut self, parent: u32, last: u32, name: Span, text: Span) -> Result<u32, Error> {
        if self.nodes.len() >= Document::MAX_ELEMENTS {
            return Err(Error::xml(format!(
                "more than {} elements",
                Document::MAX_ELEMENTS
            )));
        }
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            name,
            text,
            first_child: NONE,
            next_sibling: NONE,
        });
        if last == NONE {
            self.nodes[parent as usize].first_child = index;
        } else {
            self.nodes[last as usize].next_sibling = index;
        }
        Ok(index)
    }

    /// Adds the members of the object `raw` as children of `parent`, at nesting `depth`.
    fn object(&mut self, parent: u32, raw: &'s str, depth: usize) -> Result<(), Error> {
        check_depth(depth)?;
        let Members(members) = parse(raw)?;
        let mut last = NONE;
        for (key, value) in members {
            let name = self.span(key);
            last = self.value(parent, last, name, value.get(), depth)?;
        }
        Ok(())
    }

    /// Adds the element(s) for one member `name: raw` under `parent`; returns the last added.
    fn value(
        &mut self,
        parent: u32,
        mut last: u32,
        name: Span,
        raw: &'s str,
        depth: usize,
    ) -> Result<u32, Error> {
        match raw.as_bytes().first() {
            Some(b'{') => {
                let element = self.push(parent, last, name, Span::default())?;
                self.object(element, raw, depth + 1)?;
                Ok(element)
            }
            Some(b'[') => {
                // Arrays in arrays nest too: each level is read once more (bounded here).
                check_depth(depth)?;
                let items: Vec<&RawValue> = parse(raw)?;
                for item in items {
                    last = if item.get().starts_with('[') {
                        // An array in an array: an element holding the inner items.
                        let element = self.push(parent, last, name, Span::default())?;
                        self.value(element, NONE, name, item.get(), depth + 1)?;
                        element
                    } else {
                        self.value(parent, last, name, item.get(), depth)?
                    };
                }
                Ok(last)
            }
            Some(b'"') => {
                let Text(text) = parse(raw)?;
                let text = self.span(text);
                self.push(parent, last, name, text)
            }
            Some(b'n') => self.push(parent, last, name, Span::default()),
            // A number, `true` or `false`: its literal text.
            _ => {
                let text = self.span(Cow::Borrowed(raw));
                self.push(parent, last, name, text)
            }
        }
    }
}

/// Refuses nesting past [`Document::MAX_DEPTH`]: every level is parsed again from its raw
/// text, so the depth bounds the work to a multiple of the body's size.
fn check_depth(depth: usize) -> Result<(), Error> {
    if depth >= Document::MAX_DEPTH {
        return Err(Error::xml(format!(
            "JSON nested deeper than {}",
            Document::MAX_DEPTH
        )));
    }
    Ok(())
}

/// An object's members in the order sent, keys borrowed from the body when unescaped.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> de::Deserialize<'de> for Members<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
                while let Some(Text(key)) = map.next_key_seed(TextSeed)? {
                    members.push((key, map.next_value::<&RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// A JSON string, borrowed from the body when it has no escapes.
struct Text<'a>(Cow<'a, str>);

struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text<'de>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        Text::deserialize(deserializer)
    }
}

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Whether a body is JSON rather than XML: its first byte past whitespace is `{`.
pub(crate) fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

#[cfg(test)]
mod tests {
    use super::super::Document;

    #[test]
    fn maps_objects_arrays_and_scalars_like_the_fixture_format() {
        let doc = Document::parse_json(
            r#"{"ToUserName":"gh_1","CreateTime":1714112445,"MsgId":23993307130407686123,
                "Content":"a\"b\u4e2d","ok":true,"none":null,
                "List":[{"TemplateId":"t1","PopupScene":"0"},{"TemplateId":"t2"}],
                "result":{"suggest":"pass","label":100},"detail":[]}"#,
        )
        .unwrap();
        assert_eq!(doc.root().name(), "xml");
        assert_eq!(doc.child_text("ToUserName"), Some("gh_1"));
        assert_eq!(doc.child_text("CreateTime"), Some("1714112445"));
        assert_eq!(doc.child_text("MsgId"), Some("23993307130407686123"));
        assert_eq!(doc.child_text("Content"), Some("a\"b中"));
        assert_eq!(doc.child_text("ok"), Some("true"));
        assert_eq!(doc.child_text("none"), Some(""));
        let ids: Vec<_> = doc
            .find_all("List/TemplateId")
            .iter()
            .map(|e| e.text())
            .collect();
        assert_eq!(ids, ["t1", "t2"]);
        assert_eq!(doc.find("result/label").unwrap().text(), "100");
        assert!(doc.child("detail").is_none());
        let names: Vec<_> = doc.root().children().map(|e| e.name()).collect();
        assert_eq!(
            names,
            [
                "ToUserName",
                "CreateTime",
                "MsgId",
                "Content",
                "ok",
                "none",
                "List",
                "List",
                "result"
            ]
        );
    }

    #[test]
    fn one_item_object_and_one_item_array_read_the_same() {
        let object = Document::parse_json(r#"{"List":{"TemplateId":"t"}}"#).unwrap();
        let array = Document::parse_json(r#"{"List":[{"TemplateId":"t"}]}"#).unwrap();
        assert_eq!(object, array);
    }

    #[test]
    fn refuses_what_is_not_a_json_object_without_quoting_it() {
        for bad in [
            "",
            "[1]",
            "\"secret\"",
            "{\"a\":",
            "{\"secret\" 1}",
            "{\"a\":1}x",
        ] {
            let error = Document::parse_json(bad).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Xml, "{bad:?}");
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        let deep = format!("{}{}", "{\"a\":".repeat(40), "}".repeat(40));
        assert_eq!(
            Document::parse_json(&deep).unwrap_err().kind(),
            crate::ErrorKind::Xml
        );
        let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            Document::parse_json(&arrays).unwrap_err().kind(),
            crate::ErrorKind::Xml
        );
        let wide = format!("{{\"a\":[{}1]}}", "1,".repeat(Document::MAX_ELEMENTS));
        assert_eq!(
            Document::parse_json(&wide).unwrap_err().kind(),
            crate::ErrorKind::Xml
        );
    }

    #[test]
    fn sniffs_json_by_its_first_byte() {
        assert!(super::looks_like_json(b" \n{\"a\":1}"));
        assert!(!super::looks_like_json(b"<xml/>"));
        assert!(!super::looks_like_json(b""));
    }
}
