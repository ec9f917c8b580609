//! broker-client and brokerctl against the local runner, in-process
//! (`broker_local::start`): SigV4 verified against the runner's pair, the
//! simulated GitHub seeded by dev/local/src/seed.rs (octocat, admin of
//! octo-org; platform users alice in team-a and team-b, bob in team-b).
//!
//! Each test starts its own runner on a free port in its own folder:
//! `client.rs` drives the library, `commands.rs` the binary, and
//! `gateway.rs` what stands in front of the broker (a stack's outputs, the
//! gateway's own refusal).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use broker_client::types::*;
use broker_client::{Client, Error, ErrorClass, ErrorCode, RetryPolicy};
use clap::Parser;
use github_sim::{Fault, FaultKind, RepoSelection};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_brokerctl");

/// A runner with alice signed in and connected to GitHub as octocat, and
/// the app installed on octo-org.
struct World {
    running: broker_local::Running,
    dir: tempfile::TempDir,
    base: String,
    alice: String,
    bob: String,
    installation: u64,
}

async fn post(url: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn query_value(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} not in {url}"))
}

impl World {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(".local");
        let settings = broker_local::Settings::try_parse_from([
            "broker-local",
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--reset",
            "--reconcile-minutes",
            "0",
        ])
        .unwrap();
        let running = broker_local::start(settings).await.expect("the runner starts");
        let base = running.base_url().to_owned();
        let session = |sub: &'static str| {
            let base = base.clone();
            async move {
                let (status, body) = post(&format!("{base}/local/session"), None, json!({"sub": sub})).await;
                assert_eq!(status, 200, "{body}");
                body["token"].as_str().unwrap().to_owned()
            }
        };
        let (alice, bob) = (session("alice").await, session("bob").await);
        let mut world = World {
            running,
            dir,
            base,
            alice,
            bob,
            installation: 0,
        };
        // Connect GitHub: octocat authorizes (the simulator's page, done
        // in-process), the code comes back with the state.
        let started = world
            .client()
            .oauth_start(&StartRequest::default())
            .await
            .expect("oauth start");
        let sim = world.running.sim().expect("the simulator");
        // User tokens shorter-lived than the broker's 5-minute margin:
        // every user-token call refreshes (and can be refused).
        sim.set_user_token_lifetime(120);
        let code = sim.authorize(
            "octocat",
            Some(&query_value(&started.authorize_url, "code_challenge")),
            Some(&query_value(&started.authorize_url, "redirect_uri")),
        );
        let (status, connected) = post(
            &format!("{}/github/oauth/callback", world.base),
            Some(&world.alice),
            json!({"state": started.state, "code": code}),
        )
        .await;
        assert_eq!(status, 200, "{connected}");
        world.installation = sim.install(
            "octo-org",
            RepoSelection::All,
            &[
                ("contents", "write"),
                ("administration", "write"),
                ("members", "read"),
                ("metadata", "read"),
                ("issues", "write"),
            ],
        );
        world
    }

    fn sim(&self) -> &github_sim::GitHubSim {
        self.running.sim().unwrap()
    }

    /// GitHub refuses to refresh user tokens (until `clear_faults`).
    fn refuse_refreshes(&self) {
        self.sim().inject(Fault {
            method: Some("POST".into()),
            path_prefix: "/login/oauth/access_token".into(),
            kind: FaultKind::OAuthError("bad_refresh_token".into()),
            times: 10,
        });
    }

    /// GitHub rate-limits installation token mints for an hour (until
    /// `clear_faults`).
    fn rate_limit_mints(&self) {
        self.sim().inject(Fault {
            method: Some("POST".into()),
            path_prefix: "/app/installations/".into(),
            kind: FaultKind::RateLimit {
                status: 429,
                retry_after_seconds: 3600,
            },
            times: 20,
        });
    }

    /// A client signed with the runner's pair, as alice for frontend routes.
    fn client(&self) -> Client {
        let (id, secret) = self.running.iam();
        Client::builder(self.base.clone())
            .static_credentials(id, secret, None)
            .region("eu-west-1")
            .jwt(self.alice.clone())
            .build()
            .unwrap()
    }

    /// Links the installation to `team` as alice (waiting for the
    /// installation's webhook to have been applied).
    async fn link(&self, team: &str, policy: Option<&LinkPolicy>) -> LinkView {
        let client = self.client();
        let mut last = None;
        for _ in 0..50 {
            match client.link(team, self.installation, policy).await {
                Ok(view) => return view,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not link: {last:?}");
    }

    /// The folder the runner keeps its data in (holding local-iam.env).
    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    /// `--local --url <this runner>`, then `rest`.
    fn local_args(&self, rest: &[&str]) -> Vec<String> {
        ["--local", "--url", self.base.as_str()]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    }

    /// `--local … --as USER policy --account TEAM --installation <ours>`,
    /// then `rest`.
    fn policy(&self, user: &str, team: &str, rest: &[&str]) -> Output {
        let id = self.installation.to_string();
        let args = [
            &["--as", user, "policy", "--account", team, "--installation", id.as_str()][..],
            rest,
        ]
        .concat();
        self.cli(&self.local_args(&args), &[])
    }

    /// brokerctl with `args`, in the runner's parent folder, with no AWS
    /// or local pair in its environment but what `env` gives.
    fn cli<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Output {
        cli_in(self.cwd(), args, env)
    }
}

fn cli_in<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(BIN);
    command.current_dir(cwd).args(args);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "LOCAL_IAM_ACCESS_KEY_ID",
        "LOCAL_IAM_SECRET_ACCESS_KEY",
        "BROKER_URL",
        "BROKER_JWT",
        "BROKER_OUTPUT",
        "BROKER_DATA_DIR",
    ] {
        command.env_remove(var);
    }
    // The default chain finds nothing it should not, and never waits on IMDS.
    command
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// Asserts the exit code, and that stderr is one line naming `needle`.
fn fails(output: &Output, code: i32, needle: &str) {
    let err = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        stdout(output)
    );
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn succeeds(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

fn json_of(output: &Output) -> Value {
    serde_json::from_str(&succeeds(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

mod client;
mod commands;
mod gateway;
