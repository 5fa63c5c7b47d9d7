//! Callback bodies as a flat, zero-copy element tree.
//!
//! Every callback body (公众平台 “接收普通消息 / 接收事件推送”, 企业微信 “接收消息”) is one `<xml>`
//! root with child elements carrying text or CDATA, sometimes nested (`SendPicsInfo`,
//! `ScanCodeInfo`, `PublishEventInfo`) and sometimes repeated (`item`, `List`). quick-xml's
//! borrowed reader tokenizes it ([`reader`]); the events become a [`Document`]: the source
//! text, shared, plus a flat array of elements whose names and texts are ranges of it. A text
//! is copied only when it must be decoded (an entity or character reference, a `\r`, or
//! several CDATA / text pieces); everything else is a range of the source. A parse allocates
//! quick-xml's stack of open element names (two vectors, one of which grows once for WeChat's
//! longer names: three allocations for a typical body), the element array only past its first
//! 12 elements (held inline), and the decoded-text buffer only when a text needs decoding. The
//! body is checked as UTF-8 once (`simdutf8`); every text is a range of that checked text.
//!
//! What is accepted and refused is listed on [`Document::parse`].

mod cdata;
mod json;
mod reader;
mod utf8;

use bytes::Bytes;
use bytestring::ByteString;
use memchr::memchr;
use smallvec::SmallVec;

use crate::error::Error;

pub(crate) use cdata::cdata_len;
pub use cdata::{push_cdata, push_cdata_element};
pub(crate) use json::looks_like_json;
pub(crate) use utf8::shared_text;

/// Elements a document holds inline, with no allocation of their own: a text message has 7
/// (`xml` and six fields), most events fewer than 12. Longer bodies move to the heap.
const INLINE_ELEMENTS: usize = 12;

/// A document's element array.
type Nodes = SmallVec<[Node; INLINE_ELEMENTS]>;

/// A reader of a body's text: its element array and the buffer of decoded texts
/// ([`reader::read`] for XML, [`json::read`] for JSON).
type Reader = fn(&str) -> Result<(Nodes, String), Error>;

/// No element (end of a sibling chain, or no children).
pub(crate) const NONE: u32 = u32::MAX;

/// A byte range of the source, or of the decoded-text buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
    pub(crate) decoded: bool,
}

impl Span {
    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) name: Span,
    pub(crate) text: Span,
    pub(crate) first_child: u32,
    pub(crate) next_sibling: u32,
}

/// A parsed callback body: the source text (shared, never copied), the texts that needed
/// decoding, and the elements in document order. Cheap to read through [`Document::root`];
/// [`Element::shared_text`] hands out texts as [`ByteString`]s that share the source.
#[derive(Clone)]
pub struct Document {
    src: ByteString,
    decoded: ByteString,
    nodes: Nodes,
}

impl Document {
    /// Deepest element nesting accepted, the root counting as 1. Real callbacks nest at most 5.
    pub const MAX_DEPTH: usize = 32;

    /// Most attributes accepted on one element. WeChat's bodies carry none; a few are read
    /// past for tolerance, thousands are an attack.
    pub const MAX_ATTRIBUTES: usize = 16;

    /// Most elements accepted in one body (32 bytes of bookkeeping each, so at most 320 KB).
    /// Real callbacks carry tens; long lists (WeCom's) hundreds.
    pub const MAX_ELEMENTS: usize = 10_000;

    /// Parses a callback body, copying it once into shared storage.
    ///
    /// Accepted: an XML declaration (UTF-8, before the root), comments, CDATA, the five
    /// predefined entities, character references, up to [`Document::MAX_ATTRIBUTES`]
    /// attributes an element (checked, not kept), whitespace between elements. Text keeps its
    /// spaces; `\r\n` and a lone `\r` read as `\n` (XML 1.0 §2.11).
    ///
    /// # Errors
    /// [`ErrorKind::Xml`](crate::ErrorKind::Xml) (-40002) for: an empty body; malformed markup
    /// (as quick-xml reports it, plus bad names and `<` in attribute values); a DOCTYPE (so no
    /// entity declarations, expansion or external entities); a processing instruction; an
    /// encoding declaration other than UTF-8; an undefined entity or a character reference
    /// to a character XML forbids; a raw character XML 1.0 forbids (NUL and the other C0
    /// controls but tab, line feed and carriage return; U+FFFE, U+FFFF); `]]>` in text; a
    /// duplicate attribute; nesting deeper than [`Document::MAX_DEPTH`]; more than
    /// [`Document::MAX_ATTRIBUTES`] attributes on an element or [`Document::MAX_ELEMENTS`]
    /// elements; a second root, text outside the root, a root not named `xml`; a body of
    /// 4 GiB or more. The error's detail gives a byte offset, never content.
    pub fn parse(xml: &str) -> Result<Self, Error> {
        Self::from_shared(ByteString::from(xml))
    }

