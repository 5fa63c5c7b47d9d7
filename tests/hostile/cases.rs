//! Hostile callback bodies, shared by the allocation test (`tests/hostile`) and the pipeline
//! bench (`core/benches/pipeline.rs`, group `hostile`).

/// One hostile body and the error class the engine must refuse it with.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) body: Vec<u8>,
    /// The fixture-format error class expected.
    pub(crate) class: &'static str,
    /// The most bytes refusing it may allocate.
    pub(crate) max_bytes: usize,
}

/// What refusing a body may allocate: the element array made ready for 128 elements (4 KiB),
/// the error's detail, the response and its headers.
const SMALL: usize = 8 * 1024;

/// “Billion laughs”: ten levels of entities, each ten of the one before.
fn billion_laughs() -> String {
    let mut doctype = String::from("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY lol0 \"lol\">");
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{level} \"{refs}\">"));
    }
    doctype + "]><xml><Encrypt>&lol9;</Encrypt></xml>"
}

/// Every case: DOCTYPE with entity expansion, an external entity, a parameter entity, a
/// processing instruction, 10,000-deep nesting, 100,000 attributes, an undefined entity, a 10 MB CDATA section, and 100,000 elements.
pub(crate) fn all() -> Vec<Case> {
    let deep = format!(
        "<xml>{}{}</xml>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let attributes = |n: usize| format!("<xml{}></xml>", " a=''".repeat(n));
    let cdata_10mb = format!(
        "<xml><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        "A".repeat(10 * 1024 * 1024)
    );
    let case = |name, body: String, class| Case {
        name,
        body: body.into_bytes(),
        class,
        max_bytes: SMALL,
    };
    // The element array grows to `MAX_ELEMENTS` (32 bytes each) before the scanner refuses the
    // next: about 320 KB, twice that while the vector doubles, and never more.
    let elements = Case {
        max_bytes: 2 * 32 * wechat_callback::message::Document::MAX_ELEMENTS + SMALL,
        ..case(
            "elements_100000",
            format!("<xml>{}</xml>", "<a/>".repeat(100_000)),
            "xml",
        )
    };
    vec![
        case("billion_laughs", billion_laughs(), "xml"),
        case(
            "external_entity",
            "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&x;</Encrypt></xml>"
                .into(),
            "xml",
        ),
        case(
            "parameter_entity",
            "<!DOCTYPE xml [<!ENTITY % p SYSTEM \"http://127.0.0.1/x.dtd\"> %p;]><xml/>".into(),
            "xml",
        ),
        case(
            "processing_instruction",
            "<xml><?php system('id'); ?><Encrypt>x</Encrypt></xml>".into(),
            "xml",
        ),
        case("undefined_entity", "<xml><Encrypt>&lol;</Encrypt></xml>".into(), "xml"),
        case("nesting_10000", deep, "xml"),
        // 500,000 bytes: under the 512 KiB cap, so the parser sees it.
        case("attributes_100000", attributes(100_000), "xml"),
        case("cdata_10mb", cdata_10mb, "too_large"),
        elements,
    ]
}
