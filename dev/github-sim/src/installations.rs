//! Operations on the app's existing installations: lookup, suspension,
//! uninstalling, changing permissions or repository selection, and which
//! users and repositories an installation reaches.

use crate::world::{not_found, AccountKind, Installation, Repo, RepoSelection, World, WorldError};

impl World {
    pub fn installation_mut(&mut self, id: u64) -> Result<&mut Installation, WorldError> {
        self.installations
            .get_mut(&id)
            .ok_or_else(|| not_found("installation", id))
    }

    pub fn suspend(&mut self, id: u64, now: i64) -> Result<(), WorldError> {
        let account_id = self.installation_mut(id)?.account_id;
        // GitHub records who suspended it: the user themself, or an org member.
        let by = self.accounts.get(&account_id).and_then(|a| match a.kind {
            AccountKind::User => Some(a.id),
            AccountKind::Organization => a.members.first().copied(),
        });
        let inst = self.installation_mut(id)?;
        if inst.suspended_at.is_none() {
            inst.suspended_at = Some(now);
            inst.suspended_by = by;
            inst.updated_at = now;
        }
        Ok(())
    }

    pub fn unsuspend(&mut self, id: u64, now: i64) -> Result<(), WorldError> {
        let inst = self.installation_mut(id)?;
        inst.suspended_at = None;
        inst.suspended_by = None;
        inst.updated_at = now;
        Ok(())
    }

    pub fn uninstall(&mut self, id: u64) -> Result<(), WorldError> {
        self.installations
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| not_found("installation", id))
    }

    pub fn set_permissions(&mut self, id: u64, permissions: &[(&str, &str)], now: i64) -> Result<(), WorldError> {
        let permissions = Self::resolve_permissions(permissions)?;
        let inst = self.installation_mut(id)?;
        inst.permissions = permissions;
        inst.updated_at = now;
        Ok(())
    }

    pub fn set_selection(&mut self, id: u64, selection: &RepoSelection, now: i64) -> Result<(), WorldError> {
        let account_id = self.installation_mut(id)?.account_id;
        let selected = self.resolve_selection(account_id, selection)?;
        let inst = self.installation_mut(id)?;
        inst.selected = selected;
        inst.updated_at = now;
        Ok(())
    }

    /// Whether `user_id` can see installation `inst` in `GET /user/installations`:
    /// GitHub lists it to anyone with explicit access to one of its
    /// repositories, so not only the account's owner and members but an
    /// outside collaborator on a single repository too.
    pub fn user_reaches(&self, user_id: u64, inst: &Installation) -> bool {
        inst.account_id == user_id
            || self
                .accounts
                .get(&inst.account_id)
                .is_some_and(|a| a.members.contains(&user_id))
            || self
                .installation_repos(inst)
                .iter()
                .any(|r| r.collaborators.contains_key(&user_id))
    }

    /// Repositories an installation can reach, by id ascending.
    pub fn installation_repos(&self, inst: &Installation) -> Vec<&Repo> {
        self.repos
            .values()
            .filter(|r| r.owner_id == inst.account_id)
            .filter(|r| inst.selected.as_ref().is_none_or(|s| s.contains(&r.id)))
            .collect()
    }
}
