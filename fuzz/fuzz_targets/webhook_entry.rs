//! The webhook function's real entry, `Service::handle_lambda`, over the
//! embedded store: headers, signature and body as GitHub (or an attacker)
//! would send them.
//!
//! Most inputs carry a correct `X-Hub-Signature-256` computed here over the
//! fuzzed body, so the fuzzer gets past verification into payload parsing,
//! event planning and the store; the rest are missing, forged, truncated or
//! bit-flipped signatures, which must never get further than a 401.
//!
//! Every verified delivery is published on an in-process bus, as the
//! webhook forwards it for the platform.
//!
//! An installation event makes the broker read the installation from
//! GitHub: here the GitHub simulator, with two installations (ids 5000 and
//! 5001) and no rate limit; any other id is one GitHub no longer knows.
//!
//! Input layout (so seeds are a 4-byte prefix and a GitHub payload): one byte
//! for the signature's kind, one each for the event and delivery headers, one
//! for flags, then the body. Kinds that need more bytes take them right after.

#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Result, Unstructured};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::encodings::Body;
use base64::Engine;
use broker::api::{Function, Service};
use broker::clock::SystemClock;
use broker::config::{Config, EventsBackend, SecretLocation, StoreBackend};
use broker::crypto::signature::sign;
use broker::App;
use github_sim::{GitHubSim, RepoSelection, SimConfig};
use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{json, Value};

const SECRET: &str = "fuzz-webhook-secret";
const PREVIOUS_SECRET: &str = "fuzz-webhook-secret-before-rotation";
const STRANGER_SECRET: &str = "somebody-elses-secret";
const EVENTS: &[&str] = &[
    "installation",
    "installation_repositories",
    "installation_target",
    "github_app_authorization",
    "ping",
    "push",
];
// A few fixed ids so redeliveries (and their duplicate detection) happen often.
const DELIVERIES: &[&str] = &["72d3162e-cc78-11e3-81ab-4c9367dc0958", "d-1", "d-2"];

#[derive(Debug)]
enum Signature<'a> {
    Current,
    Previous,
    UppercaseHex,
    Missing,
    Stranger,
    Truncated,
    BitFlip(u8),
    Raw(&'a [u8]),
}

impl Signature<'_> {
    /// Whether the header proves the body came from someone holding our secret.
    fn is_valid(&self) -> bool {
        matches!(self, Self::Current | Self::Previous | Self::UppercaseHex)
    }

    fn header(&self, body: &[u8]) -> Option<Vec<u8>> {
        let good = sign(SECRET, body);
        Some(match self {
            Self::Current => good.into_bytes(),
            Self::Previous => sign(PREVIOUS_SECRET, body).into_bytes(),
            Self::UppercaseHex => format!("sha256={}", good["sha256=".len()..].to_uppercase()).into_bytes(),
            Self::Missing => return None,
            Self::Stranger => sign(STRANGER_SECRET, body).into_bytes(),
            Self::Truncated => good.as_bytes()[..good.len() - 2].to_vec(),
            Self::BitFlip(bit) => {
                let mut bytes = good.into_bytes();
                let hex_digits = bytes.len() - "sha256=".len();
                let at = "sha256=".len() + usize::from(*bit) % hex_digits;
                // Swap one hex digit for another hex digit, so the header stays well formed.
                bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
                bytes
            }
            Self::Raw(raw) => raw.to_vec(),
        })
    }
}

#[derive(Debug)]
enum Header<'a> {
    Known(&'static str),
    Absent,
    Raw(&'a [u8]),
}

impl<'a> Header<'a> {
    fn pick(u: &mut Unstructured<'a>, known: &[&'static str]) -> Result<Self> {
        let n = known.len();
        Ok(match usize::from(u8::arbitrary(u)?) % (n + 2) {
            i if i < n => Self::Known(known[i]),
            i if i == n => Self::Absent,
            _ => Self::Raw(<&[u8]>::arbitrary(u)?),
        })
    }

    fn value(&self) -> Option<&[u8]> {
        match self {
            Self::Known(v) => Some(v.as_bytes()),
            Self::Absent => None,
            Self::Raw(raw) => Some(raw),
        }
    }
}