    /// Parses a body as received, without copying it: checked as UTF-8 once, here, and every
    /// text a range of it.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`](crate::ErrorKind::Xml) (-40002) when the body is not UTF-8, and as
    /// [`Document::parse`].
    pub fn from_bytes(body: Bytes) -> Result<Self, Error> {
        Self::from_bytes_as(body, false)
    }

    /// Parses a body as received, as JSON when `json` (else XML), without copying it.
    ///
    /// # Errors
    /// As [`Document::from_bytes`] and [`Document::parse_json`].
    pub(crate) fn from_bytes_as(body: Bytes, json: bool) -> Result<Self, Error> {
        let src =
            utf8::shared_text(body).map_err(|e| Error::xml("body is not UTF-8").with_source(e))?;
        Self::read_with(src, if json { json::read } else { reader::read })
    }

    /// Parses shared, already checked text (no copy).
    ///
    /// # Errors
    /// As [`Document::parse`].
    pub(crate) fn from_shared(src: ByteString) -> Result<Self, Error> {
        Self::read_with(src, reader::read)
    }

    /// The document `read` (the XML or the JSON reader) makes of `src`.
    fn read_with(src: ByteString, read: Reader) -> Result<Self, Error> {
        if u32::try_from(src.len()).is_err() {
            return Err(Error::xml("document of 4 GiB or more"));
        }
        let (nodes, decoded) = read(&src)?;
        Ok(Self {
            src,
            decoded: ByteString::from(decoded),
            nodes,
        })
    }

    /// Parses a JSON callback body (a mini-program push in JSON format) into the same tree an
    /// XML body gives: the object is the root (named `xml`), an object member an element with
    /// children, an array one element of the member's name per item, a string its text, a
    /// number or boolean its literal JSON text, `null` an empty text.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`](crate::ErrorKind::Xml) (-40002), the class of a malformed body, for:
    /// anything but one JSON object; nesting deeper than [`Document::MAX_DEPTH`]; more than
    /// [`Document::MAX_ELEMENTS`] elements; a body of 4 GiB or more. The detail gives a line
    /// and column, never content.
    pub fn parse_json(json: &str) -> Result<Self, Error> {
        Self::from_shared_json(ByteString::from(json))
    }

    /// Parses shared, already checked JSON text (no copy of it).
    ///
    /// # Errors
    /// As [`Document::parse_json`].
    pub(crate) fn from_shared_json(src: ByteString) -> Result<Self, Error> {
        Self::read_with(src, json::read)
    }

    /// Parses a body as received, JSON or XML by its first byte past whitespace (`{` is
    /// JSON), without copying it.
    ///
    /// # Errors
    /// As [`Document::from_bytes`] and [`Document::parse_json`].
    pub(crate) fn from_shared_any(src: ByteString) -> Result<Self, Error> {
        if looks_like_json(src.as_bytes()) {
            Self::from_shared_json(src)
        } else {
            Self::from_shared(src)
        }
    }

    /// The root element (`<xml>`).
    pub fn root(&self) -> Element<'_> {
        Element {
            doc: self,
            index: 0,
        }
    }

    /// The source text the document was parsed from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The root's first child named `name`; see [`Element::child`].
    pub fn child(&self, name: &str) -> Option<Element<'_>> {
        self.root().child(name)
    }

    /// The text of the root's first child named `name`; see [`Element::child_text`].
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.root().child_text(name)
    }

    /// The first element at a `/`-separated path below the root; see [`Element::find`].
    pub fn find(&self, path: &str) -> Option<Element<'_>> {
        self.root().find(path)
    }

    /// Every element at a `/`-separated path below the root; see [`Element::find_all`].
    pub fn find_all(&self, path: &str) -> Vec<Element<'_>> {
        self.root().find_all(path)
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.root().fmt(f)
    }
}

/// Documents are equal when their element trees are (names, texts, order), wherever the
/// texts are stored.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root()
    }
}

impl Eq for Document {}

/// One element of a [`Document`]: its name, its text (CDATA joined, references resolved,
/// nothing trimmed) and its child elements in document order. A `Copy` handle.
///
/// For an element with children, whitespace between them is not kept as text.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    doc: &'a Document,
    index: u32,
}

