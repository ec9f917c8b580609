//! The Rust API for the browser-facing side of the App: where webhooks go,
//! what was delivered, and the App's callback URL for the install flow. Kept
//! apart from `lib.rs` so that file stays about world building, clocks and
//! faults.

use std::time::Duration;

use crate::webhooks::{Delivery, HeldWebhook};
use crate::GitHubSim;

impl GitHubSim {
    /// From now on, every change GitHub reports to an App (installing,
    /// suspending, unsuspending, uninstalling, changing permissions or
    /// repositories, renaming an installed account, a user revoking the
    /// app's authorization) POSTs GitHub's webhook to `url`, signed with
    /// `secret` in `X-Hub-Signature-256`. Deliveries are sent one at a time
    /// by a background task, in order, with a 5 s timeout, and never retried.
    /// Panics if `url` is not an absolute http(s) URL.
    pub fn send_webhooks_to(&self, url: &str, secret: &str) {
        let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        assert!(ok, "github-sim: webhook URL {url:?} is not an absolute http(s) URL");
        self.shared.lock().hooks.set_target(url, secret);
    }

    /// From now on every change GitHub reports to the App is kept, with its
    /// delivery id and payload, instead of sent: a test then delivers them
    /// itself, in any order, late or twice ([`GitHubSim::take_held_webhooks`]).
    /// Held deliveries are not in [`GitHubSim::webhook_deliveries`].
    pub fn hold_webhooks(&self) {
        self.shared.lock().hooks.hold();
    }

    /// The deliveries held since the last call, in the order of the changes.
    pub fn take_held_webhooks(&self) -> Vec<HeldWebhook> {
        self.shared.lock().hooks.take_held()
    }

    /// The next `fail` deliveries (redeliveries included) fail as if the
    /// receiver were down: logged as failed, never sent, so GitHub's
    /// redelivery API offers them. The `drop` after them are lost outright
    /// (neither sent nor logged), as a change the receiver never hears of.
    pub fn fault_webhooks(&self, fail: usize, drop: usize) {
        self.shared.lock().hooks.fault_next(fail, drop);
    }

    /// Every webhook delivery so far, in the order the changes happened.
    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        let log = self.shared.lock().hooks.log.clone();
        log.records().into_iter().map(|r| r.delivery).collect()
    }

    /// Waits until at least `count` deliveries have a final outcome (an
    /// answer from the receiver, or a failure to send); false on timeout.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> bool {
        // Cloned out so the state is not locked while waiting.
        let log = self.shared.lock().hooks.log.clone();
        log.wait_for(count, timeout).await
    }

    /// The App's "Callback URL". With it set, the install page
    /// (`/apps/{slug}/installations/new`) installs and then, as GitHub does
    /// with "Request user authorization (OAuth) during installation",
    /// redirects to `{url}?code=C&installation_id=ID&setup_action=install|update&state=S`.
    /// Panics if `url` is not an absolute URL.
    pub fn set_callback_url(&self, url: &str) {
        assert!(
            url::Url::parse(url).is_ok(),
            "github-sim: callback URL {url:?} is not an absolute URL"
        );
        self.shared.lock().callback_url = Some(url.to_owned());
    }
}
