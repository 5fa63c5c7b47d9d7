//! A small, strict XML reader for callback bodies, and the CDATA writer used by replies.
//!
//! Every callback body (公众平台 “接收普通消息 / 接收事件推送”, 企业微信 “接收消息”) is one `<xml>`
//! root with child elements carrying text or CDATA, sometimes nested (`SendPicsInfo`,
//! `ScanCodeInfo`, `PublishEventInfo`) and sometimes repeated (`item`, `List`). It is read in
//! one pass into a [`Document`]: the source text, shared, plus a flat array of elements whose
//! names and texts point into it. A text is copied only when it must be decoded (an entity or
//! character reference, a `\r`, or several CDATA / text pieces); everything else is borrowed,
//! so a parse costs one allocation for the element array.
//!
//! Accepted: the XML declaration (first), comments, CDATA, the five predefined entities,
//! character references, up to [`MAX_ATTRIBUTES`] attributes an element (read past, not kept),
//! whitespace between elements.
//! Refused: DOCTYPE (so no entity declarations, no expansion, no external entities),
//! processing instructions, undefined entities, nesting deeper than [`MAX_DEPTH`], more
//! attributes than [`MAX_ATTRIBUTES`] on one element, more than [`MAX_ELEMENTS`] elements, more than
//! one root, a root other than `xml`, mismatched or unclosed tags, text outside the root, and
//! any other malformed markup. The scanner never recurses and never looks back, so its time
//! is linear in the input and its memory bounded by it.

use bytes::Bytes;
use bytestring::ByteString;
use std::sync::LazyLock;

use memchr::{memchr, memchr2, memmem};

use crate::error::{Error, ErrorKind};

/// Deepest element nesting accepted, the root counting as 1. Real callbacks nest at most 5.
pub const MAX_DEPTH: usize = 32;

/// Most attributes accepted on one element. WeChat's bodies carry none; a few are read past
/// for tolerance, thousands are an attack.
pub const MAX_ATTRIBUTES: usize = 16;

/// Most elements accepted in one body (32 bytes of bookkeeping each, so at most 320 KB). Real
/// callbacks carry tens; long lists (WeCom's) hundreds.
pub const MAX_ELEMENTS: usize = 10_000;

/// Elements the scanner makes room for before it starts; more grow the array as they come.
const PREALLOCATED_ELEMENTS: usize = 128;

/// No element (end of a sibling chain, or no children).
const NONE: u32 = u32::MAX;

/// A byte range of the source, or of the decoded-text buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
    decoded: bool,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

#[derive(Debug, Clone, Copy)]
struct Node {
    name: Span,
    text: Span,
    first_child: u32,
    next_sibling: u32,
}

/// A parsed callback body: the source text (shared, never copied), the texts that needed
/// decoding, and the elements in document order. Cheap to read through [`Document::root`];
/// [`Element::shared_text`] hands out texts as [`ByteString`]s that share the source.
#[derive(Clone)]
pub struct Document {
    src: ByteString,
    decoded: ByteString,
    nodes: Vec<Node>,
}

impl Document {
    /// Parses `xml`, copying it once into shared storage.
    ///
    /// # Errors
    /// As [`Document::from_shared`].
    pub fn parse(xml: &str) -> Result<Self, Error> {
        Self::from_shared(ByteString::from(xml))
    }

