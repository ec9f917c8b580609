//! GitHub's real webhook payloads (tests/fixtures/webhooks), with ids
//! rewritten where a test follows one installation through several events.

use serde_json::Value;

pub fn webhook(name: &str) -> Value {
    let path = format!("{}/fixtures/webhooks/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("fixture {path}"))).unwrap()
}

/// The payload, about installation `id` on GitHub account `login` (`account_id`).
pub fn about(mut payload: Value, id: u64, login: &str, account_id: u64) -> Value {
    payload["installation"]["id"] = id.into();
    if payload["installation"]["account"].is_object() {
        payload["installation"]["account"]["login"] = login.into();
        payload["installation"]["account"]["id"] = account_id.into();
    }
    payload
}

/// GitHub's example payload `name`, about installation `installation` of
/// the organisation octo-org.
pub fn org_event(name: &str, installation: u64) -> Value {
    let mut payload = about(webhook(name), installation, "octo-org", 1);
    if payload["installation"]["account"].is_object() {
        payload["installation"]["account"]["type"] = "Organization".into();
    }
    payload
}

/// A fresh delivery id, as GitHub's `X-GitHub-Delivery` GUIDs.
pub fn delivery() -> String {
    let mut b = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}
