//! A small, hardened XML reader for callback bodies, and the CDATA writer used by replies.
//!
//! Every callback body (公众平台 “接收普通消息 / 接收事件推送”, 企业微信 “接收消息”) is one `<xml>`
//! root with child elements carrying text or CDATA, sometimes nested (`SendPicsInfo`,
//! `ScanCodeInfo`, `PublishEventInfo`) and sometimes repeated (`item`, `List`). It is read into an
//! [`Element`] tree in one pass. Refused: DOCTYPE (so no entity declarations, no expansion, no
//! external entities), processing instructions, undefined entities, nesting deeper than
//! [`MAX_DEPTH`], more than one root, a root other than `xml`, and any malformed markup.

use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;

use crate::error::{Error, ErrorKind};

/// Deepest element nesting accepted, the root counting as 1. Real callbacks nest at most 5.
pub const MAX_DEPTH: usize = 32;

/// One element of a callback body: its name, its text (CDATA joined, references resolved,
/// nothing trimmed) and its child elements in document order.
///
/// For an element with children, whitespace between them is not kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// A leaf element with text (for building trees by hand, e.g. in tests).
    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            children: Vec::new(),
        }
    }

    /// An element with children.
    pub fn with_children(name: impl Into<String>, children: Vec<Element>) -> Self {
        Self {
            name: name.into(),
            text: String::new(),
            children,
        }
    }

    /// The element name, e.g. `ToUserName`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element's text: CDATA sections joined, entity and character references resolved.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Child elements in document order.
    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }

    /// The first descendant at a `/`-separated path of names, e.g. `ScanCodeInfo/ScanType`.
    pub fn find(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |el, name| el.child(name))
    }

    /// Every descendant at a `/`-separated path, following every repeated name at every level,
    /// in document order: `SendPicsInfo/PicList/item/PicMd5Sum` yields each picture's sum.
    pub fn find_all<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        let mut level: Vec<&Element> = vec![self];
        for name in path.split('/') {
            level = level
                .into_iter()
                .flat_map(|el| el.children.iter().filter(move |c| c.name == name))
                .collect();
        }
        level.into_iter()
    }
}

fn malformed(reader: &Reader<&[u8]>, what: &str) -> Error {
    Error::with_detail(
        ErrorKind::Xml,
        format!("{what} at byte {}", reader.buffer_position()),
    )
}

/// Parses a callback body into its root [`Element`].
///
/// # Errors
/// [`ErrorKind::Xml`] (-40002) for an empty body, malformed markup, a DOCTYPE, a processing
/// instruction, an undefined entity, nesting deeper than [`MAX_DEPTH`], a second root, text
/// outside the root, or a root element not named `xml`. The detail gives a byte offset, never
/// content.
pub fn parse(xml: &str) -> Result<Element, Error> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::with_capacity(4);
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|_| malformed(&reader, "malformed XML"))?;
        match event {
            XmlEvent::Start(start) => {
                let element = open(&reader, &stack, &root, start.name().as_ref())?;
                stack.push(element);
            }
            XmlEvent::Empty(start) => {
                let element = open(&reader, &stack, &root, start.name().as_ref())?;
                close(&mut stack, &mut root, element);
            }
            XmlEvent::End(_) => {
                let mut element = stack
                    .pop()
                    .ok_or_else(|| malformed(&reader, "unexpected end tag"))?;
                if !element.children.is_empty() && element.text.trim().is_empty() {
                    element.text = String::new();
                }
                close(&mut stack, &mut root, element);
            }
            XmlEvent::Text(text) => {
                let text = text.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed(&reader, "text outside the root element")),
                }
            }
            XmlEvent::CData(cdata) => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| malformed(&reader, "CDATA outside the root element"))?;
                top.text.push_str(&cdata.xml10_content());
            }
            XmlEvent::GeneralRef(reference) => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| malformed(&reader, "reference outside the root element"))?;
                match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => top.text.push(c),
                    Ok(Some(_)) | Err(_) => {
                        return Err(malformed(&reader, "invalid character reference"));
                    }
                    Ok(None) => {
                        let entity = quick_xml::escape::resolve_predefined_entity(
                            &reference.xml10_content(),
                        )
                        .ok_or_else(|| malformed(&reader, "undefined entity"))?;
                        top.text.push_str(entity);
                    }
                }
            }
            XmlEvent::Decl(_) => {
                if root.is_some() || !stack.is_empty() {
                    return Err(malformed(&reader, "XML declaration inside the document"));
                }
            }
            XmlEvent::DocType(_) => return Err(malformed(&reader, "DOCTYPE is not allowed")),
            XmlEvent::PI(_) => {
                return Err(malformed(&reader, "processing instruction is not allowed"));
            }
            XmlEvent::Comment(_) => {}
            XmlEvent::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "unexpected end of document"));
    }
    let root = root.ok_or_else(|| malformed(&reader, "no root element"))?;
    if root.name != "xml" {
        return Err(malformed(&reader, "root element is not <xml>"));
    }
    Ok(root)
}

