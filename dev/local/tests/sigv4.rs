//! IAM authorization of the internal routes, as an HTTP API does it: the
//! runner (started in-process with `broker_local::start`) takes
//! `POST /internal/reconcile` signed with SigV4 with its key pair by the
//! AWS SDK's signer (credentials loaded by `aws-config`), by
//! `curl --aws-sigv4` and by botocore's `SigV4Auth`, and refuses with
//! API Gateway's `403 {"message":"Forbidden"}` anything unsigned, a
//! bearer token, or a signature that does not hold, without any of them
//! reaching the reconciler.

use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use broker_local::{Running, Settings};
use clap::Parser;
use serde_json::{json, Value};

async fn start(data_dir: &std::path::Path) -> Running {
    let settings = Settings::try_parse_from([
        "broker-local",
        "--port",
        "0",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--reset",
        "--reconcile-minutes",
        "0",
    ])
    .unwrap();
    broker_local::start(settings).await.expect("the runner starts")
}

/// What a client means to send, and how to sign it.
#[derive(Clone)]
struct Signing {
    key_id: String,
    secret: String,
    session_token: Option<String>,
    service: &'static str,
    time: SystemTime,
}

/// `request` (method, URL, headers, body) signed by the `aws-sigv4`
/// crate as the AWS SDK signs (with `x-amz-content-sha256` too): the
/// headers to add.
fn sigv4(signing: &Signing, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<(String, String)> {
    let identity = Credentials::new(
        &signing.key_id,
        &signing.secret,
        signing.session_token.clone(),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name(signing.service)
        .time(signing.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = url.split('/').nth(2).unwrap().to_owned();
    let mut all = vec![("host", host.as_str())];
    all.extend_from_slice(headers);
    let request = SignableRequest::new(method, url, all.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

async fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A request that must be refused: why, its URL, headers and body.
type Refused = (&'static str, String, Vec<(String, String)>, Vec<u8>);

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value));
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    &headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).unwrap().1
}

/// An installation on the simulated GitHub whose suspension the broker
/// never heard of: what the next reconcile run that happens changes, so
/// that a run nobody should have caused shows.
async fn a_suspension_the_broker_missed(running: &Running) {
    let sim = running.sim().unwrap().url();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{sim}/_sim/installations"))
        .json(&json!({"account": "octo-org", "permissions": {"contents": "read", "members": "read"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_u64().expect("an installation id");
    // The broker heard of the installation (its webhook published).
    let mut heard = false;
    for _ in 0..75 {
        let recent: Value = http
            .get(format!("{}/local/events", running.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if recent["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["installation_id"] == id))
        {
            heard = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(heard, "the broker never heard of installation {id}");
    let faults = http
        .post(format!("{}/local/github/webhook-faults", running.base_url()))
        .json(&json!({"fail": 0, "drop": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status().as_u16(), 204);
    let suspended = http
        .post(format!("{sim}/_sim/installations/{id}/suspend"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status().as_u16(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_routes_take_sigv4_with_the_local_pair_and_refuse_the_rest() {
    let scratch = tempfile::tempdir().unwrap();
    let running = start(&scratch.path().join("state")).await;
    let (key_id, secret) = running.iam();
    let (key_id, secret) = (key_id.to_owned(), secret.to_owned());
    let base = running.base_url().to_owned();
    let reconcile = format!("{base}/internal/reconcile");
    a_suspension_the_broker_missed(&running).await;

    // The SDK's way: credentials from aws-config's loader.
    let config = aws_config::from_env()
        .credentials_provider(Credentials::new(&key_id, &secret, None, None, "local"))
        .load()
        .await;
    let credentials = config
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    let good = Signing {
        key_id: credentials.access_key_id().to_owned(),
        secret: credentials.secret_access_key().to_owned(),
        session_token: None,
        service: "execute-api",
        time: SystemTime::now(),
    };
    let json_type = [("content-type", "application/json")];
    let body = br#"{"dry_run":false}"#;
    let signed = |signing: &Signing, url: &str, headers: &[(&str, &str)], body: &[u8]| {
        sigv4(signing, "POST", url, headers, body)
    };
    let with_type = |mut headers: Vec<(String, String)>| {
        headers.push(("content-type".into(), "application/json".into()));
        headers
    };

    let (status, jwt_session) = post(&format!("{base}/local/session"), &[], br#"{"sub": "alice"}"#).await;
    assert_eq!(status, 200, "{jwt_session}");
    let jwt: Value = serde_json::from_str(&jwt_session).unwrap();
    let jwt = jwt["token"].as_str().unwrap().to_owned();

    let minutes = |m: u64| Duration::from_secs(m * 60);
    let mut refused: Vec<Refused> = Vec::new();
    refused.push(("unsigned", reconcile.clone(), with_type(vec![]), body.to_vec()));
    refused.push((
        "bearer JWT",
        reconcile.clone(),
        with_type(vec![("authorization".into(), format!("Bearer {jwt}"))]),
        body.to_vec(),
    ));
    let valid = with_type(signed(&good, &reconcile, &json_type, body));
    refused.push((
        "tampered body",
        reconcile.clone(),
        valid.clone(),
        br#"{"dry_run":true}"#.to_vec(),
    ));
    let elsewhere = format!("{base}/internal/accounts/team-a/token");
    refused.push((
        "tampered path",
        reconcile.clone(),
        with_type(signed(&good, &elsewhere, &json_type, body)),
        body.to_vec(),
    ));
    refused.push((
        "tampered query",
        format!("{reconcile}?x=2"),
        with_type(signed(&good, &format!("{reconcile}?x=1"), &json_type, body)),
        body.to_vec(),
    ));
    let mut changed_header = signed(&good, &reconcile, &json_type, body);
    changed_header.push(("content-type".into(), "text/plain".into()));
    refused.push((
        "changed signed header",
        reconcile.clone(),
        changed_header,
        body.to_vec(),
    ));
    let mut host_unsigned = valid.clone();
    let authorization = header(&valid, "authorization").replace("content-type;host;", "content-type;");
    set_header(&mut host_unsigned, "authorization", authorization);
    refused.push(("host not signed", reconcile.clone(), host_unsigned, body.to_vec()));
    for (case, signing) in [
        (
            "expired date",
            Signing {
                time: SystemTime::now() - minutes(6),
                ..good.clone()
            },
        ),
        (
            "future date",
            Signing {
                time: SystemTime::now() + minutes(6),
                ..good.clone()
            },
        ),
        (
            "wrong service",
            Signing {
                service: "lambda",
                ..good.clone()
            },
        ),
        (
            "wrong key id",
            Signing {
                key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                ..good.clone()
            },
        ),
        (
            "wrong secret",
            Signing {
                secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                ..good.clone()
            },
        ),
        (
            "session token",
            Signing {
                session_token: Some("FwoGZXIvYXdzEBYaDEXAMPLETOKEN".into()),
                ..good.clone()
            },
        ),
    ] {
        refused.push((
            case,
            reconcile.clone(),
            with_type(signed(&signing, &reconcile, &json_type, body)),
            body.to_vec(),
        ));
    }
    // The credential scope's date a day off X-Amz-Date's, the rest as signed.
    let yesterday = Signing {
        time: SystemTime::now() - Duration::from_secs(24 * 3600),
        ..good.clone()
    };
    let old = with_type(signed(&yesterday, &reconcile, &json_type, body));
    let old_day = &header(&old, "x-amz-date")[..8];
    let today = &header(&valid, "x-amz-date")[..8];
    let mut scope_date = valid.clone();
    let moved = header(&valid, "authorization").replace(&format!("/{today}/"), &format!("/{old_day}/"));
    set_header(&mut scope_date, "authorization", moved);
    refused.push(("wrong scope date", reconcile.clone(), scope_date, body.to_vec()));

    for (case, url, headers, body) in &refused {
        let (status, answer) = post(url, headers, body).await;
        assert_eq!((status, answer.as_str()), (403, r#"{"message":"Forbidden"}"#), "{case}");
    }

    // Signed by the SDK's signer: the first run, which finds the missed
    // suspension; none of the refused requests ran one before it.
    let (status, answer) = post(&reconcile, &valid, body).await;
    assert_eq!(status, 200, "{answer}");
    let summary: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(summary["changed"], json!({"suspended": 1}), "{summary}");
    assert_eq!(summary["installations_checked"], 1, "{summary}");

    // Signed by curl --aws-sigv4 (a body, and a query it signs too). curl
    // 7.88 signs the query as written, not sorted as SigV4 wants: API
    // Gateway refuses such a signature when the parameters are out of
    // order, and so does the runner; in order, it holds.
    for (url, data) in [
        (reconcile.clone(), "{}"),
        (format!("{reconcile}?a=b%20c&from=curl"), ""),
    ] {
        let (status, answer) = curl_sigv4(&format!("{key_id}:{secret}"), &url, data);
        assert_eq!(status, "200", "curl {url}: {answer}");
        let summary: Value = serde_json::from_str(&answer).unwrap();
        assert!(summary["changed"].is_object(), "{summary}");
    }
    // And curl with another secret: refused.
    let (status, answer) = curl_sigv4(&format!("{key_id}:wrong"), &reconcile, "");
    assert_eq!(status, "403", "{answer}");

    // Signed by botocore's SigV4Auth (the AWS CLI's and boto3's signer).
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-tools (it installs botocore there)",
        python.display()
    );
    let script = r#"
import sys, urllib.error, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, key, secret = sys.argv[1:4]
request = AWSRequest(method="POST", url=url, data=b'{"from": "botocore"}', headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(key, secret), "execute-api", "ap-southeast-2").add_auth(request)
prepared = request.prepare()
sent = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
try:
    with urllib.request.urlopen(sent) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"#;
    for (url, secret, expected) in [
        (reconcile.clone(), secret.clone(), "200"),
        (format!("{reconcile}?by=botocore"), secret.clone(), "200"),
        (reconcile.clone(), "not-the-secret".to_owned(), "403"),
    ] {
        let output = Command::new(&python)
            .args(["-c", script, &url, &key_id, &secret])
            .output()
            .expect("python runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.starts_with(expected),
            "botocore {url}: {text} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pair_is_kept_across_restarts_and_resets() {
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("state");
    let first = start(&state).await;
    let pair = (first.iam().0.to_owned(), first.iam().1.to_owned());
    assert!(pair.0.starts_with("AKIA") && pair.0.len() == 20, "{}", pair.0);
    assert_eq!(pair.1.len(), 40);
    first.stop().await;
    // Started again with --reset (what `start` passes): the same pair.
    let second = start(&state).await;
    assert_eq!((second.iam().0, second.iam().1), (pair.0.as_str(), pair.1.as_str()));
    let text = std::fs::read_to_string(state.join("local-iam.env")).unwrap();
    assert!(
        text.contains(&format!("LOCAL_IAM_ACCESS_KEY_ID={}\n", pair.0)),
        "{text}"
    );
    assert!(
        text.contains(&format!("LOCAL_IAM_SECRET_ACCESS_KEY={}\n", pair.1)),
        "{text}"
    );
    second.stop().await;
}

/// `curl --aws-sigv4` (service execute-api, eu-west-1) POSTing `data` as
/// JSON to `url` with `user` (`KEY:SECRET`): the status and the body, or
/// curl's own complaint in place of the body.
fn curl_sigv4(user: &str, url: &str, data: &str) -> (String, String) {
    let output = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(["--aws-sigv4", "aws:amz:eu-west-1:execute-api", "--user", user])
        .args(["-X", "POST", "-H", "content-type: application/json"])
        .args(["--data-binary", data, url])
        .output()
        .expect("curl is installed (7.75 or later, for --aws-sigv4)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (answer, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let answer = match answer.is_empty() {
        true => String::from_utf8_lossy(&output.stderr).into_owned(),
        false => answer.to_owned(),
    };
    (status.to_owned(), answer)
}
