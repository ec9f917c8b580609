//! The changes GitHub reports to an App by webhook, as operations on the
//! state: each changes the world (or the credentials) and then, if a webhook
//! target is set, queues the webhook GitHub would send, in GitHub's payload
//! shapes. The Rust API, the `/_sim/` control API, the admin page and the
//! install flow all go through these, so every path reports alike.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::shapes;
use crate::state::State;
use crate::world::{not_found, AccountKind, Installation, RepoSelection, WorldError};

impl State {
    /// The `sender` when nobody in particular acted (the Rust API, the admin
    /// page): a user account itself, an organisation's first member (as
    /// `suspended_by` does), or the organisation when it has none.
    pub(crate) fn default_actor(&self, account_id: u64) -> u64 {
        match self.world.accounts.get(&account_id) {
            Some(a) if a.kind == AccountKind::Organization => a.members.first().copied().unwrap_or(a.id),
            _ => account_id,
        }
    }

    pub(crate) fn account_json(&self, id: u64) -> Value {
        self.world
            .accounts
            .get(&id)
            .map(|a| shapes::simple_user(a, &self.hooks.api_base))
            .unwrap_or(Value::Null)
    }

    fn repos_json(&self, ids: impl IntoIterator<Item = u64>) -> Vec<Value> {
        ids.into_iter()
            .filter_map(|id| self.world.repos.get(&id))
            .map(|r| shapes::mini_repo(r, &self.world))
            .collect()
    }

    /// An `installation` event payload; `repositories` only for the actions
    /// whose GitHub payloads carry it.
    fn installation_payload(&self, action: &str, inst: &Installation, sender: u64, with_repos: bool) -> Value {
        let mut payload = json!({
            "action": action,
            "installation": shapes::installation(inst, &self.world, &self.hooks.config, &self.hooks.api_base),
            "sender": self.account_json(sender),
            "requester": null,
        });
        if with_repos {
            let ids = self
                .world
                .installation_repos(inst)
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>();
            payload["repositories"] = Value::Array(self.repos_json(ids));
        }
        payload
    }

    fn emit_installation(&self, action: &str, id: u64, sender: Option<u64>, with_repos: bool) {
        if !self.hooks.enabled() {
            return;
        }
        if let Some(inst) = self.world.installations.get(&id) {
            let sender = sender.unwrap_or_else(|| self.default_actor(inst.account_id));
            let payload = self.installation_payload(action, inst, sender, with_repos);
            self.hooks.emit("installation", &payload, self.now());
        }
    }

    /// Installs the app (`installation` `created`); `sender` is the
    /// installing user, if one is known.
    pub fn install_app(
        &mut self,
        account: &str,
        selection: &RepoSelection,
        permissions: &[(&str, &str)],
        sender: Option<u64>,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let id = self.world.install(account, selection, permissions, now)?;
        self.emit_installation("created", id, sender, true);
        Ok(id)
    }

    /// `installation` `suspend`, only when it was not suspended already.
    pub fn suspend_installation(&mut self, id: u64) -> Result<(), WorldError> {
        let now = self.now();
        let was_suspended = self.world.installation_mut(id)?.suspended_at.is_some();
        self.world.suspend(id, now)?;
        if !was_suspended {
            let by = self.world.installations.get(&id).and_then(|i| i.suspended_by);
            self.emit_installation("suspend", id, by, false);
        }
        Ok(())
    }

    /// `installation` `unsuspend`, only when it was suspended.
    pub fn unsuspend_installation(&mut self, id: u64) -> Result<(), WorldError> {
        let now = self.now();
        let was_suspended = self.world.installation_mut(id)?.suspended_at.is_some();
        self.world.unsuspend(id, now)?;
        if was_suspended {
            self.emit_installation("unsuspend", id, None, false);
        }
        Ok(())
    }

    /// `installation` `deleted`, built while the installation still exists.
    pub fn uninstall(&mut self, id: u64) -> Result<(), WorldError> {
        let inst = self
            .world
            .installations
            .get(&id)
            .ok_or_else(|| not_found("installation", id))?;
        let payload = self
            .hooks
            .enabled()
            .then(|| self.installation_payload("deleted", inst, self.default_actor(inst.account_id), true));
        self.world.uninstall(id)?;
        if let Some(payload) = payload {
            self.hooks.emit("installation", &payload, self.now());
        }
        Ok(())
    }

