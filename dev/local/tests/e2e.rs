//! End to end, as a person would do it: `broker-local` (the real binary,
//! with its embedded store and the GitHub simulator) driven by headless
//! Chromium through the walkthrough page: sign in, connect GitHub, install
//! the app on an organisation and on a personal account, attach one
//! installation to two teams, vend a token for each team, uninstall on
//! (simulated) GitHub and see the links disappear, and watch GitHub's
//! events arrive for the platform. A screenshot is taken at
//! every step into `target/tmp/e2e-screenshots/`.
//!
//! And over plain HTTP, as the platform's backend and an operator call it:
//! a suspension GitHub's webhook never brought, repaired on
//! `POST /internal/reconcile`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `reset`: start from an empty store (`--reset`); otherwise keep the one
/// a previous run left, as a restart does.
fn start_broker(port: u16, sim_port: u16, data_dir: &std::path::Path, reset: bool) -> Process {
    let port = port.to_string();
    let sim_port = sim_port.to_string();
    let mut args = vec!["--port", &port, "--github-sim-port", &sim_port];
    if reset {
        args.push("--reset");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_broker-local"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        // No scheduled run: the tests ask for each run they expect.
        .env("RECONCILE_MINUTES", "0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("broker-local starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("broker-local prints its address").unwrap();
    assert!(first.contains("gh-app-broker is running"), "{first}");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Process(child)
}

/// A POST to the simulated GitHub's control API, from the page (what the
/// admin page's buttons do), without leaving the page.
async fn sim_post(walk: &Walk, sim_port: u16, path: &str) {
    walk.client
        .execute(
            "fetch(arguments[0], {method: 'POST', mode: 'no-cors', body: '{}'}); return true;",
            vec![serde_json::json!(format!("http://127.0.0.1:{sim_port}{path}"))],
        )
        .await
        .unwrap();
}

fn start_chromedriver(port: u16) -> Process {
    let driver = which("chromedriver").expect("chromedriver is installed by scripts/test-tools");
    Process(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    )
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
}

async fn browser(driver_port: u16, profile: &std::path::Path) -> Client {
    let chromium = which("chromium").expect("chromium is installed by scripts/test-tools");
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1100",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    for _ in 0..50 {
        let connected = // chromedriver is on loopback: plain HTTP, no TLS stack.
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await;
        if let Ok(client) = connected {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not accept a session");
}

struct Walk {
    client: Client,
    shots: PathBuf,
    step: usize,
}

impl Walk {
    async fn shot(&mut self, name: &str) {
        self.step += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Brings the element with this id into the screenshot's view.
    async fn scroll_to(&self, id: &str) {
        self.client
            .execute(
                "document.getElementById(arguments[0]).scrollIntoView(); return true;",
                vec![serde_json::json!(id)],
            )
            .await
            .unwrap();
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    /// Clicks `css`, finding it again if the page re-rendered it between
    /// the find and the click (a stale element), as a person would.
    async fn click(&self, css: &str) {
        let mut attempt = 0;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if attempt < 5 && e.to_string().contains("stale element") => attempt += 1,
                Err(e) => panic!("cannot click {css}: {e}"),
            }
        }
    }

    /// Presses Refresh until `css` is on the page: what the page shows of
    /// the broker's state follows a webhook GitHub sends a moment later.
    async fn refresh_until(&self, css: &str) {
        for _ in 0..50 {
            self.click("#refresh").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
                .is_empty()
            {
                return;
            }
        }
        panic!("{css} never appeared after a refresh");
    }

    /// Waits until the element's text contains `expected`.
    async fn text_contains(&self, css: &str, expected: &str) -> String {
        for _ in 0..75 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(expected) {
                        return text;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let error = match self.client.find(Locator::Css("#error")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!("{css} never contained {expected:?} (page error: {error:?})");
    }

    async fn gone(&self, css: &str) {
        for _ in 0..75 {
            if self
                .client
                .find_all(Locator::Css(css))
                .await
                .map(|v| v.is_empty())
                .unwrap_or(false)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{css} is still there");
    }

    /// Installs the app on `account` from the page, for `team`.
    async fn install(&self, team: &str, account: &str) {
        self.find("#install-team").await.select_by_value(team).await.unwrap();
        self.click("#install").await;
        // GitHub remembers who signed in to authorize: no question again.
        self.text_contains("body", "Signed in as octocat").await;
        self.click(&format!("[data-account=\"{account}\"]")).await;
        self.click("#install-submit").await;
        self.text_contains(".outcome[data-for=\"connect\"]", &format!("attached to {team}"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_walks_the_whole_multi_team_story_in_a_browser() {
    let (port, sim_port, driver_port) = (free_port(), free_port(), free_port());
    let scratch = tempfile::tempdir().unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots");
    // This run's screenshots only: an earlier run's would be mistaken for them.
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let mut broker = start_broker(port, sim_port, &scratch.path().join("state"), true);
    let _driver = start_chromedriver(driver_port);
    let client = browser(driver_port, &scratch.path().join("profile")).await;
    let mut walk = Walk { client, shots, step: 0 };
    let base = format!("http://localhost:{port}");

    // Sign in to the platform as alice (teams team-a and team-b).
    walk.client.goto(&format!("{base}/")).await.unwrap();
    walk.click("button[data-user=\"alice\"]").await;
    walk.text_contains("#who", "alice").await;
    walk.shot("signed-in").await;

    // Connect GitHub, cancelled on GitHub's page: said beside the button.
    walk.click("#connect").await;
    walk.text_contains("body", "would like permission to").await;
    walk.click("#cancel").await;
    walk.text_contains(".outcome.bad[data-for=\"connect\"]", "access_denied")
        .await;
    walk.shot("connect-cancelled").await;

    // Connect GitHub: the simulator asks who you are (with the
    // organisations each user belongs to), then sends you back.
    walk.click("#connect").await;
    walk.text_contains("body", "member of octo-org (owner)").await;
    walk.shot("github-authorize").await;
    walk.click("[data-user=\"octocat\"]").await;
    walk.text_contains(".outcome.ok[data-for=\"connect\"]", "GitHub connected as octocat")
        .await;
    walk.text_contains("#github-status", "Connected to GitHub as octocat")
        .await;
    walk.shot("connected").await;

    // Install on an organisation for team-a, and on the personal account for team-b.
    walk.install("team-a", "octo-org").await;
    walk.shot("installed-on-organisation").await;
    walk.install("team-b", "octocat").await;
    walk.shot("installed-on-personal-account").await;

    // Attach the organisation's installation to the second team as well.
    let org_row = "tr[data-account=\"octo-org\"]";
    walk.click(&format!("{org_row} button[data-action=\"attach-team-b\"]"))
        .await;
    walk.text_contains(&format!("{org_row} .linked"), "team-a, team-b")
        .await;
    walk.shot("one-installation-two-teams").await;

    // Vend an installation token for each team.
    for team in ["team-a", "team-b"] {
        walk.click(&format!("div[data-team=\"{team}\"] button[data-vend=\"octo-org\"]"))
            .await;
        walk.text_contains(&format!("div[data-team=\"{team}\"] .token"), "minted now")
            .await;
    }
    // The same vend again: the cached token, and the page says so.
    walk.click("div[data-team=\"team-a\"] button[data-vend=\"octo-org\"]")
        .await;
    walk.text_contains("div[data-team=\"team-a\"] .token", "reused (cached since")
        .await;
    walk.text_contains("div[data-team=\"team-a\"] .outcome.ok", "reused")
        .await;
    walk.shot("tokens-vended").await;

    // Narrow team-b's link to contents:read: its next token says so, and
    // the audit trail shows the change and the vends.
    // A policy the installation cannot grant first: the error appears
    // beside that button; the right one then replaces it there.
    let policy = "div[data-team=\"team-b\"] div[data-policy=\"octo-org\"]";
    let permissions = format!("{policy} input[name=\"permissions\"]");
    walk.find(&permissions).await.send_keys("checks:write").await.unwrap();
    walk.click(&format!("{policy} button[data-set-policy=\"octo-org\"]"))
        .await;
    walk.text_contains(&format!("{policy} .outcome.bad"), "HTTP 422").await;
    walk.shot("policy-refused-beside-its-button").await;
    walk.find(&permissions).await.clear().await.unwrap();
    walk.find(&permissions).await.send_keys("contents:read").await.unwrap();
    walk.click(&format!("{policy} button[data-set-policy=\"octo-org\"]"))
        .await;
    walk.text_contains(&format!("{policy} .outcome.ok"), "set").await;
    walk.gone(".outcome.bad").await;
    walk.text_contains(&format!("{policy} .policy"), "contents:read").await;
    walk.click("div[data-team=\"team-b\"] button[data-vend=\"octo-org\"]")
        .await;
    walk.text_contains("div[data-team=\"team-b\"] .token", "contents:read")
        .await;
    walk.text_contains("div[data-audit=\"team-b\"]", "policy").await;
    walk.text_contains("div[data-audit=\"team-b\"]", "installation_token")
        .await;
    walk.shot("policy-and-audit-trail").await;

    // Suspended on GitHub: octocat's own installation (team-b's) offers
    // neither a vend nor an attach, and says why.
    let personal = walk
        .find("tr[data-account=\"octocat\"]")
        .await
        .attr("data-installation")
        .await
        .unwrap()
        .unwrap();
    sim_post(&walk, sim_port, &format!("/_sim/installations/{personal}/suspend")).await;
    let suspended = "div[data-team=\"team-b\"] div[data-link=\"octocat\"]";
    walk.refresh_until(&format!("{suspended} .why")).await;
    walk.text_contains(&format!("{suspended} .why"), "suspended on GitHub")
        .await;
    let vend = walk.find(&format!("{suspended} button[data-vend]")).await;
    assert_eq!(vend.attr("disabled").await.unwrap().as_deref(), Some("true"));
    let attach = walk
        .find("tr[data-account=\"octocat\"] button[data-action=\"attach-team-a\"]")
        .await;
    assert_eq!(attach.attr("disabled").await.unwrap().as_deref(), Some("true"));
    walk.shot("suspended-installation-controls").await;

    // Reconcile now, as an operator: GitHub's two installations checked,
    // nothing to repair (every webhook arrived); the outcome beside it.
    walk.scroll_to("step-uninstall").await;
    walk.click("#reconcile").await;
    walk.text_contains(
        ".outcome.ok[data-for=\"reconcile\"]",
        "Checked 2 installations, changed none, redelivered 0 of",
    )
    .await;
    let reconcile = walk.find("#reconcile").await;
    assert_eq!(reconcile.attr("disabled").await.unwrap(), None);
    walk.shot("reconciled-nothing-missed").await;

    // GitHub events for the platform: a push on octo-org's repository
    // appears on the open page as it is published (no reload), labelled
    // with both teams linked to the installation.
    let installation = walk
        .find(org_row)
        .await
        .attr("data-installation")
        .await
        .unwrap()
        .unwrap();
    sim_post(&walk, sim_port, &format!("/_sim/installations/{installation}/push")).await;
    walk.text_contains("#events tr[data-event=\"push\"]", "team-a, team-b")
        .await;
    walk.text_contains("#events tr[data-event=\"push\"]", "octo-org/").await;
    walk.scroll_to("step-events").await;
    walk.shot("events-live").await;

    // On (simulated) GitHub: open a pull request, then uninstall the app
    // from the organisation.
    walk.client
        .goto(&format!("http://127.0.0.1:{sim_port}/_sim/ui"))
        .await
        .unwrap();
    walk.click(&format!(
        "[data-installation=\"{installation}\"] button[name=\"send-pull-request\"]"
    ))
    .await;
    walk.click(&format!(
        "[data-installation=\"{installation}\"] button[name=\"uninstall\"]"
    ))
    .await;
    // GitHub asks first.
    let question = walk.client.get_alert_text().await.unwrap();
    assert!(question.contains("Uninstall the app from octo-org"), "{question}");
    walk.client.accept_alert().await.unwrap();
    walk.shot("github-uninstall").await;

    // Back on the platform: the webhook removed every link to it.
    walk.client.goto(&format!("{base}/")).await.unwrap();
    walk.text_contains("#github-status", "octocat").await;
    walk.gone(org_row).await;
    walk.gone("button[data-vend=\"octo-org\"]").await;
    walk.text_contains("div[data-team=\"team-a\"]", "no installation attached")
        .await;
    walk.shot("after-uninstall").await;

    // The pull request and the uninstall were published too, the
    // uninstall still labelled with the teams it was linked to.
    walk.text_contains("#events tr[data-event=\"pull_request\"]", "team-a, team-b")
        .await;
    walk.text_contains("#events tr[data-event=\"installation\"]", "installation.deleted")
        .await;
    walk.text_contains("#events tr[data-event=\"installation\"]", "team-a, team-b")
        .await;
    walk.scroll_to("step-events").await;
    walk.shot("events-after-uninstall").await;

    // Another user in turn: nothing of alice's stays on the page.
    walk.click("button[data-user=\"bob\"]").await;
    walk.text_contains("#who", "bob").await;
    walk.text_contains("#github-status", "not connected").await;
    for leftover in [
        "div[data-team=\"team-a\"]",
        "div[data-audit=\"team-a\"]",
        "tr[data-installation]",
        "button[data-vend]",
    ] {
        walk.gone(leftover).await;
    }
    walk.shot("second-user").await;

    // Signing out clears the page.
    walk.click("button[data-user=\"alice\"]").await;
    walk.text_contains("#github-status", "octocat").await;
    walk.click("#signout").await;
    walk.text_contains("#who", "not signed in").await;
    walk.gone("div[data-team]").await;
    walk.gone("tr[data-installation]").await;

    // A restart without --reset: the session the browser kept is refused
    // and the page asks to sign in; signed in again, the connection GitHub
    // (a fresh simulator) no longer knows asks to be made again.
    walk.click("button[data-user=\"alice\"]").await;
    walk.text_contains("#github-status", "octocat").await;
    drop(broker);
    broker = start_broker(port, sim_port, &scratch.path().join("state"), false);
    walk.client.goto(&format!("{base}/")).await.unwrap();
    walk.text_contains("#error", "sign in again").await;
    walk.text_contains("#who", "not signed in").await;
    walk.shot("restarted-sign-in-again").await;
    walk.click("button[data-user=\"alice\"]").await;
    walk.text_contains("#github-status", "connected again").await;
    walk.text_contains(".outcome.ok[data-for=\"signin-alice\"]", "Signed in as alice")
        .await;
    walk.gone("tr[data-installation]").await;
    walk.shot("restarted-connect-again").await;

    walk.client.close().await.unwrap();
    drop(broker);
}

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
