//! `wxcb replay` over the bundled fixtures, as the README runs it.

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn wxcb(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wxcb"))
        .args(args)
        .output()
        .expect("wxcb runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8 output"),
    )
}

fn fixture_count() -> usize {
    std::fs::read_dir(fixtures())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name().into_string().unwrap();
            name.ends_with(".json") && !name.starts_with('_')
        })
        .count()
}

#[test]
fn every_bundled_fixture_passes() {
    let dir = fixtures();
    let (code, out) = wxcb(&["replay", dir.to_str().unwrap()]);
    let last = out.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("{} passed, 0 failed", fixture_count()),
        "{out}"
    );
    assert_eq!(code, 0);
}

#[test]
fn json_lines_carry_the_documented_keys() {
    let dir = fixtures();
    let (code, out) = wxcb(&["replay", "--json", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), fixture_count() + 1);
    for line in &lines[..lines.len() - 1] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "name",
            "pass",
            "outcome",
            "error",
            "code",
            "status",
            "kind",
            "msg_type",
            "event",
            "fields",
            "response_body",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(v["pass"], true);
        if v["name"] == "bad_base64__safe" {
            assert_eq!(v["code"], -40010);
            assert_eq!(v["status"], 400);
        }
        if v["name"] == "msg_text__safe" {
            // The MsgId above 2^53 survives as an exact string.
            assert_eq!(v["fields"]["MsgId"], "6853100423071629216");
        }
    }
}

#[test]
fn a_wrong_expectation_fails_with_exit_1() {
    let dir = std::env::temp_dir().join(format!("wxcb-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(fixtures().join("msg_text__plain.json")).unwrap();
    let mut fixture: serde_json::Value = serde_json::from_str(&good).unwrap();
    fixture["expect"]["fields"]["Content"] = "something else".into();
    std::fs::write(dir.join("case.json"), fixture.to_string()).unwrap();
    std::fs::write(dir.join("_ignored.json"), "not even json").unwrap();
    let (code, out) = wxcb(&["replay", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"), "{out}");
    assert!(out.contains("fields.Content"), "{out}");
    assert_eq!(code, 1);
}

#[test]
fn encrypt_then_replay_round_trips() {
    let dir = std::env::temp_dir().join(format!("wxcb-encrypt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml = dir.join("msg.xml");
    std::fs::write(
        &xml,
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[round trip]]></Content><MsgId>7</MsgId></xml>",
    )
    .unwrap();
    let (code, out) = wxcb(&[
        "encrypt",
        "--token",
        "tok",
        "--aes-key",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "--appid",
        "wx123",
        "--timestamp",
        "1700000000",
        "--nonce",
        "5",
        "--xml",
        xml.to_str().unwrap(),
        "--fixture",
        "recorded",
    ]);
    assert_eq!(code, 0, "{out}");
    let fixture: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(fixture["expect"]["fields"]["Content"], "round trip");
    assert_eq!(fixture["expect"]["reply"]["encrypted"], true);
    std::fs::write(dir.join("recorded.json"), &out).unwrap();
    let (code, out) = wxcb(&["replay", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.lines().last(), Some("1 passed, 0 failed"), "{out}");
    assert_eq!(code, 0);
}
