//! broker-client and brokerctl against the local runner, in-process
//! (`broker_local::start`): SigV4 verified against the runner's pair, the
//! simulated GitHub seeded by dev/local/src/seed.rs (octocat, admin of
//! octo-org; platform users alice in team-a and team-b, bob in team-b).
//!
//! Each test starts its own runner on a free port in its own folder.

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

// ---- the client ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_every_route_succeeds() {
    let world = World::start().await;
    let client = world.client();
    let id = world.installation;

    let connection = client.connection().await.unwrap();
    assert!(connection.connected);
    assert_eq!(connection.login.as_deref(), Some("octocat"));

    let policy = LinkPolicy {
        repositories: None,
        permissions: Some(Permissions::from([
            ("contents".to_owned(), PermissionLevel::Write),
            ("administration".to_owned(), PermissionLevel::Write),
            ("issues".to_owned(), PermissionLevel::Read),
        ])),
    };
    let linked = world.link("team-a", Some(&policy)).await;
    assert!(linked.linked);
    assert_eq!(linked.installation_id, id);
    // PUT again: the same link.
    assert!(client.link("team-a", id, Some(&policy)).await.unwrap().linked);

    let reachable = client.reachable_installations().await.unwrap();
    let mine = reachable
        .installations
        .iter()
        .find(|i| i.installation.id == id)
        .unwrap();
    assert_eq!(mine.linked_accounts, ["team-a"]);

    let links = client.account_installations("team-a").await.unwrap();
    assert_eq!(links.installations.len(), 1);
    assert_eq!(links.installations[0].installation.account.login, "octo-org");
    assert_eq!(links.installations[0].policy.permissions, policy.permissions);

    let vended = client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    assert!(!vended.token.is_empty());
    assert_eq!(vended.permissions.get("issues").map(String::as_str), Some("read"));
    let again = client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    assert_eq!(again.token, vended.token, "a cached token is reused");
    let by_owner = client
        .owner_token(
            "team-a",
            &OwnerVendRequest {
                owner: "OCTO-ORG".into(),
                scope: VendRequest {
                    repositories: Some(vec!["web".into()]),
                    permissions: Some(Permissions::from([("contents".to_owned(), PermissionLevel::Read)])),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(by_owner.repositories.as_ref().unwrap()[0].name, "web");
    assert_eq!(by_owner.permissions.get("contents").map(String::as_str), Some("read"));

    let user = client.user_token("alice").await.unwrap();
    assert_eq!(user.github_user.login, "octocat");

    let repo = client
        .create_repository(
            "team-a",
            &CreateRepository {
                owner: "octo-org".into(),
                name: "made-by-client".into(),
                auto_init: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(repo.full_name, "octo-org/made-by-client");
    let committed = client
        .commit_files(
            "team-a",
            &CommitFiles {
                owner: "octo-org".into(),
                repo: "web".into(),
                branch: "client-branch".into(),
                message: "from broker-client".into(),
                files: vec![CommitFile {
                    path: "hello.txt".into(),
                    content: "hello\n".into(),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(committed.branch, "client-branch");
    assert_eq!(committed.commit.sha.len(), 40);

    let narrowed = client
        .change_policy(
            "team-a",
            id,
            &LinkPolicy {
                repositories: Some(vec!["web".into()]),
                permissions: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(narrowed.policy.unwrap().repositories.unwrap(), ["web"]);

    let trail = client
        .audit(
            "team-a",
            &AuditQuery {
                action: Some(AuditAction::InstallationToken),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(trail.records.len(), 1);
    assert_eq!(trail.records[0].action, AuditAction::InstallationToken);
    assert!(trail.cursor.is_some(), "more than one vend was recorded");
    let next = client
        .audit(
            "team-a",
            &AuditQuery {
                action: Some(AuditAction::InstallationToken),
                cursor: trail.cursor.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!next.records.is_empty());

    // A token under the new policy, then the incident: every token revoked.
    client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    let revoked = client.revoke_account_tokens("team-a").await.unwrap();
    assert!(revoked.revoked >= 1, "{revoked:?}");

    let summary = client.reconcile().await.unwrap();
    assert!(summary.installations_checked >= 1, "{summary:?}");

    let unlinked = client.unlink("team-a", id).await.unwrap();
    assert!(!unlinked.linked);
    assert!(!client.unlink("team-a", id).await.unwrap().linked, "idempotent");

    let gone = client.disconnect().await.unwrap();
    assert!(!gone.connected);
    assert!(!client.connection().await.unwrap().connected);
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_typed_and_classed() {
    let world = World::start().await;
    let client = world.client();
    let id = world.installation;
    world.link("team-a", None).await;

    // Auth: no credentials at all; a wrong secret (the gateway's refusal);
    // no JWT; a JWT the authorizer does not know; not a member.
    let unsigned = Client::builder(world.base.clone()).build().unwrap();
    let e = unsigned.reconcile().await.unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Auth);
    let (key, _) = world.running.iam();
    let wrong = Client::builder(world.base.clone())
        .static_credentials(key, "not-the-secret", None)
        .region("eu-west-1")
        .build()
        .unwrap();
    let e = wrong
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    assert_eq!((e.class(), e.status()), (ErrorClass::Auth, Some(403)));
    let e = unsigned.account_installations("team-a").await.unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    let e = client.with_jwt("not.a.jwt").connection().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth, "{e:?}");
    let e = client
        .with_jwt(world.bob.clone())
        .account_installations("team-a")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::NotAccountMember), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Auth);
    let e = client
        .installation_token("team-b", id, &VendRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InstallationNotLinked), "{e:?}");

    // Not found: a user who never connected; a policy change of no link.
    let e = client.user_token("bob").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::GithubNotConnected), "{e:?}");
    assert_eq!(e.class(), ErrorClass::NotFound);
    let e = client
        .change_policy("team-b", id, &LinkPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InstallationNotLinked), "{e:?}");
    assert_eq!(e.class(), ErrorClass::NotFound);

    // Invalid: a min TTL out of range; a policy beyond the installation.
    let scope = VendRequest {
        min_ttl_seconds: Some(5000),
        ..Default::default()
    };
    let e = client.installation_token("team-a", id, &scope).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Api {
                status: 400,
                code: ErrorCode::InvalidMinTtl,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Invalid);
    let beyond = LinkPolicy {
        repositories: None,
        permissions: Some(Permissions::from([("secrets".to_owned(), PermissionLevel::Write)])),
    };
    let e = client.link("team-b", id, Some(&beyond)).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::PolicyBeyondInstallation), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Invalid);

    // Conflict: GitHub refuses the user token's refresh.
    world.sim().inject(Fault {
        method: Some("POST".into()),
        path_prefix: "/login/oauth/access_token".into(),
        kind: FaultKind::OAuthError("bad_refresh_token".into()),
        times: 10,
    });
    let e = client.user_token("alice").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::ReauthorizationRequired), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Conflict);
    world.sim().clear_faults();

    // Unavailable: GitHub rate-limits the mint for an hour.
    world.sim().inject(Fault {
        method: Some("POST".into()),
        path_prefix: "/app/installations/".into(),
        kind: FaultKind::RateLimit {
            status: 429,
            retry_after_seconds: 3600,
        },
        times: 20,
    });
    let fresh = VendRequest {
        repositories: Some(vec!["api".into()]),
        ..Default::default()
    };
    let e = client.installation_token("team-a", id, &fresh).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Unavailable, "{e:?}");
    world.sim().clear_faults();

    // Transport: nothing listens (retried, then given up).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = Client::builder(format!("http://127.0.0.1:{port}"))
        .jwt("x")
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let e = nowhere.connection().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Transport);
    world.running.stop().await;
}

