//! Any bytes into the XML reader, the JSON reader and the typed message reader: errors are
//! fine, panics and hangs are not. A document that parses must also read back every element
//! it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_callback::message::Document;
use wechat_callback::Callback;

fn walk(document: &Document) {
    let mut stack = vec![document.root()];
    let mut seen = 0usize;
    while let Some(element) = stack.pop() {
        seen += 1;
        let _ = (element.name(), element.text(), element.has_children());
        stack.extend(element.children());
    }
    assert!(seen <= Document::MAX_ELEMENTS);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // The same text as a JSON body (a mini-program push), and through the typed reader.
        if let Ok(document) = Document::parse_json(text) {
            walk(&document);
            let _ = Callback::from_json(text);
        }
    }
    // `from_bytes` checks UTF-8 with simdutf8 and then wraps the bytes unchecked (the core's
    // one unsafe site): it must refuse exactly what the standard library refuses.
    let Ok(document) = Document::from_bytes(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    assert!(std::str::from_utf8(data).is_ok(), "accepted bytes std refuses");
    walk(&document);
    // The same text through the typed reader (head, kind, fields).
    let _ = Callback::from_xml(document.source());
});
