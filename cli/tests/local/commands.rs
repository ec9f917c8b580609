//! brokerctl against the runner: every command, its exit codes, completions and help.

use super::*;

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

    // A repository, then a commit of local files onto a new branch of it.
    let made = json_of(&world.cli(
        &[
            "--url",
            url,
            "-o",
            "json",
            "create-repo",
            "--account",
            "team-a",
            "--owner",
            "octo-org",
            "--name",
            "made-by-cli",
            "--private",
            "--auto-init",
        ],
        &aws,
    ));
    assert_eq!(made["full_name"], "octo-org/made-by-cli");
    assert_eq!(made["private"], true);
    std::fs::write(world.cwd().join("notes.md"), "# Notes\n").unwrap();
    std::fs::create_dir_all(world.cwd().join("ci")).unwrap();
    std::fs::write(world.cwd().join("ci/build.yml"), "on: push\n").unwrap();
    let committed = succeeds(&world.cli(
        &[
            "--url",
            url,
            "commit",
            "--account",
            "team-a",
            "--owner",
            "octo-org",
            "--repo",
            "made-by-cli",
            "--branch",
            "docs",
            "-m",
            "Notes from brokerctl",
            "--file",
            "docs/notes.md=notes.md",
            "--file",
            "ci/build.yml",
        ],
        &aws,
    ));
    assert!(
        committed.contains("branch created") && committed.contains("true"),
        "{committed}"
    );
    let file = |path| world.sim().file_at("octo-org", "made-by-cli", "docs", path);
    assert_eq!(file("docs/notes.md").as_deref(), Some("# Notes\n"));
    assert_eq!(file("ci/build.yml").as_deref(), Some("on: push\n"));

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
    let id = world.installation.to_string();
    let with = |rest: &[&str]| world.local_args(rest);

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
    let reachable = json_of(&world.cli(&with(&["--as", "alice", "-o", "json", "installations"]), &[]));
    let ours = reachable["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == world.installation)
        .unwrap_or_else(|| panic!("{reachable}"));
    let mut teams: Vec<&str> = ours["linked_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    teams.sort_unstable();
    assert_eq!(teams, ["team-a", "team-b"]);
    let table = succeeds(&world.cli(&with(&["--as", "alice", "installations"]), &[]));
    assert!(table.contains("LINKED TO") && table.contains("octo-org"), "{table}");

    // Internal commands with the pair from ./.local/local-iam.env.
    let token = succeeds(&world.cli(&with(&["token", "--account", "team-a", "--installation", &id]), &[]));
    assert!(!token.is_empty());
    let scoped = json_of(&world.cli(
        &with(&["token", "--account", "team-b", "--owner", "octo-org", "-o", "json"]),
        &[],
    ));
    assert_eq!(scoped["permissions"], json!({"contents": "read"}));

    // team-b's policy changed, then lifted: each shows in what it vends.
    let vend_b = || {
        json_of(&world.cli(
            &with(&["token", "--account", "team-b", "--installation", &id, "-o", "json"]),
            &[],
        ))
    };
    let narrowed = json_of(&world.policy("alice", "team-b", &["--permission", "issues=read", "-o", "json"]));
    assert_eq!(narrowed["policy"], json!({"permissions": {"issues": "read"}}));
    assert_eq!(vend_b()["permissions"], json!({"issues": "read"}));
    let lifted = succeeds(&world.policy("alice", "team-b", &["--whole-installation"]));
    assert!(lifted.contains("whole installation"), "{lifted}");
    let whole = vend_b();
    assert_eq!(whole["permissions"]["issues"], "write", "{whole}");
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
    let local = |rest: &[&str]| world.local_args(rest);

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

    fails(
        &world.policy("bob", "team-a", &["--repo", "web"]),
        3,
        "not_account_member",
    );

    // 4 not found: a policy change makes no link; no such repository.
    fails(
        &world.policy("alice", "team-b", &["--repo", "web"]),
        4,
        "installation_not_linked",
    );
    std::fs::write(world.cwd().join("a.txt"), "a\n").unwrap();
    let commit_to = |repo: &str, file: &str| {
        world.cli(
            &local(&[
                "commit",
                "--account",
                "team-a",
                "--owner",
                "octo-org",
                "--repo",
                repo,
                "--branch",
                "b",
                "-m",
                "m",
                "--file",
                file,
            ]),
            &[],
        )
    };
    fails(&commit_to("no-such-repo", "a.txt"), 4, "not_found");
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
    fails(
        &world.cli(
            &local(&[
                "create-repo",
                "--account",
                "team-a",
                "--owner",
                "octo-org",
                "--name",
                "web",
            ]),
            &[],
        ),
        5,
        "github_refused",
    );
    world.refuse_refreshes();
    fails(
        &world.cli(&local(&["user-token", "alice"]), &[]),
        5,
        "reauthorization_required",
    );
    world.sim().clear_faults();

    // 6 unavailable: GitHub rate-limits; nothing listens.
    world.rate_limit_mints();
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

    // 2 usage: nowhere to send it; clap's own; --as without --local; a
    // local file that cannot be read (nothing sent).
    fails(&commit_to("web", "a.txt=missing.txt"), 2, "missing.txt");
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
