//! Forged, truncated, replayed and re-signed webhooks; bodies that are not
//! GitHub events; headers that are not GitHub's. Most of them carry an
//! `installation.deleted` for the world's linked installation, so a
//! delivery wrongly accepted would visibly remove its link and token.

use broker::api::Function;
use serde_json::json;

use super::{hook, nested_arrays, sign, Answer, Case, World};
use crate::helpers::app::CLIENT_SECRET;
use crate::helpers::events::{event, Auth};
use crate::helpers::fixtures::{about, delivery, webhook};

const UNSIGNED: Answer = Answer::Error(401, "unauthenticated");
const NOT_AN_EVENT: Answer = Answer::Error(400, "invalid_payload");
const BAD_HEADER: Answer = Answer::Error(400, "invalid_header");
const TOO_LARGE: Answer = Answer::Error(413, "payload_too_large");

/// A delivery of `body` as event `name` with this signature header.
fn delivered(case: &str, name: &str, body: &[u8], signature: Option<&str>, answer: Answer) -> Case {
    let id = delivery();
    let mut headers = vec![("x-github-event", name), ("x-github-delivery", id.as_str())];
    if let Some(signature) = signature {
        headers.push(("x-hub-signature-256", signature));
    }
    hook(case, &headers, body, answer)
}

fn signed(case: &str, name: &str, body: &[u8], answer: Answer) -> Case {
    delivered(case, name, body, Some(&sign(body)), answer)
}

