//! Any bytes into the XML reader and the typed message reader: errors are fine, panics and
//! hangs are not. A document that parses must also read back every element it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_callback::message::Document;
use wechat_callback::Callback;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = Document::from_bytes(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let mut stack = vec![document.root()];
    let mut seen = 0usize;
    while let Some(element) = stack.pop() {
        seen += 1;
        let _ = (element.name(), element.text(), element.has_children());
        stack.extend(element.children());
    }
    assert!(seen <= wechat_callback::message::Document::MAX_ELEMENTS);
    // The same text through the typed reader (head, kind, fields).
    let _ = Callback::from_xml(document.source());
});
