//! The browser pages: the App's install flow (`/apps/{slug}/installations/new`)
//! ending at the callback URL with a code for the installing user, and the
//! `/_sim/ui` admin page whose buttons change the world and send webhooks.

use std::collections::HashMap;
use std::time::Duration;

use github_sim::RepoSelection;
use serde_json::json;

use crate::webhooks::{assert_github_headers, hooked_sim};
use crate::*;

const CALLBACK: &str = "http://localhost:9000/github/setup";
const WAIT: Duration = Duration::from_secs(10);

async fn page(sim: &github_sim::GitHubSim, path: &str) -> (u16, String) {
    let resp = client().get(format!("{}{path}", sim.url())).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// POSTs a form; returns status and the `Location` header.
async fn post_form(sim: &github_sim::GitHubSim, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let resp = client()
        .post(format!("{}{path}", sim.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status().as_u16(), location)
}

fn query(location: &str) -> (url::Url, HashMap<String, String>) {
    let url = url::Url::parse(location).unwrap();
    let q = url.query_pairs().into_owned().collect();
    (url, q)
}

#[tokio::test]
async fn install_form_redirects_to_the_callback_with_a_code_for_the_installer() {
    let (sim, receiver) = hooked_sim().await;
    sim.set_callback_url(CALLBACK);
    sim.add_user("octocat");
    sim.add_user("hubot");
    sim.add_org("acme", &["octocat"]);
    sim.add_repo("acme", "api", true);
    sim.add_repo("acme", "web", false);

    let (status, picker) = page(&sim, "/apps/broker-test/installations/new?state=s%26t").await;
    assert_eq!(status, 200);
    assert!(picker.contains("data-user=\"octocat\""), "{picker}");
    assert!(picker.contains("state=s%26t&amp;login=octocat"), "{picker}");
    let (status, form) = page(&sim, "/apps/broker-test/installations/new?state=s%26t&login=octocat").await;
    assert_eq!(status, 200);
    for needle in [
        "data-account=\"octocat\"",
        "data-account=\"acme\"",
        "data-repo=\"acme/api\"",
        "id=\"install-submit\"",
        "name=\"state\" value=\"s&amp;t\"",
    ] {
        assert!(form.contains(needle), "{needle} missing from {form}");
    }
    // hubot is no member of acme: not offered.
    let (_, other) = page(&sim, "/apps/broker-test/installations/new?login=hubot").await;
    assert!(!other.contains("data-account=\"acme\""));

    let fields = [
        ("state", "s&t"),
        ("login", "octocat"),
        ("account", "acme"),
        ("selection", "selected"),
        ("repos", "acme/api"),
    ];
    let (status, location) = post_form(&sim, "/apps/broker-test/installations/new", &fields).await;
    assert_eq!(status, 302);
    let (url, q) = query(&location);
    assert_eq!(url.path(), "/github/setup");
    assert_eq!(q["setup_action"], "install");
    assert_eq!(q["state"], "s&t");
    let id: u64 = q["installation_id"].parse().unwrap();

    let tokens = exchange(&sim, &q["code"], &[("redirect_uri", CALLBACK)]).await;
    let token = tokens["access_token"].as_str().expect("code exchanges");
    let (_, me, _) = get(&sim, "/user", token).await;
    assert_eq!(me["login"], "octocat");
    let (_, mine, _) = get(&sim, "/user/installations", token).await;
    assert_eq!(mine["installations"][0]["id"], id);
    assert_eq!(mine["installations"][0]["repository_selection"], "selected");
    assert_eq!(
        mine["installations"][0]["permissions"],
        json!({"members": "read", "metadata": "read", "contents": "write", "administration": "write", "issues": "write"})
    );

    // Installing again on the same account updates it.
    let again = [("login", "octocat"), ("account", "acme"), ("selection", "all")];
    let (status, location) = post_form(&sim, "/apps/broker-test/installations/new", &again).await;
    assert_eq!(status, 302);
    let (_, q) = query(&location);
    assert_eq!(
        (q["setup_action"].as_str(), q["installation_id"].as_str()),
        ("update", id.to_string().as_str())
    );
    assert!(!q.contains_key("state"));

    assert!(sim.wait_for_deliveries(2, WAIT).await);
    let got = receiver.received();
    assert_github_headers(&got[0], "installation");
    assert_eq!(got[0].body["action"], "created");
    assert_eq!(got[0].body["installation"]["id"], id);
    assert_eq!(got[0].body["sender"]["login"], "octocat");
    assert_eq!(got[0].body["repositories"][0]["full_name"], "acme/api");
    assert_github_headers(&got[1], "installation_repositories");
    assert_eq!(got[1].body["repositories_added"][0]["full_name"], "acme/web");
    assert!(sim.webhook_deliveries().iter().all(|d| d.status == Some(200)));
}

#[tokio::test]
async fn install_page_refusals() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_user("hubot");
    sim.add_repo("hubot", "theirs", false);
    let (status, body) = page(&sim, "/apps/broker-test/installations/new").await;
    assert_eq!(status, 400);
    assert!(body.contains("no callback URL"), "{body}");
    sim.set_callback_url(CALLBACK);
    assert_eq!(page(&sim, "/apps/other-app/installations/new").await.0, 404);
    let path = "/apps/broker-test/installations/new";
    let not_theirs = [("login", "octocat"), ("account", "hubot")];
    assert_eq!(post_form(&sim, path, &not_theirs).await.0, 400);
    let foreign_repo = [
        ("login", "octocat"),
        ("account", "octocat"),
        ("selection", "selected"),
        ("repos", "hubot/theirs"),
    ];
    assert_eq!(post_form(&sim, path, &foreign_repo).await.0, 400);
    assert_eq!(sim.count(github_sim::Counter::MintsTotal), 0);
    let (status, _) = post_form(&sim, path, &[("login", "octocat"), ("account", "octocat")]).await;
    assert_eq!(status, 302);
}

#[tokio::test]
async fn admin_page_renders_and_its_buttons_work() {
    let (sim, receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.add_user("<b>bold</b>");
    sim.add_org("acme", &["octocat"]);
    let id = sim.install("acme", RepoSelection::All, &[]);
    let other = sim.install("octocat", RepoSelection::All, &[]);

    let (status, html) = page(&sim, "/_sim/ui").await;
    assert_eq!(status, 200);
    for needle in [
        "GitHub (simulated)",
        &format!("data-installation=\"{id}\""),
        &format!("action=\"/_sim/ui/installations/{id}/uninstall\""),
        "name=\"uninstall\"",
        "name=\"suspend\"",
        "name=\"revoke\"",
        "name=\"new_login\"",
        "data-user=\"octocat\"",
        "&lt;b&gt;bold&lt;/b&gt;",
        "installation",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    assert!(!html.contains("<b>bold</b>"), "unescaped login");

    let uninstall = format!("/_sim/ui/installations/{id}/uninstall");
    assert_eq!(post_form(&sim, &uninstall, &[]).await, (303, "/_sim/ui".into()));
    let (status, _, _) = get(&sim, &format!("/app/installations/{id}"), &jwt(&sim)).await;
    assert_eq!(status, 404);
    let suspend = format!("/_sim/ui/installations/{other}/suspend");
    assert_eq!(post_form(&sim, &suspend, &[]).await.0, 303);
    assert_eq!(post_form(&sim, "/_sim/ui/users/octocat/revoke", &[]).await.0, 303);
    let renamed = post_form(&sim, "/_sim/ui/accounts/octocat/rename", &[("new_login", "octo2")]).await;
    assert_eq!(renamed, (303, "/_sim/ui".into()));
    // A refusal comes back as a message on the page.
    let (status, location) = post_form(&sim, "/_sim/ui/installations/99/uninstall", &[]).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/_sim/ui?error="), "{location}");
    let (_, shown) = page(&sim, &location).await;
    assert!(shown.contains("installation 99 not found"), "{shown}");

    assert!(sim.wait_for_deliveries(6, WAIT).await);
    let events: Vec<_> = sim
        .webhook_deliveries()
        .iter()
        .map(|d| (d.event.clone(), d.action.clone().unwrap_or_default(), d.installation_id))
        .collect();
    let s = |e: &str, a: &str, i: Option<u64>| (e.to_owned(), a.to_owned(), i);
    assert_eq!(
        events[2..],
        [
            s("installation", "deleted", Some(id)),
            s("installation", "suspend", Some(other)),
            s("github_app_authorization", "revoked", None),
            s("installation_target", "renamed", Some(other)),
        ]
    );
    assert_eq!(receiver.received()[2].body["installation"]["id"], id);
    let (_, html) = page(&sim, "/_sim/ui").await;
    assert!(html.contains("suspended") && html.contains("octo2") && html.contains("deleted"));
}

#[tokio::test]
async fn authorize_page_links_to_the_admin_page() {
    let sim = sim().await;
    sim.add_user("octocat");
    let path = format!("/login/oauth/authorize?client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb");
    let (status, body) = page(&sim, &path).await;
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/_sim/ui\""));
    assert!(body.contains("data-user=\"octocat\""));
}