fn open(
    reader: &Reader<&[u8]>,
    stack: &[Element],
    root: &Option<Element>,
    name: &str,
) -> Result<Element, Error> {
    if root.is_some() {
        return Err(malformed(reader, "content after the root element"));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(malformed(reader, "elements nested too deep"));
    }
    Ok(Element {
        name: name.to_owned(),
        text: String::new(),
        children: Vec::new(),
    })
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Characters XML 1.0 allows (production `Char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` to `out` as CDATA, splitting any `]]>` so it cannot end the section early.
pub fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut rest = text;
    while let Some(at) = rest.find("]]>") {
        out.push_str(&rest[..at + 2]);
        out.push_str("]]><![CDATA[");
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out.push_str("]]>");
}

/// Appends `<name><![CDATA[text]]></name>` to `out`.
pub fn push_cdata_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdata_entities_nesting_and_repeats() {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<xml><!-- c --><A><![CDATA[x]]>&amp;<![CDATA[ y ]]>&#x4F60;</A>\
             <B>\n  <item><C>1</C></item>\n  <item><C>2</C></item>\n</B><E/></xml>\n",
        )
        .unwrap();
        assert_eq!(root.child_text("A"), Some("x& y 你"));
        assert_eq!(root.find("B/item/C").map(Element::text), Some("1"));
        let all: Vec<_> = root.find_all("B/item/C").map(Element::text).collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(root.child("B").unwrap().text(), "");
        assert_eq!(root.child_text("E"), Some(""));
    }

    #[test]
    fn keeps_text_untrimmed_and_normalizes_line_ends() {
        let root = parse("<xml><A>  a\r\nb  </A></xml>").unwrap();
        assert_eq!(root.child_text("A"), Some("  a\nb  "));
    }

    #[test]
    fn refuses_hostile_and_malformed_documents() {
        let deep = format!(
            "<xml>{}{}</xml>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        let cases = [
            "",
            "   ",
            "not xml",
            "<xml>",
            "<xml><A></B></xml>",
            "<xml></xml><xml></xml>",
            "<xml></xml>trailing",
            "<foo></foo>",
            "<!DOCTYPE xml [<!ENTITY a \"b\">]><xml>&a;</xml>",
            "<!DOCTYPE xml SYSTEM \"file:///etc/passwd\"><xml/>",
            "<xml><?php echo 1 ?></xml>",
            "<xml>&undefined;</xml>",
            "<xml>&#0;</xml>",
            "<xml>& </xml>",
            deep.as_str(),
        ];
        for case in cases {
            let err = parse(case).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Xml, "{case:.60}");
            assert_eq!(err.code(), Some(-40002));
        }
        let ok = format!("<xml>{}{}</xml>", "<a>".repeat(30), "</a>".repeat(30));
        parse(&ok).unwrap();
    }

    #[test]
    fn cdata_writer_splits_terminators() {
        let mut out = String::new();
        push_cdata(&mut out, "a]]>b]]>");
        assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
        let root = parse(&format!("<xml><C>{out}</C></xml>")).unwrap();
        assert_eq!(root.child_text("C"), Some("a]]>b]]>"));
    }
}
