//! The client against a scripted HTTP server: what it sends (SigV4 or the
//! JWT) and when it sends again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker_client::types::VendRequest;
use broker_client::{Client, Error, ErrorClass, ErrorCode, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as the server saw it: the request line and the headers, lower-cased names.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Answers each connection with the next scripted answer (status, extra
/// headers, body); records what it was sent.
async fn server(script: Vec<(u16, &'static str, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, extra, body) in script {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = socket.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at;
                }
                if n == 0 {
                    return;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let mut lines = head.split("\r\n");
            let line = lines.next().unwrap().to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            while buf.len() < head_end + 4 + length {
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            log.lock().unwrap().push(Seen { line, headers });
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.shutdown().await.ok();
        }
    });
    (url, seen)
}

const THROTTLED: &str = r#"{"error":{"code":"store_throttled","message":"the store is throttling"}}"#;
const SUMMARY: &str = r#"{"deliveries_seen":0,"deliveries_redelivered":0,"installations_checked":2,"changed":{},"repairs_published":0,"github_requests":1,"sweep_finished":true,"pass_finished":true,"pass":1,"next_page":null,"stopped":null}"#;

fn fast() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

fn signed(url: &str) -> Client {
    Client::builder(url)
        .static_credentials("AKIDTEST", "secret", Some("session-token".into()))
        .region("eu-west-1")
        .jwt("header.payload.signature")
        .retry(fast())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_read_is_retried_after_a_503_honouring_retry_after() {
    let (url, seen) = server(vec![
        (503, "retry-after: 1\r\n", THROTTLED),
        (200, "", r#"{"connected":false}"#),
    ])
    .await;
    let started = Instant::now();
    let status = signed(&url).connection().await.unwrap();
    assert!(!status.connected);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].line, "GET /github/user HTTP/1.1");
    assert_eq!(seen[1].header("authorization"), Some("Bearer header.payload.signature"));
}

#[tokio::test]
async fn attempts_are_bounded_and_a_long_retry_after_is_not_waited_for() {
    let (url, seen) = server(vec![(503, "", THROTTLED); 4]).await;
    let e = signed(&url).account_installations("team-a").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::StoreThrottled));
    assert_eq!(e.class(), ErrorClass::Unavailable);
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) = server(vec![(503, "retry-after: 3600\r\n", THROTTLED); 2]).await;
    let started = Instant::now();
    assert!(signed(&url).connection().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_reconcile_is_not_retried_after_a_503_but_is_after_the_gateway_s_429() {
    let (url, seen) = server(vec![(503, "", THROTTLED), (200, "", SUMMARY)]).await;
    let e = signed(&url).reconcile().await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 503, .. }), "{e:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    let (url, seen) = server(vec![
        (429, "", r#"{"message":"Too Many Requests"}"#),
        (200, "", SUMMARY),
    ])
    .await;
    let summary = signed(&url).reconcile().await.unwrap();
    assert_eq!(summary.installations_checked, 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].line, "POST /internal/reconcile HTTP/1.1");
}

#[tokio::test]
async fn internal_routes_are_signed_for_execute_api() {
    let (url, seen) = server(vec![(403, "", r#"{"message":"Forbidden"}"#)]).await;
    let e = signed(&url)
        .installation_token("team-a", 42, &VendRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "a refusal is not retried");
    let request = &seen[0];
    assert_eq!(
        request.line,
        "POST /internal/accounts/team-a/installations/42/token HTTP/1.1"
    );
    let authorization = request.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
            && authorization.contains("/eu-west-1/execute-api/aws4_request"),
        "{authorization}"
    );
    assert!(
        authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
        "{authorization}"
    );
    assert!(request.header("x-amz-date").is_some());
    assert_eq!(request.header("x-amz-security-token"), Some("session-token"));
}

#[tokio::test]
async fn an_unreadable_success_is_a_decode_error() {
    let (url, _) = server(vec![(200, "", r#"{"unexpected":true}"#)]).await;
    let e = signed(&url).reconcile().await.unwrap_err();
    assert!(matches!(e, Error::Decode { status: 200, .. }), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Server);
}