#[derive(Debug)]
struct Delivery<'a> {
    signature: Signature<'a>,
    event: Header<'a>,
    delivery: Header<'a>,
    /// Function URLs hand over base64 bodies as bytes, UTF-8 ones as text.
    binary_body: bool,
    /// A forged signature header sent before the real one.
    forged_first: bool,
    post: bool,
    body: &'a [u8],
}

impl<'a> Arbitrary<'a> for Delivery<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let signature = match u8::arbitrary(u)? % 16 {
            0..=7 => Signature::Current,
            8 | 9 => Signature::Previous,
            10 => Signature::UppercaseHex,
            11 => Signature::Missing,
            12 => Signature::Stranger,
            13 => Signature::Truncated,
            14 => Signature::BitFlip(u8::arbitrary(u)?),
            _ => Signature::Raw(<&[u8]>::arbitrary(u)?),
        };
        let event = Header::pick(u, EVENTS)?;
        let delivery = Header::pick(u, DELIVERIES)?;
        let flags = u8::arbitrary(u)?;
        Ok(Self {
            signature,
            event,
            delivery,
            binary_body: flags & 1 != 0,
            forged_first: flags & 2 != 0,
            post: flags & 0x70 != 0x70,
            body: u.bytes(u.len())?,
        })
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    service: Service,
    /// Serves while the runtime runs a case: kept for the process's life.
    _github: GitHubSim,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (service, github) = runtime.block_on(webhook_service());
        Harness {
            runtime,
            service,
            _github: github,
        }
    })
}

async fn webhook_service() -> (Service, GitHubSim) {
    let sim = GitHubSim::start(SimConfig::new(
        1,
        "fuzz-app",
        "Iv1.fuzz",
        "fuzz-client-secret",
        include_str!("../../tests/fixtures/keys/app-key.pub.pem"),
    ))
    .await
    .expect("GitHub simulator");
    sim.add_user("octocat");
    sim.add_org("octo-org", &["octocat"]);
    sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    sim.install("octo-org", RepoSelection::All, &[("members", "read")]);
    // Each installation event reads the installation as the app, and a run
    // sends far more than GitHub's 5000 an hour: a spent budget would turn
    // those into the 503 a rate-limited GitHub rightly gets (the reconciler
    // redelivers them), which is not what this target explores.
    sim.set_app_rate_limit(u64::MAX);
    let github_url = sim.url();
    let vars = move |name: &str| match name {
        "GITHUB_API_URL" | "GITHUB_WEB_URL" => Some(github_url.clone()),
        _ => None,
    };
    let mut config = Config::from_lookup(vars).expect("config");
    let secret = json!({
        "app_id": "1",
        "client_id": "Iv1.fuzz",
        "client_secret": "fuzz-client-secret",
        "private_key": include_str!("../../tests/fixtures/keys/app-key.pkcs1.pem"),
        "webhook_secret": SECRET,
        "webhook_secret_previous": PREVIOUS_SECRET,
        "token_encryption_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "app_slug": "fuzz-app",
    });
    config.app_secret = Some(SecretLocation::Value(SecretString::from(secret.to_string())));
    // tmpfs when there is one: every applied event commits (and syncs) a write.
    let dir = tempfile::Builder::new()
        .prefix("broker-fuzz-")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temporary folder");
    config.store = Some(StoreBackend::Embedded {
        path: dir.path().join("broker.redb"),
    });
    // Every verified delivery is also published (on an in-process bus), so
    // the forwarding path sees every body the fuzzer gets past the signature.
    config.events = Some(EventsBackend::InProcess);
    // The functions' own composition root, over the embedded store.
    let app = App::build(config, None, Arc::new(SystemClock))
        .await
        .expect("the broker starts");
    // libFuzzer ends the process with exit(), so nothing would drop the folder:
    // remove it now, the open database file lives on until the process ends.
    drop(dir);
    (Service::new(Function::Webhook, Arc::new(app)), sim)
}

