//! GitHub misbehaving on each call the broker makes: 5xx, no answer,
//! secondary rate limits with `Retry-After`. Replayable calls are retried
//! (at most 3 attempts inside one budget), the others are not.

use std::time::Duration;

use broker::api::Function;
use github_sim::{Counter, Fault, FaultKind};
use serde_json::json;

use super::{outcome, world, Attempts};

const MINT: &str = "/app/installations/";

fn fault(method: &str, path: &str, kind: FaultKind, times: usize) -> Fault {
    Fault {
        method: Some(method.into()),
        path_prefix: path.into(),
        kind,
        times,
    }
}

fn secondary_limit(seconds: u64) -> FaultKind {
    FaultKind::RateLimit {
        status: 403,
        retry_after_seconds: seconds,
    }
}

#[tokio::test]
async fn mints_through_5xx_timeouts_and_rate_limits_answer_or_fail_clearly_in_three_attempts() {
    let w = world().await;
    // (fault, times, expected status, expected code): two failures are
    // absorbed by the retries, a third is not.
    let cases: [(FaultKind, usize, u16, &str); 4] = [
        (FaultKind::Status(502), 2, 200, ""),
        (FaultKind::Status(503), 5, 502, "github_unavailable"),
        (secondary_limit(1), 1, 200, ""),
        (secondary_limit(60), 1, 503, "github_rate_limited"),
    ];
    let scopes = [
        json!({"contents": "read"}),
        json!({"contents": "write"}),
        json!({"administration": "read"}),
        json!({"metadata": "read"}),
    ];
    for (i, (kind, times, status, code)) in cases.into_iter().enumerate() {
        let before = w.app.sim.count_path("POST", MINT);
        w.app.sim.inject(fault("POST", MINT, kind.clone(), times));
        // A distinct scope per case, so none is served from the cache.
        let vend = w
            .app
            .vend("team-a", w.installation, json!({"permissions": scopes[i]}))
            .await;
        w.app.sim.clear_faults();
        let attempts = (w.app.sim.count_path("POST", MINT) - before) as u64;
        let held = vend.status == status && vend.error_code() == code && attempts <= 3;
        outcome(
            &format!("GitHub {kind:?} x{times} on an installation token mint"),
            held,
            "a token, or a clear 502/503, after at most 3 attempts",
        );
        assert_eq!(
            (vend.status, vend.error_code()),
            (status, code),
            "{kind:?}: {:?}",
            vend.body
        );
        assert!(attempts <= 3, "{kind:?}: {attempts} attempts");
        Attempts::observed(&w).assert_fit(Function::TokenVending);
        // A failed mint released its lease: nothing waits for it.
        w.assert_consistent().await;
    }
}

#[tokio::test]
async fn a_mint_github_never_answers_is_a_504_within_the_call_budget() {
    let w = world().await;
    w.app
        .sim
        .inject(fault("POST", MINT, FaultKind::Delay(Duration::from_secs(30)), 5));

    let vend = w.app.vend("team-a", w.installation, json!({})).await;

    let attempts = w.app.sim.count_path("POST", MINT) as u64;
    outcome(
        "GitHub does not answer a mint",
        vend.status == 504 && attempts <= 3,
        "504 github_timeout within one GITHUB_TIMEOUT_SECONDS budget",
    );
    assert_eq!((vend.status, vend.error_code()), (504, "github_timeout"));
    assert!((1..=3).contains(&attempts), "{attempts}");
    Attempts::observed(&w).assert_fit(Function::TokenVending);
    w.assert_consistent().await;
    // The lease was released: the next vend mints at once.
    w.app.sim.clear_faults();
    assert_eq!(w.app.vend("team-a", w.installation, json!({})).await.status, 200);
}

#[tokio::test]
async fn a_refresh_github_fails_is_not_replayed_and_keeps_the_old_refresh_token_usable() {
    let w = world().await;
    w.expire_user_token();
    for (kind, code) in [
        (FaultKind::Status(502), "github_unavailable"),
        (secondary_limit(60), "github_rate_limited"),
    ] {
        let before = w.app.sim.count(Counter::Refreshes);
        let exchanges = w.app.sim.count_path("POST", "/login/oauth/access_token");
        w.app
            .sim
            .inject(fault("POST", "/login/oauth/access_token", kind.clone(), 1));
        let failed = w.user_token().await;
        let sent = w.app.sim.count_path("POST", "/login/oauth/access_token") - exchanges;
        let held = failed.error_code() == code && sent == 1 && w.app.sim.count(Counter::Refreshes) == before;
        outcome(
            &format!("GitHub {kind:?} on a user token refresh"),
            held,
            "a clear error, the refresh sent once, the stored refresh token still good",
        );
        assert_eq!(failed.error_code(), code, "{:?}", failed.body);
        assert_eq!(sent, 1, "a refresh is never replayed");
        w.assert_consistent().await;
    }
    // GitHub processed neither, so the stored refresh token still works.
    let next = w.user_token().await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    w.assert_refresh_token_kept().await;
}