pub fn cases(w: &World) -> Vec<Case> {
    let body = serde_json::to_vec(&about(webhook("installation.deleted"), w.installation, "octo-org", 1)).unwrap();
    let good = sign(&body);
    let digest = good.trim_start_matches("sha256=");
    let mut altered = body.clone();
    altered[10] ^= 1;
    let mut spaced = body.clone();
    spaced.push(b' ');
    let truncated = &body[..body.len() / 2];
    let huge = {
        let mut b = body.clone();
        b.resize(25 * 1024 * 1024 + 1, b' ');
        b
    };
    let deep = nested_arrays(10_000);
    let deep_account = format!(
        r#"{{"action":"created","installation":{{"id":{},"account":{deep}}}}}"#,
        w.installation
    );
    let deep_sender = format!(r#"{{"action":"revoked","sender":{deep}}}"#);
    let with_id = |id: &str| format!(r#"{{"action":"deleted","installation":{{"id":{id}}}}}"#);

    let mut cases = vec![
        delivered("no signature", "installation", &body, None, UNSIGNED),
        delivered("empty signature", "installation", &body, Some(""), UNSIGNED),
        delivered(
            "sha256= without a digest",
            "installation",
            &body,
            Some("sha256="),
            UNSIGNED,
        ),
        delivered(
            "digest that is not hex",
            "installation",
            &body,
            Some(&format!("sha256={}", "zz".repeat(32))),
            UNSIGNED,
        ),
        delivered(
            "upper-case SHA256= prefix",
            "installation",
            &body,
            Some(&format!("SHA256={digest}")),
            UNSIGNED,
        ),
        delivered(
            "right digest under sha1=",
            "installation",
            &body,
            Some(&format!("sha1={digest}")),
            UNSIGNED,
        ),
        delivered(
            "bare digest without prefix",
            "installation",
            &body,
            Some(digest),
            UNSIGNED,
        ),
        delivered(
            "digest truncated to 16 bytes",
            "installation",
            &body,
            Some(&good[..7 + 32]),
            UNSIGNED,
        ),
        delivered(
            "digest with a byte more",
            "installation",
            &body,
            Some(&format!("{good}00")),
            UNSIGNED,
        ),
        delivered(
            "two digests, comma-separated",
            "installation",
            &body,
            Some(&format!("{good},{good}")),
            UNSIGNED,
        ),
        delivered(
            "all-zero digest",
            "installation",
            &body,
            Some(&format!("sha256={}", "0".repeat(64))),
            UNSIGNED,
        ),
        delivered(
            "re-signed with another secret",
            "installation",
            &body,
            Some(&broker::crypto::signature::sign("not-the-secret", &body)),
            UNSIGNED,
        ),
        delivered(
            "re-signed with the client secret",
            "installation",
            &body,
            Some(&broker::crypto::signature::sign(CLIENT_SECRET, &body)),
            UNSIGNED,
        ),
        delivered(
            "re-signed with an empty secret",
            "installation",
            &body,
            Some(&broker::crypto::signature::sign("", &body)),
            UNSIGNED,
        ),
        delivered(
            "body altered after signing",
            "installation",
            &altered,
            Some(&good),
            UNSIGNED,
        ),
        delivered(
            "upper-case digest of an altered body",
            "installation",
            &altered,
            Some(&format!("sha256={}", digest.to_uppercase())),
            UNSIGNED,
        ),
        delivered(
            "space appended after signing",
            "installation",
            &spaced,
            Some(&good),
            UNSIGNED,
        ),
        delivered(
            "body truncated after signing",
            "installation",
            truncated,
            Some(&good),
            UNSIGNED,
        ),
        delivered(
            "signature over a truncated body",
            "installation",
            &body,
            Some(&sign(truncated)),
            UNSIGNED,
        ),
        delivered(
            "signature of an empty body",
            "installation",
            &body,
            Some(&sign(b"")),
            UNSIGNED,
        ),
        delivered(
            "processed delivery's signature on another body",
            "installation",
            &body,
            Some(&sign(&w.delivery_body)),
            UNSIGNED,
        ),
        hook(
            "sha1 signature header only",
            &[
                ("x-github-event", "installation"),
                ("x-github-delivery", &delivery()),
                ("x-hub-signature", "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
            ],
            &body,
            UNSIGNED,
        ),
        delivered(
            "unsigned 10k-deep JSON",
            "installation",
            deep.as_bytes(),
            None,
            UNSIGNED,
        ),
        signed("signed 10k-deep JSON", "installation", deep.as_bytes(), NOT_AN_EVENT),
        signed(
            "signed 10k-deep account",
            "installation",
            deep_account.as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed 10k-deep sender",
            "github_app_authorization",
            deep_sender.as_bytes(),
            NOT_AN_EVENT,
        ),
        signed("signed plain text", "installation", b"Hello, World!", NOT_AN_EVENT),
        signed("signed empty body", "installation", b"", NOT_AN_EVENT),
        signed("signed null", "installation", b"null", NOT_AN_EVENT),
        signed("signed array", "installation", b"[1,2]", NOT_AN_EVENT),
        signed("signed truncated JSON", "installation", truncated, NOT_AN_EVENT),
        signed(
            "signed non-UTF-8 bytes",
            "installation",
            b"\xff\xfe{\x00}",
            NOT_AN_EVENT,
        ),
        signed(
            "signed installation as a string",
            "installation",
            br#"{"action":"deleted","installation":"1"}"#,
            NOT_AN_EVENT,
        ),
        signed(
            "signed negative installation id",
            "installation",
            with_id("-5").as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed installation id 0",
            "installation",
            with_id("0").as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed installation id beyond u64",
            "installation",
            with_id("18446744073709551616").as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed installation id as a float",
            "installation",
            with_id("1.5e3").as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed installation id as text",
            "installation",
            with_id(r#""42""#).as_bytes(),
            NOT_AN_EVENT,
        ),
        signed(
            "signed deletion without an id",
            "installation",
            br#"{"action":"deleted","installation":{}}"#,
            NOT_AN_EVENT,
        ),
        signed(
            "a deletion under another event name",
            "push",
            &body,
            Answer::Ack("ignored"),
        ),
        signed(
            "a deletion under an unknown action",
            "installation",
            &serde_json::to_vec(&json!({"action": "deleted ", "installation": {"id": w.installation}})).unwrap(),
            Answer::Ack("ignored"),
        ),
        delivered("upper-case event name", "Installation", &body, Some(&good), BAD_HEADER),
        delivered("empty event name", "", &body, Some(&good), BAD_HEADER),
        delivered(
            "event name with path characters",
            "installation/../x",
            &body,
            Some(&good),
            BAD_HEADER,
        ),
        delivered(
            "event name with a quote",
            "installation'",
            &body,
            Some(&good),
            BAD_HEADER,
        ),
        delivered(
            "event name of 101 characters",
            &"a".repeat(101),
            &body,
            Some(&good),
            BAD_HEADER,
        ),
        hook(
            "missing event header",
            &[("x-github-delivery", &delivery()), ("x-hub-signature-256", &good)],
            &body,
            BAD_HEADER,
        ),
        hook(
            "missing delivery id",
            &[("x-github-event", "installation"), ("x-hub-signature-256", &good)],
            &body,
            BAD_HEADER,
        ),
    ];
    for (name, id) in [
        ("delivery id with path characters", "../../etc/passwd".to_owned()),
        ("delivery id with a hash", "abc#def".to_owned()),
        ("delivery id with a quote", "abc'--".to_owned()),
        ("delivery id of 101 characters", "d".repeat(101)),
        ("delivery id naming a table key", "DELIVERY#x".to_owned()),
    ] {
        cases.push(hook(
            name,
            &[
                ("x-github-event", "installation"),
                ("x-github-delivery", &id),
                ("x-hub-signature-256", &good),
            ],
            &body,
            BAD_HEADER,
        ));
    }
    cases.extend([
        hook(
            "replay of a processed delivery, another body re-signed",
            &[
                ("x-github-event", "installation"),
                ("x-github-delivery", &w.delivery),
                ("x-hub-signature-256", &good),
            ],
            &body,
            Answer::Ack("duplicate delivery: already processed"),
        ),
        hook(
            "replay of a processed delivery as it was",
            &[
                ("x-github-event", "installation"),
                ("x-github-delivery", &w.delivery),
                ("x-hub-signature-256", &sign(&w.delivery_body)),
            ],
            &w.delivery_body,
            Answer::Ack("duplicate delivery: already processed"),
        ),
        hook(
            "replay of a processed delivery, body changed, old signature",
            &[
                ("x-github-event", "installation"),
                ("x-github-delivery", &w.delivery),
                ("x-hub-signature-256", &sign(&w.delivery_body)),
            ],
            &body,
            UNSIGNED,
        ),
        delivered("unsigned body over 25 MiB", "installation", &huge, None, TOO_LARGE),
        delivered(
            "signed body over 25 MiB",
            "installation",
            &huge,
            Some(&sign(&huge)),
            TOO_LARGE,
        ),
        Case::new(
            "GET on the function URL",
            Function::Webhook,
            event(
                "GET",
                "/",
                &[("x-github-event", "installation"), ("x-hub-signature-256", &good)],
                None,
                &Auth::None,
            ),
            Answer::Error(405, "method_not_allowed"),
        ),
    ]);
    cases
}

#[tokio::test]
async fn hostile_webhooks_are_refused_and_change_nothing() {
    let world = World::build(0).await;
    let cases = cases(&world);
    super::run("webhooks", &world, cases).await;
}
