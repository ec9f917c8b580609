//! The walk through the page in headless Chromium, a screenshot per step.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::{free_port, start_broker, Process};

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
    // Chromium's first start on a busy machine (the whole suite beside it)
    // can take many seconds: a session is asked for until it is given.
    let mut last = String::from("no attempt");
    for _ in 0..150 {
        // chromedriver is on loopback: plain HTTP, no TLS stack.
        let connected = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await;
        match connected {
            Ok(client) => return client,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not accept a session in 30 s: {last}");
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
    /// the find and the click, as a person would. Chrome says so in two
    /// ways: a stale element, or (when the re-render lands inside the
    /// click) a node that "does not belong to the document".
    async fn click(&self, css: &str) {
        let mut attempt = 0;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if attempt < 5 && detached(&e.to_string()) => attempt += 1,
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

/// Whether a WebDriver error says the element left the page (re-rendered).
fn detached(error: &str) -> bool {
    error.contains("stale element") || error.contains("does not belong to the document")
}
