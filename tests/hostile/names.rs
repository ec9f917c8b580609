//! Branch names and file paths that a URL or a path could misread, each
//! committed through the broker and checked against what moved on GitHub:
//! a branch name is valid exactly when `git check-ref-format --branch`
//! accepts it (and it fits in 255 bytes), and then the commit lands on that
//! very branch and no other; a file lands at exactly its path. Everything
//! else is refused with nothing moved.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;

use crate::helpers::reliability::record_cases;
use crate::helpers::TestApp;

/// Names a URL could cut (`#`, `?`), decode (`%2e%2e`, `%2F`), or read as
/// another path, and names git refuses.
const BRANCHES: &[&str] = &[
    "release#x",
    "release?x",
    "%2e%2e",
    "%2e%2e/%2e%2e/issues",
    "a%2Fb",
    "feature/a%23b",
    "100%",
    "a+b",
    "a&b=c",
    "a;b",
    "a,b",
    "ünïcödé",
    "emoji-🦀",
    "a}b{",
    "@",
    "a@b",
    "a/HEAD",
    "x-",
    "refs/heads/nested",
    "deep/er/and/deeper",
    "quote\"d",
    "apostrophe's",
    "-leading",
    "HEAD",
    "release",
    "a//b",
    "a..b",
    "..",
    ".hidden",
    "a/.hidden",
    "x.lock",
    "x.lock/y",
    "trailing.",
    "trailing/",
    "/leading",
    "a b",
    "a~1",
    "a^1",
    "a:b",
    "a*b",
    "a[b",
    "a\\b",
    "a@{1}",
    "@{-1}",
    "tab\there",
    "nul\u{0}byte",
    "del\u{7f}",
];

/// Paths with characters a careless encoder mangles; each must land as is.
const GOOD_PATHS: &[&str] = &[
    "a#b.txt",
    "100%.md",
    "q?.txt",
    "space name.txt",
    "ünï/cödé.rs",
    "plus+sign",
    "amp&er=sand",
    "semi;colon",
    "..dots",
    "dots..",
    ".github/workflows/ci.yml",
    "%2e%2e/escape",
    "quote\"d",
    "-leading",
    "~tilde",
];

/// Paths that leave the repository or touch `.git`.
const BAD_PATHS: &[&str] = &[
    "../x",
    "a/../../b",
    "/etc/passwd",
    "a//b",
    ".git/config",
    "a/.GIT/hooks/pre-commit",
    "./a",
    "a/.",
    "line\nbreak",
    "",
];

/// What git itself says, outside any repository (so `@` is not expanded to
/// a current branch).
fn git_accepts_branch(name: &str) -> bool {
    if name.contains('\0') {
        return false; // not even passable as an argument; git refuses control characters
    }
    let dir = tempfile::tempdir().unwrap();
    Command::new("git")
        .args(["check-ref-format", "--branch", name])
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .output()
        .expect("git runs")
        .status
        .success()
}

struct World {
    app: TestApp,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.octo_org_linked_to_team_a(&[("members", "read"), ("contents", "write")])
        .await;
    app.sim
        .push_commit("octo-org", "web", "release", "existing", &[("r.txt", "r")]);
    World { app }
}

impl World {
    async fn commit(&self, branch: &str, path: &str) -> crate::helpers::app::TestResponse {
        self.app
            .internal(
                "POST",
                "/internal/accounts/team-a/commits",
                json!({"owner": "octo-org", "repo": "web", "branch": branch, "message": "m",
                       "files": [{"path": path, "content": format!("{branch}:{path}")}]}),
            )
            .await
    }

    fn branches(&self) -> BTreeMap<String, String> {
        self.app.sim.branches("octo-org", "web")
    }
}

#[tokio::test]
async fn a_branch_name_git_accepts_reaches_exactly_that_branch_and_one_it_refuses_moves_nothing() {
    let w = world().await;
    let mut failures = Vec::new();
    for name in BRANCHES {
        let before = w.branches();
        let expect_ok = git_accepts_branch(name) && name.len() <= 255;
        let answer = w.commit(name, "f.txt").await;
        let after = w.branches();
        let moved: Vec<&String> = after.keys().filter(|b| before.get(*b) != after.get(*b)).collect();
        let held = if expect_ok {
            answer.status == 201
                && answer.body["branch"] == *name
                && moved == [&name.to_string()]
                && w.app.sim.file_at("octo-org", "web", name, "f.txt").as_deref() == Some(&format!("{name}:f.txt"))
        } else {
            answer.status == 400 && answer.error_code() == "invalid_branch" && moved.is_empty()
        };
        if !held {
            failures.push(format!(
                "{name:?} (git {}): {} {:?}, branches moved {moved:?}",
                if expect_ok { "accepts" } else { "refuses" },
                answer.status,
                answer.body
            ));
        }
    }
    record_cases(
        "Hostile input",
        "Branch names (URL-significant characters, encodings, names git refuses), each against git check-ref-format and the branches that moved",
        BRANCHES.len() as u64,
        &failures,
        "git's verdict; a valid name moves exactly that branch, an invalid one nothing",
    );
}

#[tokio::test]
async fn a_file_lands_at_exactly_its_path_and_a_path_leaving_the_repository_moves_nothing() {
    let w = world().await;
    let mut failures = Vec::new();
    for (i, path) in GOOD_PATHS.iter().enumerate() {
        let branch = format!("paths-{i}");
        let answer = w.commit(&branch, path).await;
        let landed = w.app.sim.file_at("octo-org", "web", &branch, path);
        if answer.status != 201 || landed.as_deref() != Some(&format!("{branch}:{path}")) {
            failures.push(format!(
                "{path:?}: {} {:?}, file {landed:?}",
                answer.status, answer.body
            ));
        }
    }
    for path in BAD_PATHS {
        let before = w.branches();
        let answer = w.commit("main", path).await;
        let code_ok = matches!(answer.error_code(), "invalid_path" | "invalid_body");
        if answer.status != 400 || !code_ok || w.branches() != before {
            failures.push(format!("{path:?}: {} {:?}", answer.status, answer.body));
        }
    }
    let tried = (GOOD_PATHS.len() + BAD_PATHS.len()) as u64;
    record_cases(
        "Hostile input",
        "File paths (URL-significant characters, escapes, .git), each checked in the tree GitHub holds",
        tried,
        &failures,
        "a valid path lands exactly there; one leaving the repository is refused, nothing moved",
    );
}
