//! The recorded fixtures cover every kind in every mode and every error class.

use std::collections::BTreeSet;
use std::path::PathBuf;

use wechat_callback::message::Kind;

fn names() -> BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect()
}

const WECOM_ONLY: [Kind; 6] = [
    Kind::EventEnterAgent,
    Kind::EventChangeContact,
    Kind::EventBatchJobResult,
    Kind::EventChangeExternalContact,
    Kind::EventChangeExternalChat,
    Kind::EventChangeExternalTag,
];

#[test]
fn every_kind_in_every_mode() {
    let names = names();
    let mut missing = Vec::new();
    for &kind in Kind::ALL {
        if matches!(
            kind,
            Kind::UnknownMessage | Kind::EventUnknown | Kind::InfoUnknown
        ) {
            continue;
        }
        // InfoType pushes are always encrypted: the open platform's, then a WeCom suite's
        // (`change_contact` and `change_external_contact` only come from suites).
        if let Some(info_type) = kind.info_type() {
            let open = format!("info_{info_type}__safe");
            let suite = format!("info_suite_{info_type}__safe");
            if !names.contains(&open) && !names.contains(&suite) {
                missing.push(suite);
            }
            continue;
        }
        let stem = match kind.event() {
            Some(event) => format!("event_{}", event.to_lowercase()),
            None => format!("msg_{}", kind.msg_type()),
        };
        if WECOM_ONLY.contains(&kind) {
            let name = format!("wecom_{stem}__safe");
            if !names.contains(&name) {
                missing.push(name);
            }
            continue;
        }
        for mode in ["plain", "safe", "compat"] {
            let name = format!("{stem}__{mode}");
            if !names.contains(&name) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "no fixture for {missing:?}");
}

#[test]
fn every_error_class_has_a_bad_input_case() {
    let names = names();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut classes = BTreeSet::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            fixture["name"],
            name.as_str(),
            "name must match the file name"
        );
        if fixture["expect"]["outcome"] == "error" {
            classes.insert(fixture["expect"]["error"].as_str().unwrap().to_owned());
        }
    }
    for class in [
        "signature",
        "timestamp",
        "decrypt",
        "appid",
        "xml",
        "too_large",
        "bad_request",
    ] {
        assert!(
            classes.contains(class),
            "no bad-input fixture of class {class}"
        );
    }
}