    /// Parses a body as received (no copy).
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] (-40002) when the body is not UTF-8, and as [`Document::from_shared`].
    pub fn from_bytes(body: Bytes) -> Result<Self, Error> {
        let src = ByteString::try_from(body)
            .map_err(|_| Error::with_detail(ErrorKind::Xml, "body is not UTF-8"))?;
        Self::from_shared(src)
    }

    /// Parses shared text (no copy).
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] (-40002) for an empty body, malformed markup, a DOCTYPE, a processing
    /// instruction, an undefined entity, nesting deeper than [`MAX_DEPTH`], a second root, text
    /// outside the root, a root element not named `xml`, or a body of 4 GiB or more. The
    /// detail gives a byte offset, never content.
    pub fn from_shared(src: ByteString) -> Result<Self, Error> {
        if u32::try_from(src.len()).is_err() {
            return Err(Error::with_detail(
                ErrorKind::Xml,
                "document of 4 GiB or more",
            ));
        }
        let (nodes, decoded) = Scanner::new(&src).run()?;
        Ok(Self {
            src,
            decoded: ByteString::from(decoded),
            nodes,
        })
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

    fn span_str(&self, span: Span) -> &'a str {
        let buf: &'a str = if span.decoded {
            &self.doc.decoded
        } else {
            &self.doc.src
        };
        &buf[span.range()]
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
        let buf = if span.decoded {
            &self.doc.decoded
        } else {
            &self.doc.src
        };
        if span.len == 0 {
            return ByteString::new();
        }
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
        self.children().find(|c| c.name() == name)
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

/// An open element: its node and its last child so far.
#[derive(Clone, Copy)]
struct Open {
    node: u32,
    last_child: u32,
}

struct Scanner<'s> {
    src: &'s str,
    bytes: &'s [u8],
    nodes: Vec<Node>,
    decoded: String,
    stack: [Open; MAX_DEPTH],
    /// Per open level: the text of an element whose decoded text was interrupted by a
    /// child's (mixed content), gathered here and written to `decoded` once, at its end tag.
    /// Copying it along at every interruption instead would be quadratic.
    mixed: [Option<String>; MAX_DEPTH],
    depth: usize,
    root_closed: bool,
}

