//! quick-xml's borrowed reader driven over a callback body, its events turned into the flat
//! element array of a [`Document`](super::Document).
//!
//! quick-xml tokenizes (tags, attributes, CDATA, comments, references, the declaration) and
//! reports malformed markup; this module adds what a callback body needs on top: the limits
//! (depth, attributes, elements), end names checked against its own stack (so quick-xml
//! keeps no name buffer), names checked as XML names, entities resolved, text assembled
//! without copies where possible, and the well-formedness checks quick-xml leaves to its
//! caller (forbidden characters, `]]>` in text, `<` in attribute values, the declared
//! encoding). Every step is linear in the body and never recurses.

use memchr::memchr;
use quick_xml::Reader;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};

use super::cdata::{find_cdata_end, is_xml_char, scan_controls};
use super::{Document, NONE, Node, Nodes, Span};
use crate::error::Error;

const MAX_DEPTH: usize = Document::MAX_DEPTH;

/// Reads `src` into its element array and the buffer of decoded texts.
pub(super) fn read(src: &str) -> Result<(Nodes, String), Error> {
    let (forbidden, has_cr) = scan_controls(src.as_bytes());
    if forbidden {
        return Err(malformed(forbidden_at(src), "character XML does not allow"));
    }
    let mut builder = Builder::new(src, has_cr);
    let mut reader = Reader::from_str(src);
    let config = reader.config_mut();
    // End names are checked against the builder's own stack of open elements.
    config.check_end_names = false;
    config.check_comments = true;
    loop {
        let event = reader.read_event().map_err(|error| {
            malformed(reader.error_position() as usize, "malformed XML").with_source(error)
        })?;
        match event {
            Event::Start(tag) => builder.start(&tag, false)?,
            Event::Empty(tag) => builder.start(&tag, true)?,
            Event::End(tag) => builder.end(tag.name().as_ref())?,
            Event::Text(text) => builder.text(&text)?,
            Event::CData(cdata) => builder.cdata(&cdata)?,
            Event::GeneralRef(reference) => builder.reference(&reference)?,
            Event::Comment(_) => {}
            Event::Decl(decl) => builder.declaration(&decl)?,
            Event::PI(pi) => {
                return Err(malformed(
                    builder.offset(&pi),
                    "processing instruction is not allowed",
                ));
            }
            Event::DocType(doctype) => {
                return Err(malformed(
                    builder.offset(&doctype),
                    "DOCTYPE is not allowed",
                ));
            }
            Event::Eof => return builder.finish(),
        }
    }
}

fn malformed(at: usize, what: &str) -> Error {
    Error::xml(format!("{what} at byte {at}"))
}

/// Where the first character XML forbids is (only called once one is known to be there).
fn forbidden_at(src: &str) -> usize {
    src.char_indices()
        .find(|&(_, c)| !is_xml_char(c))
        .map_or(0, |(i, _)| i)
}

const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

const fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// [`is_name_char`] by byte, built when compiling: every tag's name is checked byte by byte.
static NAME_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_name_char(b as u8);
        b += 1;
    }
    table
};

fn is_name(name: &[u8]) -> bool {
    name.first().is_some_and(|&b| is_name_start(b)) && name.iter().all(|&b| NAME_CHARS[b as usize])
}

/// An open element: its node and its last child so far.
#[derive(Clone, Copy)]
struct Open {
    node: u32,
    last_child: u32,
}

