//! The app's delivery log as GitHub serves it: every attempt newest first
//! under cursor pagination, a failed attempt redelivered under the same
//! GUID, deliveries failed or lost on command; and the repository events
//! (`push`, `pull_request`) the admin page sends.

use std::time::Duration;

use github_sim::RepoSelection;
use serde_json::{json, Value};

use crate::webhooks::{assert_github_headers, hooked_sim};
use crate::*;

const WAIT: Duration = Duration::from_secs(10);

/// Every page of `GET /app/hook/deliveries`, following `Link: rel="next"`.
async fn all_pages(sim: &github_sim::GitHubSim, per_page: usize) -> (Vec<Value>, usize) {
    let mut path = format!("/app/hook/deliveries?per_page={per_page}");
    let (mut items, mut pages) = (Vec::new(), 0);
    loop {
        let (status, body, headers) = get(sim, &path, &jwt(sim)).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        items.extend(body.as_array().expect("a list").iter().cloned());
        let next = headers
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split_once('<'))
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(url, _)| url.to_owned());
        match next {
            Some(url) => path = url[url.find("/app/").unwrap()..].to_owned(),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn the_log_lists_every_attempt_newest_first_and_redelivers_a_failed_one() {
    let (sim, receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_repo("acme", "api", false);
    let id = sim.install("acme", RepoSelection::All, &[("contents", "read")]);
    // The receiver is down for the next two, and GitHub loses the third.
    sim.fault_webhooks(2, 1);
    sim.suspend(id);
    sim.unsuspend(id);
    sim.send_push(id);
    sim.send_pull_request(id);
    assert!(sim.wait_for_deliveries(4, WAIT).await);

    let (items, pages) = all_pages(&sim, 2).await;
    assert_eq!(pages, 2, "4 attempts, 2 a page");
    let events: Vec<(&str, Option<&str>, u64)> = items
        .iter()
        .map(|i| {
            (
                i["event"].as_str().unwrap(),
                i["action"].as_str(),
                i["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("pull_request", Some("opened"), 200),
            ("installation", Some("unsuspend"), 0),
            ("installation", Some("suspend"), 0),
            ("installation", Some("created"), 200),
        ],
        "newest first; the lost push is nowhere"
    );
    let failed = &items[2];
    assert_eq!(failed["status"], "failed to connect to host");
    assert_eq!(failed["redelivery"], false);
    assert_eq!(failed["installation_id"], id);

    // Redelivered: a new attempt of the same GUID, which the receiver gets.
    let attempt = failed["id"].as_u64().unwrap();
    let path = format!("/app/hook/deliveries/{attempt}/attempts");
    let (status, body) = send(&sim, "POST", &path, Some(&jwt(&sim)), json!(null)).await;
    assert_eq!(status, 202, "{body}");
    assert!(sim.wait_for_deliveries(5, WAIT).await);
    let (items, _) = all_pages(&sim, 100).await;
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["guid"], failed["guid"]);
    assert_eq!(items[0]["redelivery"], true);
    assert_eq!(items[0]["status"], "OK");
    let last = receiver.received().pop().unwrap();
    assert_github_headers(&last, "installation");
    assert_eq!(last.header("x-github-delivery"), failed["guid"].as_str().unwrap());
    assert_eq!(last.body["action"], "suspend");

    // One attempt in full, and what is not there.
    let (status, one, _) = get(&sim, &format!("/app/hook/deliveries/{attempt}"), &jwt(&sim)).await;
    assert_eq!(status, 200);
    assert_eq!(one["request"]["payload"]["action"], "suspend");
    for path in ["/app/hook/deliveries/1", "/app/hook/deliveries/1/attempts"] {
        let (status, _) = send(
            &sim,
            if path.ends_with("attempts") { "POST" } else { "GET" },
            path,
            Some(&jwt(&sim)),
            json!(null),
        )
        .await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _, _) = get(&sim, "/app/hook/deliveries", "not-a-jwt").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_push_and_a_pull_request_arrive_in_githubs_shapes() {
    let (sim, receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_repo("acme", "api", false);
    let id = sim.install("acme", RepoSelection::All, &[("contents", "read")]);
    sim.send_push(id);
    sim.send_pull_request(id);
    assert!(sim.wait_for_deliveries(3, WAIT).await);
    let received = receiver.received();
    let push = &received[1];
    assert_github_headers(push, "push");
    assert_eq!(push.body["installation"]["id"], id);
    assert_eq!(push.body["repository"]["full_name"], "acme/api");
    assert_eq!(push.body["ref"], "refs/heads/main");
    assert_eq!(push.body["commits"][0]["id"], push.body["after"]);
    assert_eq!(push.body["head_commit"], push.body["commits"][0]);
    let pr = &received[2];
    assert_github_headers(pr, "pull_request");
    assert_eq!(pr.body["action"], "opened");
    assert_eq!(pr.body["number"], pr.body["pull_request"]["number"]);
    assert_eq!(pr.body["pull_request"]["base"]["repo"]["full_name"], "acme/api");
    assert_eq!(pr.body["sender"]["login"], "octocat");
}

#[tokio::test]
async fn delivered_at_is_on_the_sim_clock() {
    let delivered_at = |item: &Value| {
        let at = item["delivered_at"].as_str().unwrap();
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    let near = |at: i64, expected: i64| assert!((expected - 2..=expected).contains(&at), "{at} vs {expected}");
    let (sim, _receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.set_clock_offset(30 * 86_400);
    sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    assert!(sim.wait_for_deliveries(1, WAIT).await);
    let (items, _) = all_pages(&sim, 100).await;
    near(delivered_at(&items[0]), sim.now_unix());

    // A redelivery is stamped when it is sent, on the clock as it is then.
    sim.set_clock_offset(60 * 86_400);
    let path = format!("/app/hook/deliveries/{}/attempts", items[0]["id"]);
    assert_eq!(send(&sim, "POST", &path, Some(&jwt(&sim)), json!(null)).await.0, 202);
    assert!(sim.wait_for_deliveries(2, WAIT).await);
    let (items, _) = all_pages(&sim, 100).await;
    assert_eq!(items[0]["redelivery"], true);
    near(delivered_at(&items[0]), sim.now_unix());
}