fn malformed(at: usize, what: &str) -> Error {
    Error::with_detail(ErrorKind::Xml, format!("{what} at byte {at}"))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// Characters XML 1.0 allows (production `Char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl<'s> Scanner<'s> {
    fn new(src: &'s str) -> Self {
        let bytes = src.as_bytes();
        // Every element has a start tag, and all but empty ones an end tag: half the `<`s
        // (plus one) is enough for ordinary bodies, and the vector grows for the rest. The
        // estimate is capped, so a body of empty tags cannot reserve eight times its size.
        let tags = memchr::memchr_iter(b'<', bytes).count();
        Self {
            src,
            bytes,
            nodes: Vec::with_capacity((tags / 2 + 1).min(PREALLOCATED_ELEMENTS)),
            decoded: String::new(),
            stack: [Open {
                node: NONE,
                last_child: NONE,
            }; MAX_DEPTH],
            mixed: std::array::from_fn(|_| None),
            depth: 0,
            root_closed: false,
        }
    }

    fn run(mut self) -> Result<(Vec<Node>, String), Error> {
        let len = self.bytes.len();
        let mut pos = if self.src.starts_with('\u{FEFF}') {
            3
        } else {
            0
        };
        loop {
            let lt = memchr(b'<', &self.bytes[pos..]).map(|i| pos + i);
            let text_end = lt.unwrap_or(len);
            if text_end > pos {
                self.text(pos, text_end)?;
            }
            match lt {
                Some(lt) => pos = self.markup(lt)?,
                None => break,
            }
        }
        if self.depth != 0 {
            return Err(malformed(len, "unexpected end of document"));
        }
        let Some(root) = self.nodes.first() else {
            return Err(malformed(len, "no root element"));
        };
        if &self.src[root.name.range()] != "xml" {
            return Err(malformed(0, "root element is not <xml>"));
        }
        Ok((self.nodes, self.decoded))
    }

    fn find(&self, from: usize, needle: &[u8], what: &str) -> Result<usize, Error> {
        find_closing(&self.bytes[from..], needle)
            .map(|i| from + i)
            .ok_or_else(|| malformed(from, what))
    }

    /// Reads the markup starting at `lt` (a `<`) and returns the position just after it.
    fn markup(&mut self, lt: usize) -> Result<usize, Error> {
        let rest = &self.bytes[lt..];
        if rest.starts_with(b"<!--") {
            let end = self.find(lt + 4, b"-->", "unterminated comment")?;
            return Ok(end + 3);
        }
        if rest.starts_with(b"<![CDATA[") {
            if self.depth == 0 {
                return Err(malformed(lt, "CDATA outside the root element"));
            }
            let start = lt + 9;
            let end = find_cdata_end(&self.bytes[start..])
                .map(|i| start + i)
                .ok_or_else(|| malformed(start, "unterminated CDATA section"))?;
            self.segment(start, end, memchr(b'\r', &self.bytes[start..end]).is_some());
            return Ok(end + 3);
        }
        if rest.starts_with(b"<!") {
            let what = if rest.starts_with(b"<!DOCTYPE") {
                "DOCTYPE is not allowed"
            } else {
                "malformed XML"
            };
            return Err(malformed(lt, what));
        }
        if rest.starts_with(b"<?") {
            let end = self.find(lt + 2, b"?>", "unterminated declaration")?;
            let target = &self.bytes[lt + 2..end];
            let is_decl = target.starts_with(b"xml")
                && target.get(3).is_none_or(|&b| is_space(b) || b == b'?');
            if !is_decl {
                return Err(malformed(lt, "processing instruction is not allowed"));
            }
            if !self.nodes.is_empty() {
                return Err(malformed(lt, "XML declaration inside the document"));
            }
            return Ok(end + 2);
        }
        if rest.starts_with(b"</") {
            return self.end_tag(lt);
        }
        self.start_tag(lt)
    }

    fn name_end(&self, start: usize) -> Result<usize, Error> {
        if !self.bytes.get(start).copied().is_some_and(is_name_start) {
            return Err(malformed(start, "malformed XML"));
        }
        let len = self.bytes[start..]
            .iter()
            .position(|&b| !is_name_char(b))
            .unwrap_or(self.bytes.len() - start);
        Ok(start + len)
    }

    fn skip_space(&self, mut pos: usize) -> usize {
        while self.bytes.get(pos).copied().is_some_and(is_space) {
            pos += 1;
        }
        pos
    }

    fn start_tag(&mut self, lt: usize) -> Result<usize, Error> {
        let name_start = lt + 1;
        let name_end = self.name_end(name_start)?;
        let mut pos = name_end;
        let mut attributes = 0;
        let empty = loop {
            let after_space = self.skip_space(pos);
            match self.bytes.get(after_space) {
                Some(b'>') => {
                    pos = after_space + 1;
                    break false;
                }
                Some(b'/') if self.bytes.get(after_space + 1) == Some(&b'>') => {
                    pos = after_space + 2;
                    break true;
                }
                Some(_) if after_space > pos => {
                    attributes += 1;
                    if attributes > MAX_ATTRIBUTES {
                        return Err(malformed(after_space, "too many attributes"));
                    }
                    pos = self.attribute(after_space)?;
                }
                _ => return Err(malformed(after_space, "malformed start tag")),
            }
        };
        self.open(lt, name_start, name_end)?;
        if empty {
            self.close();
        }
        Ok(pos)
    }

    /// Reads past `name="value"` (or single quotes) and returns the position after it.
    fn attribute(&self, start: usize) -> Result<usize, Error> {
        let name_end = self.name_end(start)?;
        let eq = self.skip_space(name_end);
        if self.bytes.get(eq) != Some(&b'=') {
            return Err(malformed(eq, "malformed attribute"));
        }
        let open = self.skip_space(eq + 1);
        let quote = match self.bytes.get(open) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(malformed(open, "malformed attribute")),
        };
        let close = memchr2(quote, b'<', &self.bytes[open + 1..])
            .map(|i| open + 1 + i)
            .filter(|&i| self.bytes[i] == quote)
            .ok_or_else(|| malformed(open, "malformed attribute"))?;
        Ok(close + 1)
    }

    fn end_tag(&mut self, lt: usize) -> Result<usize, Error> {
        let name_start = lt + 2;
        let name_end = self.name_end(name_start)?;
        let gt = self.skip_space(name_end);
        if self.bytes.get(gt) != Some(&b'>') {
            return Err(malformed(gt, "malformed end tag"));
        }
        if self.depth == 0 {
            return Err(malformed(lt, "unexpected end tag"));
        }
        let open = self.nodes[self.stack[self.depth - 1].node as usize].name;
        if self.bytes[open.range()] != self.bytes[name_start..name_end] {
            return Err(malformed(lt, "mismatched end tag"));
        }
        self.close();
        Ok(gt + 1)
    }

    fn open(&mut self, lt: usize, name_start: usize, name_end: usize) -> Result<(), Error> {
        if self.root_closed {
            return Err(malformed(lt, "content after the root element"));
        }
        if self.depth >= MAX_DEPTH {
            return Err(malformed(lt, "elements nested too deep"));
        }
        if self.nodes.len() >= MAX_ELEMENTS {
            return Err(malformed(lt, "too many elements"));
        }
        // Offsets fit in u32: `Document::from_shared` refuses larger inputs.
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            name: Span {
                start: name_start as u32,
                len: (name_end - name_start) as u32,
                decoded: false,
            },
            text: Span::default(),
            first_child: NONE,
            next_sibling: NONE,
        });
        if self.depth > 0 {
            let parent = &mut self.stack[self.depth - 1];
            match parent.last_child {
                NONE => self.nodes[parent.node as usize].first_child = index,
                last => self.nodes[last as usize].next_sibling = index,
            }
            parent.last_child = index;
        }
        self.stack[self.depth] = Open {
            node: index,
            last_child: NONE,
        };
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) {
        self.depth -= 1;
        let index = self.stack[self.depth].node as usize;
        if let Some(text) = self.mixed[self.depth].take() {
            self.nodes[index].text = Span {
                start: self.decoded.len() as u32,
                len: text.len() as u32,
                decoded: true,
            };
            self.decoded.push_str(&text);
        }
        let node = self.nodes[index];
        if node.first_child != NONE && self.span_is_blank(node.text) {
            self.nodes[index].text = Span::default();
        }
        if self.depth == 0 {
            self.root_closed = true;
        }
    }

    fn span_is_blank(&self, span: Span) -> bool {
        let buf = if span.decoded {
            self.decoded.as_bytes()
        } else {
            self.bytes
        };
        buf[span.range()].iter().all(|&b| is_space(b))
    }

    /// Character data between markup, from `start` to `end`.
    fn text(&mut self, start: usize, end: usize) -> Result<(), Error> {
        if self.depth == 0 {
            if self.bytes[start..end].iter().all(|&b| is_space(b)) {
                return Ok(());
            }
            return Err(malformed(start, "text outside the root element"));
        }
        let mut pos = start;
        while let Some(i) = memchr(b'&', &self.bytes[pos..end]) {
            let amp = pos + i;
            if amp > pos {
                self.segment(pos, amp, memchr(b'\r', &self.bytes[pos..amp]).is_some());
            }
            pos = self.reference(amp, end)?;
        }
        if end > pos {
            self.segment(pos, end, memchr(b'\r', &self.bytes[pos..end]).is_some());
        }
        Ok(())
    }

    /// Resolves the reference at `amp` (before `end`) into the open element's text.
    fn reference(&mut self, amp: usize, end: usize) -> Result<usize, Error> {
        // The longest reference accepted is `&#x10FFFF;`, 10 bytes; allow some leading zeros.
        let window = &self.bytes[amp + 1..end.min(amp + 1 + 16)];
        let semi = memchr(b';', window).ok_or_else(|| malformed(amp, "malformed reference"))?;
        let name = &self.src[amp + 1..amp + 1 + semi];
        let resolved = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ => {
                let (digits, radix) = if let Some(hex) = name.strip_prefix("#x") {
                    (hex, 16)
                } else if let Some(dec) = name.strip_prefix('#') {
                    (dec, 10)
                } else {
                    return Err(malformed(amp, "undefined entity"));
                };
                // `from_str_radix` would also take a sign; a reference is digits only.
                let code = digits
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
                    .then(|| u32::from_str_radix(digits, radix).ok())
                    .flatten();
                code.and_then(char::from_u32)
                    .filter(|&c| is_xml_char(c))
                    .ok_or_else(|| malformed(amp, "invalid character reference"))?
            }
        };
        let mut utf8 = [0u8; 4];
        self.push_decoded(resolved.encode_utf8(&mut utf8));
        Ok(amp + 1 + semi + 1)
    }

    /// Appends source bytes `start..end` to the open element's text; `has_cr` asks for line
    /// ends to be normalized, which needs a copy.
    fn segment(&mut self, start: usize, end: usize, has_cr: bool) {
        if start == end {
            return;
        }
        let top = self.stack[self.depth - 1].node as usize;
        if !has_cr && self.nodes[top].text.len == 0 {
            self.nodes[top].text = Span {
                start: start as u32,
                len: (end - start) as u32,
                decoded: false,
            };
            return;
        }
        if !has_cr {
            let piece = &self.src[start..end];
            self.push_decoded(piece);
            return;
        }
        let mut rest = &self.src[start..end];
        while let Some(cr) = rest.find('\r') {
            self.push_decoded(&rest[..cr]);
            self.push_decoded("\n");
            rest = &rest[cr + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
        self.push_decoded(rest);
    }

    /// Appends decoded text to the open element's text, moving that text into the decoded
    /// buffer (at its end) first if it is not there yet.
    fn push_decoded(&mut self, piece: &str) {
        if let Some(gathered) = &mut self.mixed[self.depth - 1] {
            gathered.push_str(piece);
            return;
        }
        let top = self.stack[self.depth - 1].node as usize;
        let text = self.nodes[top].text;
        let at_end = text.decoded && (text.start + text.len) as usize == self.decoded.len();
        if !at_end {
            if self.decoded.capacity() == 0 {
                // Decoded text never outgrows the source it comes from: one allocation.
                self.decoded.reserve(self.bytes.len() - text.start as usize);
            }
            if text.decoded {
                // Mixed content: a child's decoded text came after ours. Gather the rest of
                // ours aside; `close` writes it out whole.
                let mut gathered = self.decoded[text.range()].to_owned();
                gathered.push_str(piece);
                self.mixed[self.depth - 1] = Some(gathered);
                return;
            }
            let start = self.decoded.len();
            self.decoded.push_str(&self.src[text.range()]);
            self.nodes[top].text = Span {
                start: start as u32,
                len: text.len,
                decoded: true,
            };
        }
        self.decoded.push_str(piece);
        self.nodes[top].text.len += piece.len() as u32;
    }
}

/// Where `needle` (a short closing delimiter such as `]]>`, `-->` or `?>`) first occurs in
/// `haystack`: a `memchr` for its last byte, then a look back. For these needles and
/// callback-sized texts this beats building a substring searcher per call.
fn find_closing(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&last, _) = needle.split_last()?;
    let mut from = 0;
    while let Some(i) = memchr(last, &haystack[from..]) {
        let end = from + i + 1;
        if end >= needle.len() && &haystack[end - needle.len()..end] == needle {
            return Some(end - needle.len());
        }
        from = end;
    }
    None
}