impl<'a> Element<'a> {
    fn node(&self) -> &'a Node {
        &self.doc.nodes[self.index as usize]
    }

    /// The text a span is a range of: the decoded-text buffer or the source.
    fn storage(&self, span: Span) -> &'a ByteString {
        if span.decoded {
            &self.doc.decoded
        } else {
            &self.doc.src
        }
    }

    fn span_str(&self, span: Span) -> &'a str {
        &self.storage(span)[span.range()]
    }

    /// A span's bytes (no character-boundary check: spans are built on boundaries).
    fn span_bytes(&self, span: Span) -> &'a [u8] {
        &self.storage(span).as_bytes()[span.range()]
    }

    /// The element name, e.g. `ToUserName`.
    pub fn name(&self) -> &'a str {
        self.span_str(self.node().name)
    }

    /// The element's text: CDATA sections joined, entity and character references resolved,
    /// `\r\n` and lone `\r` read as `\n`.
    pub fn text(&self) -> &'a str {
        self.span_str(self.node().text)
    }

    /// The element's text as a [`ByteString`] sharing the document's storage (no copy).
    pub fn shared_text(&self) -> ByteString {
        let span = self.node().text;
        if span.len == 0 {
            return ByteString::new();
        }
        let buf = self.storage(span);
        buf.slice_ref(&buf[span.range()])
    }

    /// Child elements in document order.
    pub fn children(&self) -> Children<'a> {
        Children {
            doc: self.doc,
            next: self.node().first_child,
        }
    }

    /// Whether the element has child elements.
    pub fn has_children(&self) -> bool {
        self.node().first_child != NONE
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<Element<'a>> {
        // Compared as bytes, lengths first: the typed message looks up each of its fields
        // this way, so this is the walk every callback takes most often.
        let name = name.as_bytes();
        let mut next = self.node().first_child;
        while next != NONE {
            let node = &self.doc.nodes[next as usize];
            if node.name.len as usize == name.len() && self.span_bytes(node.name) == name {
                return Some(Element {
                    doc: self.doc,
                    index: next,
                });
            }
            next = node.next_sibling;
        }
        None
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&'a str> {
        self.child(name).map(|c| c.text())
    }

    /// The first descendant at a `/`-separated path of names, e.g. `ScanCodeInfo/ScanType`.
    pub fn find(&self, path: &str) -> Option<Element<'a>> {
        match memchr(b'/', path.as_bytes()) {
            None => self.child(path),
            Some(slash) => self.child(&path[..slash])?.find(&path[slash + 1..]),
        }
    }

    /// Every descendant at a `/`-separated path, following every repeated name at every level,
    /// in document order: `SendPicsInfo/PicList/item/PicMd5Sum` yields each picture's sum.
    pub fn find_all(&self, path: &str) -> Vec<Element<'a>> {
        let mut level = vec![*self];
        for name in path.split('/') {
            level = level
                .into_iter()
                .flat_map(|el| el.children().filter(move |c| c.name() == name))
                .collect();
        }
        level
    }
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Element");
        s.field("name", &self.name());
        if !self.text().is_empty() {
            s.field("text", &self.text());
        }
        if self.node().first_child != NONE {
            s.field("children", &self.children().collect::<Vec<_>>());
        }
        s.finish()
    }
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
            && self.text() == other.text()
            && self.children().eq(other.children())
    }
}

