//! Repository events an App receives beside installation events: a `push`
//! and a `pull_request` `opened` on one of an installation's repositories,
//! sent on command (the admin page, the control API) so that a platform
//! engineer can watch the broker forward what their services would get.
//! Shapes follow GitHub's webhook payloads (`@octokit/webhooks-examples`):
//! the repository in its full shape, `sender`, and `installation` as an
//! App's deliveries carry it, `{id, node_id}`.

use serde_json::{json, Value};

use crate::clock::iso8601;
use crate::shapes;
use crate::state::State;
use crate::world::{not_found, Repo, WorldError};

fn sha() -> String {
    hex::encode(rand::random::<[u8; 20]>())
}

impl State {
    /// The installation's first repository (by id), and who acts there.
    fn acting_on(&self, installation: u64) -> Result<(&Repo, u64), WorldError> {
        let inst = self
            .world
            .installations
            .get(&installation)
            .ok_or_else(|| not_found("installation", installation))?;
        let repo = self
            .world
            .installation_repos(inst)
            .into_iter()
            .min_by_key(|r| r.id)
            .ok_or_else(|| WorldError::NotFound(format!("installation {installation} reaches no repository")))?;
        Ok((repo, self.default_actor(inst.account_id)))
    }

    fn repo_event_base(&self, installation: u64, repo: &Repo, sender: u64) -> Value {
        json!({
            "repository": shapes::repo(repo, &self.world, &self.hooks.api_base),
            "sender": self.account_json(sender),
            "installation": {"id": installation, "node_id": shapes::node_id("Installation", installation)},
        })
    }

    /// A `push` of one commit to the default branch of the installation's
    /// first repository.
    pub fn send_push(&self, installation: u64) -> Result<(), WorldError> {
        let (repo, sender) = self.acting_on(installation)?;
        let mut payload = self.repo_event_base(installation, repo, sender);
        let full_name = payload["repository"]["full_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (before, after) = (sha(), sha());
        let login = payload["sender"]["login"].clone();
        let person = json!({"name": login, "email": format!("{}@users.noreply.github.com", login.as_str().unwrap_or("ghost")), "username": login});
        let commit = json!({
            "id": after,
            "tree_id": sha(),
            "distinct": true,
            "message": "Update README.md",
            "timestamp": iso8601(self.now()),
            "url": format!("https://github.com/{full_name}/commit/{after}"),
            "author": person,
            "committer": person,
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        });
        let extra = json!({
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "created": false,
            "deleted": false,
            "forced": false,
            "base_ref": null,
            "compare": format!("https://github.com/{full_name}/compare/{}...{}", &before[..12], &after[..12]),
            "commits": [commit],
            "head_commit": commit,
            "pusher": {"name": login, "email": person["email"]},
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            payload[k] = v.clone();
        }
        self.hooks.emit("push", &payload, self.now());
        Ok(())
    }

    /// A `pull_request` `opened` on the installation's first repository.
    pub fn send_pull_request(&self, installation: u64) -> Result<(), WorldError> {
        let (repo, sender) = self.acting_on(installation)?;
        let mut payload = self.repo_event_base(installation, repo, sender);
        let number = (self.now() % 10_000) as u64 + 1;
        let full_name = payload["repository"]["full_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let api = format!("{}/repos/{full_name}", self.hooks.api_base);
        let (repository, sender_json) = (payload["repository"].clone(), payload["sender"].clone());
        let side = |branch: &str| {
            json!({
                "label": format!("{}:{branch}", full_name.split('/').next().unwrap_or_default()),
                "ref": branch,
                "sha": sha(),
                "user": repository["owner"],
                "repo": repository,
            })
        };
        let id = rand::random::<u32>() as u64;
        let now = iso8601(self.now());
        payload["action"] = "opened".into();
        payload["number"] = number.into();
        payload["pull_request"] = json!({
            "url": format!("{api}/pulls/{number}"),
            "id": id,
            "node_id": shapes::node_id("PullRequest", id),
            "html_url": format!("https://github.com/{full_name}/pull/{number}"),
            "number": number,
            "state": "open",
            "locked": false,
            "title": "Update the README",
            "user": sender_json,
            "body": "Opened from the simulated GitHub's admin page.",
            "created_at": now,
            "updated_at": now,
            "closed_at": null,
            "merged_at": null,
            "draft": false,
            "head": side("update-readme"),
            "base": side("main"),
            "merged": false,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        });
        self.hooks.emit("pull_request", &payload, self.now());
        Ok(())
    }
}