/// The `]]>` searcher, built once: it tests two bytes per candidate with SIMD, so a text
/// full of `>` or `]` does not cost a call per occurrence.
static CDATA_END: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"]]>"));

/// Where the first `]]>` in `text` starts.
fn find_cdata_end(text: &[u8]) -> Option<usize> {
    CDATA_END.find(text)
}

/// Parses a callback body into a [`Document`] (copying it once); see
/// [`Document::from_shared`] for what is refused.
///
/// # Errors
/// [`ErrorKind::Xml`] (-40002), as [`Document::from_shared`].
pub fn parse(xml: &str) -> Result<Document, Error> {
    Document::parse(xml)
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

/// Whether `text` holds a carriage return or a character XML 1.0 forbids. Branch-free over
/// the bytes (so it vectorizes), then a look at each `0xEF` lead byte for U+FFFE / U+FFFF.
fn needs_care(text: &[u8]) -> bool {
    let controls = text.iter().fold(0u8, |acc, &b| {
        acc | u8::from(b < 0x20 && b != b'\t' && b != b'\n')
    });
    controls != 0
        || memchr::memchr_iter(0xEF, text)
            .any(|i| text.get(i + 1) == Some(&0xBF) && matches!(text.get(i + 2), Some(0xBE | 0xBF)))
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

    fn texts(doc: &Document, path: &str) -> Vec<String> {
        doc.find_all(path)
            .iter()
            .map(|e| e.text().to_owned())
            .collect()
    }

    #[test]
    fn reads_cdata_entities_nesting_and_repeats() {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<xml><!-- c --><A><![CDATA[x]]>&amp;<![CDATA[ y ]]>&#x4F60;</A>\
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
        let shared = a.shared_text();
        assert_eq!(shared, "hello");
        // Borrowed from the source, not copied.
        let src = doc.source().as_bytes().as_ptr_range();
        assert!(src.contains(&a.text().as_ptr()));
        assert_eq!(doc.child("B").unwrap().shared_text(), "a<b");
        assert_eq!(doc.child("B").unwrap().text(), "a<b");
    }

    #[test]
    fn mixed_content_keeps_each_elements_text_whole() {
        let doc = parse("<xml><P>a&amp;<C>c&amp;d</C>b&gt;</P></xml>").unwrap();
        assert_eq!(doc.child_text("P"), Some("a&b>"));
        assert_eq!(doc.find("P/C").unwrap().text(), "c&d");
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
        let attrs = |n: usize| format!("<xml{}/>", " a=''".repeat(n));
        assert!(parse(&attrs(MAX_ATTRIBUTES)).is_ok());
        let error = parse(&attrs(MAX_ATTRIBUTES + 1)).unwrap_err();
        assert_eq!(error.detail(), Some("too many attributes at byte 85"));
        let elements = |n: usize| format!("<xml>{}</xml>", "<a/>".repeat(n - 1));
        assert!(parse(&elements(MAX_ELEMENTS)).is_ok());
        let error = parse(&elements(MAX_ELEMENTS + 1)).unwrap_err();
        assert!(error.detail().unwrap().starts_with("too many elements"));
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
            "<xml><A><![CDATA[open</A></xml>",
            "<xml><A</xml>",
            "<xml><A b></A></xml>",
            "<xml><A b=\"<\"></A></xml>",
            "<xml><A b=c></A></xml>",
            "<xml><1A></1A></xml>",
            "<xml></ xml>",
            "<xml><A/ ></xml>",
            "</xml>",
            "<xml/><?xml version=\"1.0\"?>",
            "<xml><?xml version=\"1.0\"?></xml>",
            "<xml><!ELEMENT a ANY></xml>",
            "<![CDATA[x]]><xml/>",
            "<?xml version=\"1.0\"",
            "<xml><A>1</A>",
            deep.as_str(),
        ];
        for case in cases {
            let err = parse(case).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Xml, "{case:.60}");
            assert_eq!(err.code(), Some(-40002));
        }
        let ok = format!("<xml>{}{}</xml>", "<a>".repeat(31), "</a>".repeat(31));
        parse(&ok).unwrap();
        let too_deep = format!("<xml>{}{}</xml>", "<a>".repeat(32), "</a>".repeat(32));
        assert!(parse(&too_deep).is_err());
    }

    #[test]
    fn utf8_is_checked_for_received_bodies() {
        let err = Document::from_bytes(Bytes::from_static(b"<xml>\xff</xml>")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Xml);
        let doc = Document::from_bytes(Bytes::from_static("<xml><A>你好</A></xml>".as_bytes()));
        assert_eq!(doc.unwrap().child_text("A"), Some("你好"));
    }

    #[test]
    fn closing_delimiters_are_found_at_their_first_place() {
        assert_eq!(find_closing(b"ab]]>c]]>", b"]]>"), Some(2));
        assert_eq!(find_closing(b"]>]]]>", b"]]>"), Some(3));
        assert_eq!(find_closing(b">>]>", b"]]>"), None);
        assert_eq!(find_closing(b"- -->", b"-->"), Some(2));
        assert_eq!(find_closing(b"", b"?>"), None);
        assert_eq!(cdata_len("]]>]]>a]]"), 9 + 12 * 3);
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