// ---- the CLI --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_internal_commands_with_url_and_aws_environment_credentials() {
    let world = World::start().await;
    world.link("team-a", None).await;
    let (key, secret) = world.running.iam();
    let aws = [
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "eu-west-1"),
    ];
    let url = world.base.as_str();
    let id = world.installation.to_string();

    let token = succeeds(&world.cli(
        &["--url", url, "token", "--account", "team-a", "--installation", &id],
        &aws,
    ));
    assert!(!token.is_empty() && !token.contains(char::is_whitespace), "{token}");
    let whole = json_of(&world.cli(
        &[
            "--url",
            url,
            "token",
            "--account",
            "team-a",
            "--owner",
            "octo-org",
            "--repo",
            "web",
            "--permission",
            "contents=read",
            "--output",
            "json",
        ],
        &aws,
    ));
    assert_eq!(whole["permissions"], json!({"contents": "read"}));
    assert_eq!(whole["repositories"][0]["name"], "web");
    let user = succeeds(&world.cli(&["--url", url, "user-token", "alice"], &aws));
    assert!(!user.is_empty());
    let revoked = json_of(&world.cli(&["--url", url, "-o", "json", "revoke", "--account", "team-a"], &aws));
    assert!(revoked["revoked"].as_u64().unwrap() >= 1, "{revoked}");
    let summary = succeeds(&world.cli(&["--url", url, "reconcile"], &aws));
    assert!(summary.contains("installations checked"), "{summary}");

    // BROKER_URL stands in for --url.
    let mut with_url = aws.to_vec();
    with_url.push(("BROKER_URL", url));
    succeeds(&world.cli(&["revoke", "--account", "team-a"], &with_url));
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_local_reads_the_runner_s_pair_file_and_signs_in_with_as() {
    let world = World::start().await;
    assert!(world.cwd().join(".local/local-iam.env").exists());
    let url = world.base.as_str();
    let id = world.installation.to_string();
    let local = ["--local", "--url", url];
    let with = |rest: &[&str]| -> Vec<String> { local.iter().chain(rest).map(|s| s.to_string()).collect() };

    // Frontend commands, as alice signed in at the runner.
    let linked = json_of(&world.cli(
        &with(&[
            "--as",
            "alice",
            "-o",
            "json",
            "link",
            "--account",
            "team-a",
            "--installation",
            &id,
        ]),
        &[],
    ));
    assert_eq!(linked["linked"], true);
    let table = succeeds(&world.cli(
        &with(&[
            "--as",
            "alice",
            "link",
            "--account",
            "team-b",
            "--installation",
            &id,
            "--repo",
            "web",
            "--permission",
            "contents=read",
        ]),
        &[],
    ));
    assert!(table.contains("repos: web; permissions: contents=read"), "{table}");
    let links = succeeds(&world.cli(&with(&["--as", "alice", "links", "--account", "team-a"]), &[]));
    assert!(links.contains("octo-org") && links.contains(&id), "{links}");

    // Internal commands with the pair from ./.local/local-iam.env.
    let token = succeeds(&world.cli(&with(&["token", "--account", "team-a", "--installation", &id]), &[]));
    assert!(!token.is_empty());
    let scoped = json_of(&world.cli(
        &with(&["token", "--account", "team-b", "--owner", "octo-org", "-o", "json"]),
        &[],
    ));
    assert_eq!(scoped["permissions"], json!({"contents": "read"}));
    succeeds(&world.cli(&with(&["user-token", "alice"]), &[]));
    succeeds(&world.cli(&with(&["reconcile", "-o", "json"]), &[]));

    // The audit trail: JSON, a table with a cursor note, every page.
    let jwt = world.alice.as_str();
    let audit = json_of(&world.cli(
        &with(&["--jwt", jwt, "-o", "json", "audit", "--account", "team-a"]),
        &[],
    ));
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"link") && actions.contains(&"installation_token"),
        "{actions:?}"
    );
    let page = world.cli(
        &with(&["audit", "--account", "team-a", "--limit", "1"]),
        &[("BROKER_JWT", jwt)],
    );
    assert!(succeeds(&page).contains("link") || stdout(&page).contains("installation_token"));
    assert!(stderr(&page).contains("--cursor"), "{}", stderr(&page));
    let all = json_of(&world.cli(
        &with(&["audit", "--account", "team-a", "--limit", "1", "--all", "-o", "json"]),
        &[("BROKER_JWT", jwt)],
    ));
    assert_eq!(all["records"].as_array().unwrap().len(), actions.len());
    assert_eq!(all["cursor"], Value::Null);
    let only = json_of(&world.cli(
        &with(&[
            "--as",
            "alice",
            "audit",
            "--account",
            "team-a",
            "--action",
            "link",
            "-o",
            "json",
        ]),
        &[],
    ));
    assert!(only["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["action"] == "link"));

    let revoked = succeeds(&world.cli(&with(&["revoke", "--account", "team-a"]), &[]));
    assert!(revoked.contains("revoked"), "{revoked}");
    let unlinked = json_of(&world.cli(
        &with(&[
            "--as",
            "alice",
            "unlink",
            "--account",
            "team-a",
            "--installation",
            &id,
            "-o",
            "json",
        ]),
        &[],
    ));
    assert_eq!(unlinked["linked"], false);

    // --data-dir elsewhere: no pair there, a usage error.
    let nowhere = world.cli(&with(&["--data-dir", "elsewhere", "reconcile"]), &[]);
    fails(&nowhere, 2, "no local IAM pair");
    // The environment's pair wins over the file.
    let wrong = world.cli(
        &with(&["reconcile"]),
        &[
            ("LOCAL_IAM_ACCESS_KEY_ID", "AKIDWRONG"),
            ("LOCAL_IAM_SECRET_ACCESS_KEY", "wrong-secret"),
        ],
    );
    fails(&wrong, 3, "Forbidden");
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exit_codes_follow_the_error_class() {
    let world = World::start().await;
    world.link("team-a", None).await;
    let (key, secret) = world.running.iam();
    let url = world.base.as_str();
    let id = world.installation.to_string();
    let local = |rest: &[&str]| -> Vec<String> {
        ["--local", "--url", url]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };

    // 3 auth: a wrong secret (the gateway's Forbidden), unsigned (no
    // credentials anywhere), no JWT, a JWT nobody signed, not a member.
    let wrong = world.cli(
        &["--url", url, "reconcile"],
        &[
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
            ("AWS_REGION", "eu-west-1"),
        ],
    );
    fails(&wrong, 3, "Forbidden");
    let unsigned = world.cli(
        &["--url", url, "revoke", "--account", "team-a"],
        &[("AWS_REGION", "eu-west-1")],
    );
    fails(&unsigned, 3, "credentials");
    fails(&world.cli(&local(&["links", "--account", "team-a"]), &[]), 3, "JWT");
    fails(
        &world.cli(&local(&["--jwt", "a.b.c", "links", "--account", "team-a"]), &[]),
        3,
        "unauthenticated",
    );
    fails(
        &world.cli(&local(&["--as", "bob", "links", "--account", "team-a"]), &[]),
        3,
        "not_account_member",
    );
    fails(
        &world.cli(&local(&["token", "--account", "team-b", "--installation", &id]), &[]),
        3,
        "installation_not_linked",
    );

    // 4 not found.
    fails(
        &world.cli(&local(&["user-token", "bob"]), &[]),
        4,
        "github_not_connected",
    );

    // 5 invalid or conflict.
    fails(
        &world.cli(
            &local(&[
                "token",
                "--account",
                "team-a",
                "--installation",
                &id,
                "--min-ttl",
                "5000",
            ]),
            &[],
        ),
        5,
        "invalid_min_ttl",
    );
    fails(
        &world.cli(
            &local(&[
                "--as",
                "alice",
                "link",
                "--account",
                "team-b",
                "--installation",
                &id,
                "--permission",
                "secrets=write",
            ]),
            &[],
        ),
        5,
        "policy_beyond_installation",
    );
    world.sim().inject(Fault {
        method: Some("POST".into()),
        path_prefix: "/login/oauth/access_token".into(),
        kind: FaultKind::OAuthError("bad_refresh_token".into()),
        times: 10,
    });
    fails(
        &world.cli(&local(&["user-token", "alice"]), &[]),
        5,
        "reauthorization_required",
    );
    world.sim().clear_faults();

    // 6 unavailable: GitHub rate-limits; nothing listens.
    world.sim().inject(Fault {
        method: Some("POST".into()),
        path_prefix: "/app/installations/".into(),
        kind: FaultKind::RateLimit {
            status: 429,
            retry_after_seconds: 3600,
        },
        times: 20,
    });
    fails(
        &world.cli(
            &local(&["token", "--account", "team-a", "--installation", &id, "--repo", "api"]),
            &[],
        ),
        6,
        "github_rate_limited",
    );
    world.sim().clear_faults();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    fails(
        &world.cli(&["--local", "--url", &closed, "reconcile"], &[]),
        6,
        "transport",
    );

    // 2 usage: nowhere to send it; clap's own; --as without --local.
    fails(&world.cli(&["reconcile"], &[]), 2, "--url");
    assert_eq!(world.cli(&["token", "--account", "a"], &[]).status.code(), Some(2));
    assert_eq!(world.cli(&["frobnicate"], &[]).status.code(), Some(2));
    fails(
        &world.cli(&["--url", url, "--as", "alice", "links", "--account", "team-a"], &[]),
        2,
        "--local",
    );

    // No secret ever reaches stderr.
    let everything = [&wrong, &unsigned].iter().map(|o| stderr(o)).collect::<String>();
    assert!(!everything.contains(secret) && !everything.contains(&world.alice));
    world.running.stop().await;
}

#[test]
fn cli_completions_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let bash = cli_in(dir.path(), &["completions", "bash"], &[]);
    assert!(succeeds(&bash).contains("brokerctl"));
    let zsh = cli_in(dir.path(), &["completions", "zsh"], &[]);
    assert!(succeeds(&zsh).contains("#compdef brokerctl"));
    let help = succeeds(&cli_in(dir.path(), &["--help"], &[]));
    for expected in ["Exit codes:", "3  auth", "--stack", "local-iam.env", "Examples:"] {
        assert!(help.contains(expected), "{expected} not in --help");
    }
    let short = succeeds(&cli_in(dir.path(), &["-h"], &[]));
    assert!(short.contains("Exit codes: 0 ok"), "{short}");
    let token_help = succeeds(&cli_in(dir.path(), &["token", "--help"], &[]));
    assert!(token_help.contains("--owner") && token_help.contains("--permission"));
}

/// A scripted HTTP server: one connection per answer (content type, body),
/// in order; returns its URL and, once done, every request it was sent.
fn scripted(answers: Vec<(&'static str, String)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for (content_type, body) in answers {
            let (mut socket, _) = listener.accept().unwrap();
            socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = socket.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(at) = text.find("\r\n\r\n") {
                    let length = text[..at]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= at + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).unwrap();
            requests.push(String::from_utf8_lossy(&buf).to_string());
        }
        requests
    });
    (url, handle)
}