fn request(input: &Delivery) -> ApiGatewayV2httpRequest {
    let mut event = ApiGatewayV2httpRequest::default();
    event.request_context.http.method = if input.post { Method::POST } else { Method::GET };
    event.raw_path = Some("/".into());
    if input.forged_first {
        let forged = sign(STRANGER_SECRET, input.body);
        event
            .headers
            .append("x-hub-signature-256", HeaderValue::from_str(&forged).expect("hex"));
    }
    let headers = [
        ("x-hub-signature-256", input.signature.header(input.body)),
        ("x-github-event", input.event.value().map(<[u8]>::to_vec)),
        ("x-github-delivery", input.delivery.value().map(<[u8]>::to_vec)),
    ];
    for (name, value) in headers {
        // Values no HTTP stack would carry (control characters) never reach the function.
        if let Some(value) = value.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
            event.headers.append(name, value);
        }
    }
    match std::str::from_utf8(input.body) {
        Ok(text) if !input.binary_body => event.body = Some(text.to_owned()),
        _ => {
            event.body = Some(base64::engine::general_purpose::STANDARD.encode(input.body));
            event.is_base64_encoded = true;
        }
    }
    event
}

fn header_text<'a>(header: &'a Header, valid: fn(char) -> bool) -> Option<&'a str> {
    let text = std::str::from_utf8(header.value()?).ok()?;
    (!text.is_empty() && text.len() <= 100 && text.chars().all(valid)).then_some(text)
}

fn check(input: &Delivery, status: u16, body: &Value, raw: &str) {
    assert!(status < 500, "a webhook never fails on the server: {status} {raw}");
    assert!(
        !raw.contains(SECRET) && !raw.contains(PREVIOUS_SECRET),
        "a secret leaked: {raw}"
    );
    if status >= 400 {
        let code = body["error"]["code"].as_str().expect("error.code");
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{raw}"
        );
        assert!(body["error"]["message"].is_string(), "{raw}");
    }
    if !input.post {
        assert_eq!(status, 405, "{raw}");
        return;
    }
    if !input.signature.is_valid() || input.forged_first {
        assert_eq!(status, 401, "an unverified delivery got {status}: {raw}");
        return;
    }
    let event = header_text(&input.event, |c| c.is_ascii_lowercase() || c == '_');
    let delivery = header_text(&input.delivery, |c| c.is_ascii_alphanumeric() || c == '-');
    let (Some(event), Some(delivery)) = (event, delivery) else {
        assert_eq!(body["error"]["code"], "invalid_header", "{raw}");
        return;
    };
    // Syntax only: numbers out of f64's range or repeated keys are still JSON.
    if serde_json::from_slice::<serde::de::IgnoredAny>(input.body).is_err() {
        assert_eq!(body["error"]["code"], "invalid_payload", "{raw}");
        return;
    }
    match status {
        200 => {
            assert_eq!(body["delivery"], delivery, "{raw}");
            assert_eq!(body["event"], event, "{raw}");
            assert!(body["result"].is_string(), "{raw}");
        }
        400 => assert_eq!(body["error"]["code"], "invalid_payload", "{raw}"),
        other => panic!("a verified, well-formed delivery got {other}: {raw}"),
    }
}

fuzz_target!(|input: Delivery| {
    let harness = harness();
    let response = harness
        .runtime
        .block_on(harness.service.handle_lambda(request(&input), None));
    let status = response.status_code as u16;
    let raw = match response.body {
        Some(Body::Text(text)) => text,
        other => panic!("the broker answers with JSON text: {other:?}"),
    };
    let body: Value = serde_json::from_str(&raw).expect("every webhook response is JSON");
    check(&input, status, &body, &raw);
});
