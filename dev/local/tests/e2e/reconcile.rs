//! Over plain HTTP, as the platform's backend and an operator call the
//! runner: the reconciler, asked for and on its timer.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use super::{free_port, launch, start_broker, Process};

/// How a request is authorized: not at all, with a bearer token, or
/// SigV4-signed (service execute-api) with a key pair, as the platform's
/// backend signs its calls to internal routes.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    SigV4 { key_id: &'a str, secret: &'a str },
}

/// The `aws-sigv4` crate's headers for this request (host, content-type
/// and x-amz-date signed).
fn sigv4_headers(key_id: &str, secret: &str, method: &Method, url: &str, body: &[u8]) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(key_id, secret, None, None, "e2e").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = url.split('/').nth(2).unwrap().to_owned();
    let headers = [("host", host.as_str()), ("content-type", "application/json")];
    let request = SignableRequest::new(method.as_str(), url, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// The broker's routes and the simulator's control API over plain HTTP:
/// the status and the JSON body (`null` when there is none).
async fn send(method: Method, url: &str, auth: Auth<'_>, body: Option<Value>) -> (u16, Value) {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(HttpConnector::new());
    let text = body.map(|json| json.to_string());
    let mut request = Request::builder().method(method.clone()).uri(url);
    match auth {
        Auth::None => {}
        Auth::Bearer(bearer) => request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}")),
        Auth::SigV4 { key_id, secret } => {
            let bytes = text.as_deref().unwrap_or_default().as_bytes();
            for (name, value) in sigv4_headers(key_id, secret, &method, url, bytes) {
                request = request.header(name, value);
            }
        }
    }
    // Signed or not, the body is JSON (the content type is signed too).
    request = request.header(header::CONTENT_TYPE, "application/json");
    let body = match text {
        Some(text) => Body::from(text),
        None => Body::empty(),
    };
    let response = client
        .request(request.body(body).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// `%XX` escapes and `+` of a query string value, decoded.
fn query_value(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} is not in {url}"));
    let mut bytes = Vec::new();
    let mut chars = raw.bytes();
    while let Some(b) = chars.next() {
        match b {
            b'%' => {
                let hex: Vec<u8> = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            }
            b'+' => bytes.push(b' '),
            b => bytes.push(b),
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// A runner started from an empty store, with alice signed in (her JWT and
/// the runner's IAM key pair, as `POST /local/session` hands them to the
/// page) and connected to GitHub as octocat.
struct Platform {
    _broker: Process,
    _scratch: tempfile::TempDir,
    base: String,
    sim: String,
    jwt: String,
    key_id: String,
    secret: String,
}

impl Platform {
    async fn start() -> Self {
        let (port, sim_port) = (free_port(), free_port());
        let scratch = tempfile::tempdir().unwrap();
        let broker = start_broker(port, sim_port, &scratch.path().join("state"), true);
        let base = format!("http://127.0.0.1:{port}");
        let sim = format!("http://127.0.0.1:{sim_port}");
        let (status, session) = send(
            Method::POST,
            &format!("{base}/local/session"),
            Auth::None,
            Some(json!({"sub": "alice"})),
        )
        .await;
        assert_eq!(status, 200, "{session}");
        let text = |k: &str| session[k].as_str().unwrap().to_owned();
        let iam = |k: &str| session["iam"][k].as_str().unwrap().to_owned();
        assert!(session.get("internal_key").is_none(), "{session}");
        let platform = Self {
            _broker: broker,
            _scratch: scratch,
            jwt: text("token"),
            key_id: iam("access_key_id"),
            secret: iam("secret_access_key"),
            base,
            sim,
        };
        // Connect GitHub: octocat authorizes on GitHub's page (here, its
        // control API), which sends the code back with the state.
        let (status, started) = platform
            .broker(
                Method::POST,
                "/github/oauth/start",
                // The page's origin (the runner's frontend origin).
                Some(json!({"return_to": format!("{}/", platform.base.replace("127.0.0.1", "localhost"))})),
            )
            .await;
        assert_eq!(status, 200, "{started}");
        let authorize_url = started["authorize_url"].as_str().unwrap();
        let (status, code) = platform
            .github(
                "/_sim/authorize",
                json!({
                    "login": "octocat",
                    "code_challenge": query_value(authorize_url, "code_challenge"),
                    "redirect_uri": query_value(authorize_url, "redirect_uri"),
                }),
            )
            .await;
        assert_eq!(status, 200, "{code}");
        let (status, connected) = platform
            .broker(
                Method::POST,
                "/github/oauth/callback",
                Some(json!({"state": query_value(authorize_url, "state"), "code": code["code"]})),
            )
            .await;
        assert_eq!(status, 200, "{connected}");
        platform
    }

    /// A route of the broker as alice (her JWT).
    async fn broker(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        send(method, &format!("{}{path}", self.base), Auth::Bearer(&self.jwt), body).await
    }

    /// The runner's IAM key pair, to sign with.
    fn iam(&self) -> Auth<'_> {
        Auth::SigV4 {
            key_id: &self.key_id,
            secret: &self.secret,
        }
    }

    /// A POST to the simulated GitHub's control API.
    async fn github(&self, path: &str, body: Value) -> (u16, Value) {
        send(Method::POST, &format!("{}{path}", self.sim), Auth::None, Some(body)).await
    }

    /// `POST /internal/reconcile` as an operator (SigV4 with the pair).
    async fn reconcile(&self) -> Value {
        let (status, summary) = send(
            Method::POST,
            &format!("{}/internal/reconcile", self.base),
            self.iam(),
            None,
        )
        .await;
        assert_eq!(status, 200, "{summary}");
        summary
    }

    /// Waits until the platform's events hold one `event` of installation `id`.
    async fn published(&self, event: &str, id: u64) {
        for _ in 0..75 {
            let (_, recent) = send(Method::GET, &format!("{}/local/events", self.base), Auth::None, None).await;
            let events = recent["events"].as_array().cloned().unwrap_or_default();
            if events
                .iter()
                .any(|e| e["detail_type"] == event && e["installation_id"] == id)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no {event} of installation {id} was published");
    }

    /// The status of installation `id` in the broker's record, as team-a's
    /// links show it (`GET /github/installations` asks GitHub itself).
    async fn status(&self, id: u64) -> String {
        let path = "/accounts/team-a/installations";
        let (status, body) = self.broker(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let installation = body["installations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("{path} does not show installation {id}: {body}"));
        installation["status"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_now_repairs_a_suspension_whose_webhook_was_lost() {
    let platform = Platform::start().await;
    // The app installed on octo-org, and attached to team-a.
    let (status, created) = platform
        .github(
            "/_sim/installations",
            json!({"account": "octo-org", "permissions": {"contents": "read", "members": "read"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();
    platform.published("installation", id).await;
    let path = format!("/accounts/team-a/installations/{id}");
    let (status, linked) = platform.broker(Method::PUT, &path, None).await;
    assert!(matches!(status, 200 | 201), "{status}: {linked}");
    assert_eq!(platform.status(id).await, "active");

    // The broker misses GitHub: a push's delivery fails (GitHub logs it
    // and can send it again), the suspension's is lost outright.
    let (status, armed) = send(
        Method::POST,
        &format!("{}/local/github/webhook-faults", platform.base),
        Auth::None,
        Some(json!({"fail": 1, "drop": 1})),
    )
    .await;
    assert_eq!(status, 204, "{armed}");
    for action in ["push", "suspend"] {
        let (status, body) = platform
            .github(&format!("/_sim/installations/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, 204, "{action}: {body}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(platform.status(id).await, "active");

    // Reconcile now: the suspension found on GitHub's side and written, the
    // failed push asked again.
    let summary = platform.reconcile().await;
    assert_eq!(summary["changed"], json!({"suspended": 1}), "{summary}");
    assert_eq!(summary["installations_checked"], 1, "{summary}");
    assert_eq!(summary["deliveries_redelivered"], 1, "{summary}");
    assert_eq!(summary["stopped"], Value::Null, "{summary}");
    assert_eq!(
        (summary["sweep_finished"].as_bool(), summary["pass_finished"].as_bool()),
        (Some(true), Some(true)),
        "{summary}"
    );
    assert_eq!(platform.status(id).await, "suspended");
    // The push GitHub sent again reaches the platform.
    platform.published("push", id).await;

    // A second run: nothing left to repair or to ask again. (Its
    // installation pass waits: one begins at most every 15 minutes.)
    let again = platform.reconcile().await;
    assert_eq!(again["changed"], json!({}), "{again}");
    assert_eq!(again["deliveries_redelivered"], 0, "{again}");
    assert_eq!(again["stopped"], Value::Null, "{again}");
    assert_eq!(platform.status(id).await, "suspended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_now_is_refused_unsigned_or_with_a_forged_signature() {
    let platform = Platform::start().await;
    let url = |path: &str| format!("{}{path}", platform.base);
    // As API Gateway refuses them before any function: no credential, a
    // user's JWT, a signature made with another secret or another key id.
    let wrong_secret = "x".repeat(40);
    let forged = [
        Auth::None,
        Auth::Bearer(&platform.jwt),
        Auth::SigV4 {
            key_id: &platform.key_id,
            secret: &wrong_secret,
        },
        Auth::SigV4 {
            key_id: "AKIAIOSFODNN7EXAMPLE",
            secret: &platform.secret,
        },
    ];
    for (n, auth) in forged.into_iter().enumerate() {
        let (status, body) = send(Method::POST, &url("/internal/reconcile"), auth, None).await;
        let (other, other_body) = send(
            Method::POST,
            &url("/internal/accounts/team-a/token"),
            auth,
            Some(json!({})),
        )
        .await;
        assert_eq!((status, &body), (403, &json!({"message": "Forbidden"})), "case {n}");
        assert_eq!((other, &other_body), (403, &body), "case {n}");
    }
    // The reconciler's route, by the reconciler: only POST.
    let (status, _) = send(Method::GET, &url("/internal/reconcile"), platform.iam(), None).await;
    assert_eq!(status, 405);
    assert!(platform.reconcile().await["changed"].is_object());
}

/// The runner as a newcomer starts it from a folder with a `.env`: its key
/// pair is the runner's (the banner says where it came from and prints the
/// export line), and its `RECONCILE_MINUTES` runs the reconciler on a
/// timer, as the schedule does on AWS: an installation whose webhook was
/// lost is recorded by the first timed run, unasked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pair_comes_from_dotenv_is_printed_and_the_timer_reconciles() {
    const KEY_ID: &str = "AKIADOTENVEXAMPLE001";
    const SECRET: &str = "dotenv/Secret+0123456789abcdefghijklmnop";
    let (port, sim_port) = (free_port(), free_port());
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join(".env"),
        format!("LOCAL_IAM_ACCESS_KEY_ID={KEY_ID}\nLOCAL_IAM_SECRET_ACCESS_KEY={SECRET}\nRECONCILE_MINUTES=1\n"),
    )
    .unwrap();
    let started = Instant::now();
    let (_broker, lines) = launch(
        Command::new(env!("CARGO_BIN_EXE_broker-local"))
            .current_dir(folder.path())
            .args(["--port", &port.to_string(), "--github-sim-port", &sim_port.to_string()])
            .args(["--data-dir", "state", "--reset"])
            // Only the .env may set these.
            .env_remove("LOCAL_IAM_ACCESS_KEY_ID")
            .env_remove("LOCAL_IAM_SECRET_ACCESS_KEY")
            .env_remove("RECONCILE_MINUTES")
            // The summary is an info line; plain text, to be read here.
            .env("RUST_LOG", "info,github_sim=warn")
            .env("NO_COLOR", "1"),
    );
    let next_line = |until: Instant| {
        lines
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("broker-local printed nothing more in time"))
    };

    // The banner, up to the reconciler's line.
    let mut banner = Vec::new();
    while !banner.last().is_some_and(|l: &String| l.starts_with("reconciler:")) {
        banner.push(next_line(started + Duration::from_secs(30)));
    }
    let banner = banner.join("\n");
    assert!(
        banner.contains("with this key pair (from the environment):"),
        "{banner}"
    );
    assert!(
        banner.contains(&format!(
            "export LOCAL_IAM_ACCESS_KEY_ID={KEY_ID} LOCAL_IAM_SECRET_ACCESS_KEY={SECRET}"
        )),
        "{banner}"
    );
    assert!(banner.contains("reconciler: every 1 min"), "{banner}");
    assert!(
        !folder.path().join("state/local-iam.env").exists(),
        "a pair was made though .env had one"
    );

    // The app installed on octo-org while the broker misses the webhook.
    let base = format!("http://127.0.0.1:{port}");
    let (status, armed) = send(
        Method::POST,
        &format!("{base}/local/github/webhook-faults"),
        Auth::None,
        Some(json!({"drop": 1})),
    )
    .await;
    assert_eq!(status, 204, "{armed}");
    let (status, created) = send(
        Method::POST,
        &format!("http://127.0.0.1:{sim_port}/_sim/installations"),
        Auth::None,
        Some(json!({"account": "octo-org", "permissions": {"contents": "read"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();

    // A minute after start, the timer's run: its one summary line, with
    // the installation recorded.
    let summary = loop {
        let line = next_line(started + Duration::from_secs(120));
        if line.contains("reconcile run") {
            break line;
        }
    };
    assert!(summary.contains("reconcile_timer"), "{summary}");
    assert!(summary.contains("installations_changed=1"), "{summary}");
    assert!(summary.contains(r#"changed={"created":1}"#), "{summary}");
    assert!(summary.contains("stopped=None"), "{summary}");
    let (_, recent) = send(Method::GET, &format!("{base}/local/events"), Auth::None, None).await;
    let events = recent["events"].as_array().cloned().unwrap_or_default();
    assert!(
        events
            .iter()
            .any(|e| e["detail_type"] == "reconciled" && e["installation_id"] == id),
        "{recent}"
    );

    // Signed with the .env pair, an operator's run finds nothing left.
    let (status, again) = send(
        Method::POST,
        &format!("{base}/internal/reconcile"),
        Auth::SigV4 {
            key_id: KEY_ID,
            secret: SECRET,
        },
        None,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["changed"], json!({}), "{again}");
    assert_eq!(again["stopped"], Value::Null, "{again}");
}