/// A CloudFormation endpoint answering DescribeStacks with a stack whose
/// ApiUrl output is `api_url`.
fn cloudformation(api_url: String) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let body = format!(
        "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStacksResult><Stacks><member>\
         <StackName>gh-app-broker</StackName>\
         <StackId>arn:aws:cloudformation:eu-west-1:000000000000:stack/gh-app-broker/1</StackId>\
         <CreationTime>2026-01-01T00:00:00Z</CreationTime>\
         <StackStatus>CREATE_COMPLETE</StackStatus>\
         <Outputs><member><OutputKey>ApiId</OutputKey><OutputValue>abc</OutputValue></member>\
         <member><OutputKey>ApiUrl</OutputKey><OutputValue>{api_url}</OutputValue></member></Outputs>\
         </member></Stacks></DescribeStacksResult>\
         <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>"
    );
    scripted(vec![("text/xml", body)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_stack_reads_the_api_url_output() {
    let world = World::start().await;
    world.link("team-a", None).await;
    let (cfn, seen) = cloudformation(world.base.clone());
    let (key, secret) = world.running.iam();
    let id = world.installation.to_string();
    let output = world.cli(
        &[
            "--stack",
            "gh-app-broker",
            "--region",
            "eu-west-1",
            "token",
            "--account",
            "team-a",
            "--installation",
            &id,
        ],
        &[
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", &cfn),
        ],
    );
    assert!(!succeeds(&output).is_empty());
    let request = seen.join().unwrap().remove(0);
    assert!(
        request.contains("Action=DescribeStacks") && request.contains("StackName=gh-app-broker"),
        "{request}"
    );
    assert!(request.contains("/eu-west-1/cloudformation/aws4_request"), "{request}");
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_s_refusal_of_an_unsigned_request_reads_as_forbidden() {
    let world = World::start().await;
    for bearer in [None, Some(world.alice.as_str())] {
        let mut request = reqwest::Client::new().post(format!("{}/internal/reconcile", world.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        let e = Error::from_body(status, &body);
        assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
        assert_eq!(e.class(), ErrorClass::Auth);
    }
    let unsigned = world.cli(
        &["--url", world.base.as_str(), "reconcile"],
        &[("AWS_REGION", "eu-west-1")],
    );
    fails(&unsigned, 3, "credentials");
    world.running.stop().await;
}