/// The children of an [`Element`], in document order.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    doc: &'a Document,
    next: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = Element<'a>;

    fn next(&mut self) -> Option<Element<'a>> {
        if self.next == NONE {
            return None;
        }
        let element = Element {
            doc: self.doc,
            index: self.next,
        };
        self.next = element.node().next_sibling;
        Some(element)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn parse(xml: &str) -> Result<Document, Error> {
        Document::parse(xml)
    }

    fn texts(doc: &Document, path: &str) -> Vec<String> {
        doc.find_all(path)
            .iter()
            .map(|e| e.text().to_owned())
            .collect()
    }

    #[test]
    fn reads_cdata_entities_nesting_and_repeats() {
        let root = parse(
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml><!-- c --><A><![CDATA[x]]>&amp;<![CDATA[ y ]]>&#x4F60;</A>\
             <B>\n  <item><C>1</C></item>\n  <item><C>2</C></item>\n</B><E/></xml>\n",
        )
        .unwrap();
        assert_eq!(root.child_text("A"), Some("x& y 你"));
        assert_eq!(root.find("B/item/C").map(|e| e.text()), Some("1"));
        assert_eq!(texts(&root, "B/item/C"), ["1", "2"]);
        assert_eq!(root.child("B").unwrap().text(), "");
        assert_eq!(root.child_text("E"), Some(""));
        assert_eq!(root.root().name(), "xml");
        let names: Vec<_> = root.root().children().map(|c| c.name()).collect();
        assert_eq!(names, ["A", "B", "E"]);
    }

    #[test]
    fn keeps_text_untrimmed_and_normalizes_line_ends() {
        let root = parse("<xml><A>  a\r\nb\rc  </A><B><![CDATA[x\r\ny]]></B></xml>").unwrap();
        assert_eq!(root.child_text("A"), Some("  a\nb\nc  "));
        assert_eq!(root.child_text("B"), Some("x\ny"));
    }

    #[test]
    fn borrows_plain_text_and_shares_it() {
        let doc = parse("<xml><A><![CDATA[hello]]></A><B>a&lt;b</B></xml>").unwrap();
        let a = doc.child("A").unwrap();
        assert_eq!(a.shared_text(), "hello");
        // A range of the source, not a copy.
        let src = doc.source().as_bytes().as_ptr_range();
        assert!(src.contains(&a.text().as_ptr()));
        assert_eq!(doc.child("B").unwrap().shared_text(), "a<b");
        assert_eq!(doc.child("B").unwrap().text(), "a<b");
        assert!(doc.decoded.len() <= 3, "only the decoded text is copied");
    }

    #[test]
    fn mixed_content_keeps_each_elements_text_whole() {
        let doc = parse("<xml><P>a&amp;<C>c&amp;d</C>b&gt;</P></xml>").unwrap();
        assert_eq!(doc.child_text("P"), Some("a&b>"));
        assert_eq!(doc.find("P/C").unwrap().text(), "c&d");
    }

    #[test]
    fn nested_mixed_content_is_gathered_per_level() {
        // P's text is interrupted by Q's, Q's by C's: two levels gathered at once.
        let doc =
            parse("<xml><P>a&amp;<Q>b&amp;<C>c&amp;</C>d&lt;</Q>e&gt;</P><R>r&amp;</R></xml>")
                .unwrap();
        assert_eq!(doc.child_text("P"), Some("a&e>"));
        assert_eq!(doc.find("P/Q").unwrap().text(), "b&d<");
        assert_eq!(doc.find("P/Q/C").unwrap().text(), "c&");
        assert_eq!(doc.child_text("R"), Some("r&"));
    }

    #[test]
    fn interleaved_mixed_content_costs_linear_memory() {
        let n = 9_000; // under MAX_ELEMENTS
        let body = format!("<xml><P>{}</P></xml>", "&amp;<C>&lt;</C>".repeat(n));
        let doc = parse(&body).unwrap();
        assert_eq!(doc.child_text("P").map(str::len), Some(n));
        assert_eq!(doc.find_all("P/C").len(), n);
        assert!(doc.find_all("P/C").iter().all(|c| c.text() == "<"));
        // Each decoded text is stored about once: 2n here, not the n²/2 of copying the
        // parent's text along at every child.
        assert!(doc.decoded.len() < 3 * n, "{}", doc.decoded.len());
    }

    #[test]
    fn counts_are_capped() {
        let attrs = |n: usize| {
            format!(
                "<xml{}/>",
                (0..n).map(|i| format!(" a{i}=''")).collect::<String>()
            )
        };
        assert!(parse(&attrs(Document::MAX_ATTRIBUTES)).is_ok());
        let error = parse(&attrs(Document::MAX_ATTRIBUTES + 1)).unwrap_err();
        assert_eq!(error.detail(), Some("too many attributes at byte 1"));
        let elements = |n: usize| format!("<xml>{}</xml>", "<a/>".repeat(n - 1));
        assert!(parse(&elements(Document::MAX_ELEMENTS)).is_ok());
        let error = parse(&elements(Document::MAX_ELEMENTS + 1)).unwrap_err();
        assert!(error.detail().unwrap().starts_with("too many elements"));
        let nested =
            |n: usize| format!("<xml>{}{}</xml>", "<a>".repeat(n - 1), "</a>".repeat(n - 1));
        assert!(parse(&nested(Document::MAX_DEPTH)).is_ok());
        let error = parse(&nested(Document::MAX_DEPTH + 1)).unwrap_err();
        assert!(
            error
                .detail()
                .unwrap()
                .starts_with("elements nested too deep")
        );
    }

    #[test]
    fn reads_past_attributes_and_space_in_tags() {
        let doc = parse("<xml a=\"1\" b = '>2'><A x=\"y\" >t</A ><B c=\"d\"/></xml >").unwrap();
        assert_eq!(doc.child_text("A"), Some("t"));
        assert_eq!(doc.child_text("B"), Some(""));
    }

    #[test]
    fn equality_is_structural() {
        let a = parse("<xml><A>x&amp;</A></xml>").unwrap();
        let b = parse("<?xml version=\"1.0\"?><xml>\n <A><![CDATA[x&]]></A>\n</xml>").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, parse("<xml><A>x</A></xml>").unwrap());
        assert!(format!("{a:?}").contains("\"x&\""));
    }

    fn refused(case: &str) -> Error {
        let error = parse(case).expect_err(case);
        assert_eq!(error.kind(), ErrorKind::Xml, "{case:.60}");
        assert_eq!(error.code(), Some(-40002));
        error
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
            "<xml>&#xD800;</xml>",
            "<xml>&#99999999999;</xml>",
            "<xml>&#+65;</xml>",
            "<xml>&#x+41;</xml>",
            "<xml>&#x;</xml>",
            "<xml>& </xml>",
            "<xml>&amp</xml>",
            "<xml><!-- open</xml>",
            "<xml><!-- a -- b --></xml>",
            "<xml><A><![CDATA[open</A></xml>",
            "<xml><A</xml>",
            "<xml><A b></A></xml>",
            "<xml><A b=\"<\"></A></xml>",
            "<xml><A b=c></A></xml>",
            "<xml><A 1b=\"c\"></A></xml>",
            "<xml><1A></1A></xml>",
            "<xml></ xml>",
            "<xml><A/ ></xml>",
            "</xml>",
            "<xml/><?xml version=\"1.0\"?>",
            "<xml><?xml version=\"1.0\"?></xml>",
            "<xml><!ELEMENT a ANY></xml>",
            "<![CDATA[x]]><xml/>",
            "&amp;<xml/>",
            "<?xml version=\"1.0\"",
            "<xml><A>1</A>",
            deep.as_str(),
        ];
        for case in cases {
            refused(case);
        }
    }

    /// What a probe found the old hand-written scanner accepting; WeChat sends none of it.
    #[test]
    fn refuses_what_is_not_well_formed() {
        // Raw NUL and other C0 controls, in text, CDATA, attribute values and comments.
        for control in ['\u{0}', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1F}'] {
            refused(&format!("<xml><A>a{control}b</A></xml>"));
            refused(&format!("<xml><A><![CDATA[a{control}b]]></A></xml>"));
            refused(&format!("<xml><A b=\"{control}\"/></xml>"));
            refused(&format!("<xml><!-- {control} --></xml>"));
        }
        // The noncharacters U+FFFE and U+FFFF.
        refused("<xml><A>\u{FFFE}</A></xml>");
        refused("<xml><A><![CDATA[\u{FFFF}]]></A></xml>");
        // `]]>` outside a CDATA section.
        let error = refused("<xml><A>a]]>b</A></xml>");
        assert_eq!(error.detail(), Some("]]> in text at byte 9"));
        // Duplicate attributes.
        refused("<xml><A b=\"1\" b=\"2\"/></xml>");
        refused("<xml b='1' c='2' b='3'></xml>");
        // An encoding declaration the bytes do not follow.
        for encoding in ["UTF-16", "utf-16le", "GBK", "ISO-8859-1"] {
            let error = refused(&format!(
                "<?xml version=\"1.0\" encoding=\"{encoding}\"?><xml/>"
            ));
            assert!(error.detail().unwrap().starts_with("encoding declaration"));
        }
        // What is allowed stays allowed: tab, line feed, carriage return, and the rest.
        let doc = parse(
            "<?xml version='1.0' encoding='utf-8'?><xml><A>\t\n\r\u{FFFD}\u{10FFFF}</A></xml>",
        )
        .unwrap();
        assert_eq!(doc.child_text("A"), Some("\t\n\n\u{FFFD}\u{10FFFF}"));
        parse("<?xml version=\"1.0\" encoding=\"UTF8\"?><xml/>").unwrap();
    }

    #[test]
    fn utf8_is_checked_for_received_bodies() {
        let err = Document::from_bytes(Bytes::from_static(b"<xml>\xff</xml>")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Xml);
        assert!(std::error::Error::source(&err).is_some());
        let doc = Document::from_bytes(Bytes::from_static("<xml><A>你好</A></xml>".as_bytes()));
        assert_eq!(doc.unwrap().child_text("A"), Some("你好"));
    }

    #[test]
    fn errors_name_an_offset_never_content() {
        let error = refused("<xml><Secret>hunter2</Wrong></xml>");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(error.detail(), Some("mismatched end tag at byte 22"));
    }
}