#[tokio::test]
async fn listing_installations_through_5xx_and_a_secondary_limit_answers() {
    let w = world().await;
    let path = "/user/installations";
    for (kind, times) in [(FaultKind::Status(500), 2), (secondary_limit(1), 1)] {
        let before = w.app.sim.count_path("GET", path);
        w.app.sim.inject(fault("GET", path, kind.clone(), times));
        let list = w.app.frontend(&w.alice, "GET", "/github/installations", None).await;
        let attempts = w.app.sim.count_path("GET", path) - before;
        outcome(
            &format!("GitHub {kind:?} x{times} on GET /user/installations"),
            list.status == 200 && attempts == times + 1,
            "the full list after the retries",
        );
        assert_eq!(list.status, 200, "{:?}", list.body);
        assert_eq!(list.body["installations"].as_array().unwrap().len(), 1);
        assert_eq!(attempts, times + 1);
    }
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}

#[tokio::test]
async fn a_repository_creation_that_fails_at_github_is_not_replayed() {
    let w = world().await;
    w.app
        .sim
        .inject(fault("POST", "/orgs/octo-org/repos", FaultKind::Status(502), 1));

    let created = w
        .app
        .internal(
            "POST",
            "/internal/accounts/team-a/repos",
            json!({"owner": "octo-org", "name": "svc"}),
        )
        .await;

    let sent = w.app.sim.count_path("POST", "/orgs/octo-org/repos");
    outcome(
        "GitHub 502 on repository creation",
        created.status == 502 && sent == 1,
        "502 github_unavailable, the creation sent once (a replay could duplicate it)",
    );
    assert_eq!((created.status, created.error_code()), (502, "github_unavailable"));
    assert_eq!(sent, 1);
    assert_eq!(w.app.sim.count(Counter::RepoCreations), 0);
    // A rate limit is not processed by GitHub: waited out and sent again.
    w.app
        .sim
        .inject(fault("POST", "/orgs/octo-org/repos", secondary_limit(1), 1));
    let created = w
        .app
        .internal(
            "POST",
            "/internal/accounts/team-a/repos",
            json!({"owner": "octo-org", "name": "svc"}),
        )
        .await;
    outcome(
        "GitHub secondary rate limit on repository creation",
        created.status == 201,
        "created once the Retry-After has passed",
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(w.app.sim.count(Counter::RepoCreations), 1);
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}

#[tokio::test]
async fn a_commit_whose_steps_fail_at_github_leaves_the_branch_whole() {
    let w = world().await;
    let body = json!({
        "owner": "octo-org", "repo": "web", "branch": "main", "message": "m",
        "files": [{"path": "a.txt", "content": "a"}]
    });
    // Reads are retried; the tree creation is a write GitHub may have done.
    w.app
        .sim
        .inject(fault("GET", "/repos/octo-org/web/git/", FaultKind::Status(502), 2));
    let reads_before = w.app.sim.count_path("GET", "/repos/octo-org/web/git/");
    let first = w
        .app
        .internal("POST", "/internal/accounts/team-a/commits", body.clone())
        .await;
    let reads = w.app.sim.count_path("GET", "/repos/octo-org/web/git/") - reads_before;
    w.app.sim.clear_faults();
    w.app.sim.inject(fault(
        "PATCH",
        "/repos/octo-org/web/git/refs",
        FaultKind::Status(503),
        5,
    ));
    let second = w.app.internal("POST", "/internal/accounts/team-a/commits", body).await;
    let ref_attempts = w.app.sim.count_path("PATCH", "/repos/octo-org/web/git/refs");
    let held = first.status == 201 && second.status == 502 && w.app.sim.count(Counter::Commits) >= 1;
    outcome(
        "GitHub 5xx on a commit's reads, then on its ref update",
        held,
        "the commit after retried reads; a clear 502 when the ref update fails, the branch unmoved",
    );
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(
        (second.status, second.error_code()),
        (502, "github_unavailable"),
        "{:?}",
        second.body
    );
    assert_eq!(
        reads,
        2 + 2,
        "the branch's head and its commit, and both faulted reads retried"
    );
    assert_eq!(
        ref_attempts,
        1 + 3,
        "the first commit's update, then three attempts of the second's"
    );
    assert_eq!(
        w.app.sim.count(Counter::RefUpdates),
        1,
        "only the first commit moved the branch"
    );
    // Each request had one faulted call, bounded by its budget.
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}