struct Builder<'s> {
    src: &'s str,
    /// Whether the body holds a `\r` anywhere: when not, no text needs line ends normalized.
    has_cr: bool,
    nodes: Nodes,
    decoded: String,
    stack: [Open; MAX_DEPTH],
    /// The texts of open elements whose decoded text was interrupted by a child's (mixed
    /// content), with their depths, innermost last: gathered here and written to `decoded`
    /// once, at the element's end tag. Copying such a text along at every interruption
    /// instead would be quadratic. Empty (no allocation) for WeChat's bodies.
    mixed: Vec<(usize, String)>,
    depth: usize,
    root_closed: bool,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str, has_cr: bool) -> Self {
        Self {
            src,
            has_cr,
            // Inline for ordinary bodies; the array grows onto the heap for longer ones.
            nodes: Nodes::new(),
            decoded: String::new(),
            stack: [Open {
                node: NONE,
                last_child: NONE,
            }; MAX_DEPTH],
            mixed: Vec::new(),
            depth: 0,
            root_closed: false,
        }
    }

    /// Where `part`, a slice quick-xml borrowed from the body, starts in it. Every event of
    /// a reader over a `&str` borrows from it; anything else is refused rather than trusted.
    fn locate(&self, part: &[u8]) -> Result<usize, Error> {
        let base = self.src.as_ptr() as usize;
        (part.as_ptr() as usize)
            .checked_sub(base)
            .filter(|&start| start + part.len() <= self.src.len())
            .ok_or_else(|| Error::xml("event outside the body"))
    }

    /// Where an event's content starts, for error messages.
    fn offset(&self, part: &[u8]) -> usize {
        self.locate(part).unwrap_or(0)
    }

    fn start(&mut self, tag: &BytesStart<'_>, empty: bool) -> Result<(), Error> {
        let name = tag.name();
        let name = name.as_ref();
        let at = self.locate(name)?;
        if !is_name(name) {
            return Err(malformed(at, "malformed start tag"));
        }
        // WeChat's tags carry no attributes: the attribute reader runs only for tags that do.
        if !tag.attributes_raw().is_empty() {
            let mut attributes = 0;
            for attribute in tag.attributes() {
                let attribute =
                    attribute.map_err(|e| malformed(at, "malformed attribute").with_source(e))?;
                attributes += 1;
                if attributes > Document::MAX_ATTRIBUTES {
                    return Err(malformed(at, "too many attributes"));
                }
                if !is_name(attribute.key.as_ref()) || memchr(b'<', &attribute.value).is_some() {
                    return Err(malformed(at, "malformed attribute"));
                }
            }
        }
        self.open(at, name.len())?;
        if empty {
            self.close();
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), Error> {
        let at = self.offset(name);
        if self.depth == 0 {
            return Err(malformed(at, "unexpected end tag"));
        }
        let open = self.nodes[self.stack[self.depth - 1].node as usize].name;
        if self.src.as_bytes()[open.range()] != *name {
            return Err(malformed(at, "mismatched end tag"));
        }
        self.close();
        Ok(())
    }

    fn open(&mut self, at: usize, name_len: usize) -> Result<(), Error> {
        if self.root_closed {
            return Err(malformed(at, "content after the root element"));
        }
        if self.depth == 0 && &self.src[at..at + name_len] != "xml" {
            return Err(malformed(at, "root element is not <xml>"));
        }
        if self.depth >= MAX_DEPTH {
            return Err(malformed(at, "elements nested too deep"));
        }
        if self.nodes.len() >= Document::MAX_ELEMENTS {
            return Err(malformed(at, "too many elements"));
        }
        // Offsets fit in u32: `Document::from_shared` refuses larger inputs.
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            name: Span {
                start: at as u32,
                len: name_len as u32,
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
        if let Some(text) = self.take_mixed(self.depth) {
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

    /// The gathered text of the element open at `depth`, if it has one (it is the innermost).
    fn take_mixed(&mut self, depth: usize) -> Option<String> {
        match self.mixed.last() {
            Some(&(d, _)) if d == depth => self.mixed.pop().map(|(_, text)| text),
            _ => None,
        }
    }

    fn span_is_blank(&self, span: Span) -> bool {
        let buf = if span.decoded {
            self.decoded.as_bytes()
        } else {
            self.src.as_bytes()
        };
        buf[span.range()]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    }

    /// The XML declaration: only before the root, and only for UTF-8 (the body was checked
    /// as UTF-8; a declaration of another encoding would be a lie).
    fn declaration(&mut self, decl: &BytesDecl<'_>) -> Result<(), Error> {
        let at = self.offset(decl);
        if !self.nodes.is_empty() {
            return Err(malformed(at, "XML declaration inside the document"));
        }
        match decl.encoding() {
            None => Ok(()),
            Some(Ok(encoding))
                if encoding.eq_ignore_ascii_case(b"utf-8")
                    || encoding.eq_ignore_ascii_case(b"utf8") =>
            {
                Ok(())
            }
            Some(Ok(_)) => Err(malformed(at, "encoding declaration other than UTF-8")),
            Some(Err(error)) => Err(malformed(at, "malformed XML declaration").with_source(error)),
        }
    }

    /// Character data between markup (quick-xml splits it at every reference).
    fn text(&mut self, text: &[u8]) -> Result<(), Error> {
        let start = self.locate(text)?;
        if self.depth == 0 {
            if text
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                return Ok(());
            }
            return Err(malformed(start, "text outside the root element"));
        }
        if let Some(i) = find_cdata_end(text) {
            return Err(malformed(start + i, "]]> in text"));
        }
        self.segment(start, start + text.len());
        Ok(())
    }

    fn cdata(&mut self, cdata: &[u8]) -> Result<(), Error> {
        let start = self.locate(cdata)?;
        if self.depth == 0 {
            return Err(malformed(start, "CDATA outside the root element"));
        }
        self.segment(start, start + cdata.len());
        Ok(())
    }

    /// Resolves `&name;` into the open element's text: the five predefined entities and
    /// character references to characters XML allows.
    fn reference(&mut self, reference: &BytesRef<'_>) -> Result<(), Error> {
        let at = self.locate(reference)?;
        let name = &self.src[at..at + reference.len()];
        let at = at.saturating_sub(1);
        if self.depth == 0 {
            return Err(malformed(at, "reference outside the root element"));
        }
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
                    return Err(malformed(at, "undefined entity"));
                };
                // `from_str_radix` would also take a sign; a reference is digits only.
                let code = (!digits.is_empty()
                    && digits.len() <= 16
                    && digits
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit())))
                .then(|| u32::from_str_radix(digits, radix).ok())
                .flatten();
                code.and_then(char::from_u32)
                    .filter(|&c| is_xml_char(c))
                    .ok_or_else(|| malformed(at, "invalid character reference"))?
            }
        };
        let mut utf8 = [0u8; 4];
        self.push_decoded(resolved.encode_utf8(&mut utf8));
        Ok(())
    }

    /// Appends body bytes `start..end` to the open element's text: as a range of the body
    /// when it is the text's first piece and holds no `\r`, else copied (line ends
    /// normalized) into the decoded buffer.
    fn segment(&mut self, start: usize, end: usize) {
        if start == end {
            return;
        }
        let has_cr = self.has_cr && memchr(b'\r', &self.src.as_bytes()[start..end]).is_some();
        let top = self.stack[self.depth - 1].node as usize;
        if !has_cr && self.nodes[top].text.len == 0 {
            self.nodes[top].text = Span {
                start: start as u32,
                len: (end - start) as u32,
                decoded: false,
            };
            return;
        }
        let src = self.src;
        if !has_cr {
            self.push_decoded(&src[start..end]);
            return;
        }
        let mut rest = &src[start..end];
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
        if let Some((_, gathered)) = self.mixed.last_mut().filter(|(d, _)| *d == self.depth - 1) {
            gathered.push_str(piece);
            return;
        }
        let top = self.stack[self.depth - 1].node as usize;
        let text = self.nodes[top].text;
        let at_end = text.decoded && (text.start + text.len) as usize == self.decoded.len();
        if !at_end {
            if self.decoded.capacity() == 0 {
                // Decoded text never outgrows the body it comes from: one allocation.
                self.decoded.reserve(self.src.len() - text.start as usize);
            }
            if text.decoded {
                // Mixed content: a child's decoded text came after ours. Gather the rest of
                // ours aside; `close` writes it out whole.
                let mut gathered = self.decoded[text.range()].to_owned();
                gathered.push_str(piece);
                self.mixed.push((self.depth - 1, gathered));
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

    fn finish(self) -> Result<(Nodes, String), Error> {
        let len = self.src.len();
        if self.depth != 0 {
            return Err(malformed(len, "unexpected end of document"));
        }
        if self.nodes.is_empty() {
            return Err(malformed(len, "no root element"));
        }
        Ok((self.nodes, self.decoded))
    }
}