    /// `installation` `new_permissions_accepted`: on GitHub the account
    /// accepts the app's new permissions; here they simply change.
    pub fn set_installation_permissions(&mut self, id: u64, permissions: &[(&str, &str)]) -> Result<(), WorldError> {
        let now = self.now();
        self.world.set_permissions(id, permissions, now)?;
        self.emit_installation("new_permissions_accepted", id, None, true);
        Ok(())
    }

    /// The repositories the installation reaches, and whether it is "selected".
    fn reach(&self, id: u64) -> Result<(BTreeSet<u64>, bool), WorldError> {
        let inst = self
            .world
            .installations
            .get(&id)
            .ok_or_else(|| not_found("installation", id))?;
        let ids = self.world.installation_repos(inst).iter().map(|r| r.id).collect();
        Ok((ids, inst.selected.is_some()))
    }

    /// `installation_repositories` `added` and/or `removed` (one event each,
    /// for the repositories that really came or went); `sender` is the
    /// acting user, if one is known.
    pub fn set_installation_repositories(
        &mut self,
        id: u64,
        selection: &RepoSelection,
        sender: Option<u64>,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let (before, was_selected) = self.reach(id)?;
        self.world.set_selection(id, selection, now)?;
        let (after, is_selected) = self.reach(id)?;
        if !self.hooks.enabled() {
            return Ok(());
        }
        let added: Vec<u64> = after.difference(&before).copied().collect();
        let removed: Vec<u64> = before.difference(&after).copied().collect();
        let mut events = Vec::new();
        if !added.is_empty() {
            events.push(("added", added, Vec::new()));
        }
        if !removed.is_empty() {
            events.push(("removed", Vec::new(), removed));
        }
        if events.is_empty() && was_selected != is_selected {
            // Only the mode changed (every repository was selected, now
            // "all", or the reverse): the App still needs the new mode.
            events.push((if is_selected { "removed" } else { "added" }, Vec::new(), Vec::new()));
        }
        let inst = &self.world.installations[&id];
        let sender = sender.unwrap_or_else(|| self.default_actor(inst.account_id));
        for (action, added, removed) in events {
            let mut payload = self.installation_payload(action, inst, sender, false);
            payload["repository_selection"] = json!(if is_selected { "selected" } else { "all" });
            payload["repositories_added"] = Value::Array(self.repos_json(added));
            payload["repositories_removed"] = Value::Array(self.repos_json(removed));
            self.hooks.emit("installation_repositories", &payload, self.now());
        }
        Ok(())
    }

    /// Renames an account: `installation_target` `renamed` for each of the
    /// app's installations on it (there is at most one).
    pub fn rename_account(&mut self, old: &str, new: &str) -> Result<(), WorldError> {
        let account_id = self.world.account_id(old)?;
        let old_login = self.world.accounts[&account_id].login.clone();
        self.world.rename_account(old, new)?;
        if !self.hooks.enabled() || old_login == new {
            return Ok(());
        }
        let account = &self.world.accounts[&account_id];
        let base = &self.hooks.api_base;
        let account_json = match account.kind {
            AccountKind::Organization => shapes::organization(account, base),
            AccountKind::User => shapes::simple_user(account, base),
        };
        let sender = self.account_json(self.default_actor(account_id));
        for inst in self.world.installations.values().filter(|i| i.account_id == account_id) {
            let payload = json!({
                "action": "renamed",
                "account": account_json,
                "changes": {"login": {"from": old_login}},
                "installation": {
                    "id": inst.id,
                    "node_id": shapes::node_id("IntegrationInstallation", inst.id),
                },
                "target_type": account.kind.as_str(),
                "sender": sender,
            });
            self.hooks.emit("installation_target", &payload, self.now());
        }
        Ok(())
    }

    /// The user revokes the app's authorization: their tokens and codes die,
    /// and `github_app_authorization` `revoked` names them as `sender`.
    pub fn revoke_authorization(&mut self, login: &str) -> Result<(), WorldError> {
        let user_id = self.world.user_id(login)?;
        self.creds.revoke_user(user_id);
        if self.hooks.enabled() {
            let payload = json!({"action": "revoked", "sender": self.account_json(user_id)});
            self.hooks.emit("github_app_authorization", &payload, self.now());
        }
        Ok(())
    }
}
