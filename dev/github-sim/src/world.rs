//! The simulated world: accounts (users and organisations), repositories and
//! the app's installations, with the operations that build and change it.
//! Every operation returns a [`WorldError`] instead of panicking, so that the
//! Rust API can panic with a clear message and the control API can answer 4xx.

use std::collections::BTreeMap;
use std::fmt;

use crate::git::GitStore;

/// Which repositories an installation can reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoSelection {
    /// Every repository of the account, present and future.
    All,
    /// Only these repositories (names, without the owner) of the account.
    Selected(Vec<String>),
}

/// Why a world operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WorldError {
    /// Something named does not exist (maps to 404).
    NotFound(String),
    /// The request is inconsistent with the world (maps to 422).
    Invalid(String),
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldError::NotFound(m) | WorldError::Invalid(m) => f.write_str(m),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountKind {
    User,
    Organization,
}

impl AccountKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AccountKind::User => "User",
            AccountKind::Organization => "Organization",
        }
    }
}

/// An organisation member's role, as `GET /user/memberships/orgs/{org}`
/// names it: an owner is `admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgRole {
    Admin,
    Member,
}

impl OrgRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub id: u64,
    pub login: String,
    pub kind: AccountKind,
    /// User ids of the active members (organisations only).
    pub members: Vec<u64>,
    /// The active members who are owners (`admin`); a subset of `members`.
    pub admins: Vec<u64>,
    /// Invitations not yet accepted: not members, but GitHub shows their
    /// membership as `pending`.
    pub invited: BTreeMap<u64, OrgRole>,
    pub created_at: i64,
}

impl Account {
    /// The user's membership: (role, `active` or `pending`).
    pub(crate) fn membership(&self, user_id: u64) -> Option<(OrgRole, &'static str)> {
        if self.admins.contains(&user_id) {
            Some((OrgRole::Admin, "active"))
        } else if self.members.contains(&user_id) {
            Some((OrgRole::Member, "active"))
        } else {
            self.invited.get(&user_id).map(|role| (*role, "pending"))
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Repo {
    pub id: u64,
    pub owner_id: u64,
    pub name: String,
    pub private: bool,
    pub description: Option<String>,
    /// Users given access to this repository alone (outside collaborators,
    /// or members given more), by user id: `pull`, `triage`, `push`,
    /// `maintain` or `admin`.
    pub collaborators: BTreeMap<u64, String>,
    pub created_at: i64,
    /// Objects and branches; no refs means "empty" (never pushed to).
    pub git: GitStore,
}

#[derive(Clone, Debug)]
pub(crate) struct Installation {
    pub id: u64,
    pub account_id: u64,
    /// `None` means "all"; otherwise the selected repository ids.
    pub selected: Option<Vec<u64>>,
    pub permissions: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub suspended_at: Option<i64>,
    pub suspended_by: Option<u64>,
}

/// Accounts, repositories and live installations. Uninstalled installations
/// are removed; ids are never reused.
#[derive(Debug)]
pub(crate) struct World {
    pub accounts: BTreeMap<u64, Account>,
    pub repos: BTreeMap<u64, Repo>,
    pub installations: BTreeMap<u64, Installation>,
    next_account_id: u64,
    pub(crate) next_repo_id: u64,
    next_installation_id: u64,
}

impl Default for World {
    fn default() -> Self {
        World {
            accounts: BTreeMap::new(),
            repos: BTreeMap::new(),
            installations: BTreeMap::new(),
            next_account_id: 1000,
            next_repo_id: 100_000,
            next_installation_id: 5000,
        }
    }
}

/// Permission levels in increasing order of power; `None` for unknown words.
pub(crate) fn permission_rank(level: &str) -> Option<u8> {
    match level {
        "read" => Some(1),
        "write" => Some(2),
        "admin" => Some(3),
        _ => None,
    }
}

/// A collaborator's repository permission in increasing order of power.
pub(crate) fn collaborator_rank(permission: &str) -> Option<u8> {
    match permission {
        "pull" => Some(1),
        "triage" => Some(2),
        "push" => Some(3),
        "maintain" => Some(4),
        "admin" => Some(5),
        _ => None,
    }
}

pub(crate) fn not_found(what: &str, name: impl fmt::Display) -> WorldError {
    WorldError::NotFound(format!("{what} {name} not found"))
}

impl World {
    /// Logins compare case-insensitively, as on GitHub.
    pub fn account_by_login(&self, login: &str) -> Option<&Account> {
        self.accounts.values().find(|a| a.login.eq_ignore_ascii_case(login))
    }

    pub(crate) fn account_id(&self, login: &str) -> Result<u64, WorldError> {
        self.account_by_login(login)
            .map(|a| a.id)
            .ok_or_else(|| not_found("account", login))
    }

    pub fn user_id(&self, login: &str) -> Result<u64, WorldError> {
        match self.account_by_login(login) {
            Some(a) if a.kind == AccountKind::User => Ok(a.id),
            Some(_) => Err(WorldError::Invalid(format!("{login} is not a user"))),
            None => Err(not_found("user", login)),
        }
    }

    pub fn repo_by_name(&self, owner_id: u64, name: &str) -> Option<&Repo> {
        self.repos
            .values()
            .find(|r| r.owner_id == owner_id && r.name.eq_ignore_ascii_case(name))
    }

    fn add_account(&mut self, login: &str, kind: AccountKind, members: Vec<u64>, now: i64) -> Result<u64, WorldError> {
        if login.is_empty() {
            return Err(WorldError::Invalid("login must not be empty".into()));
        }
        if self.account_by_login(login).is_some() {
            return Err(WorldError::Invalid(format!("login {login} is taken")));
        }
        let id = self.next_account_id;
        self.next_account_id += 1;
        // The first member created the organisation: its owner, as on GitHub.
        let admins = members.first().copied().into_iter().collect();
        let account = Account {
            id,
            login: login.to_owned(),
            kind,
            members,
            admins,
            invited: BTreeMap::new(),
            created_at: now,
        };
        self.accounts.insert(id, account);
        Ok(id)
    }

    pub fn add_user(&mut self, login: &str, now: i64) -> Result<u64, WorldError> {
        self.add_account(login, AccountKind::User, Vec::new(), now)
    }

    pub fn add_org(&mut self, login: &str, members: &[&str], now: i64) -> Result<u64, WorldError> {
        let ids = members.iter().map(|m| self.user_id(m)).collect::<Result<Vec<_>, _>>()?;
        self.add_account(login, AccountKind::Organization, ids, now)
    }

    fn org_mut(&mut self, org: &str) -> Result<&mut Account, WorldError> {
        let id = self.account_id(org)?;
        let account = self.accounts.get_mut(&id).expect("account id just looked up");
        if account.kind != AccountKind::Organization {
            return Err(WorldError::Invalid(format!("{org} is not an organization")));
        }
        Ok(account)
    }

    pub fn add_org_member(&mut self, org: &str, user: &str) -> Result<(), WorldError> {
        let user_id = self.user_id(user)?;
        let account = self.org_mut(org)?;
        account.invited.remove(&user_id);
        if !account.members.contains(&user_id) {
            account.members.push(user_id);
        }
        Ok(())
    }

    pub fn remove_org_member(&mut self, org: &str, user: &str) -> Result<(), WorldError> {
        let user_id = self.user_id(user)?;
        let account = self.org_mut(org)?;
        account.members.retain(|m| *m != user_id);
        account.admins.retain(|m| *m != user_id);
        account.invited.remove(&user_id);
        Ok(())
    }

    /// Makes an active member an owner (`admin`) or a plain member.
    pub fn set_org_role(&mut self, org: &str, user: &str, role: OrgRole) -> Result<(), WorldError> {
        let user_id = self.user_id(user)?;
        let account = self.org_mut(org)?;
        if !account.members.contains(&user_id) {
            return Err(WorldError::Invalid(format!("{user} is not a member of {org}")));
        }
        account.admins.retain(|m| *m != user_id);
        if role == OrgRole::Admin {
            account.admins.push(user_id);
        }
        Ok(())
    }

    /// Invites a user who is not a member yet: a `pending` membership.
    pub fn invite_org_member(&mut self, org: &str, user: &str, role: OrgRole) -> Result<(), WorldError> {
        let user_id = self.user_id(user)?;
        let account = self.org_mut(org)?;
        if account.members.contains(&user_id) {
            return Err(WorldError::Invalid(format!("{user} is already a member of {org}")));
        }
        account.invited.insert(user_id, role);
        Ok(())
    }

    /// Gives `user` `permission` on one repository (`pull`, `triage`,
    /// `push`, `maintain`, `admin`), or takes it away with `None`.
    pub fn set_collaborator(
        &mut self,
        owner: &str,
        repo: &str,
        user: &str,
        permission: Option<&str>,
    ) -> Result<(), WorldError> {
        let user_id = self.user_id(user)?;
        if permission.is_some_and(|p| collaborator_rank(p).is_none()) {
            return Err(WorldError::Invalid(format!(
                "bad collaborator permission {permission:?}"
            )));
        }
        let owner_id = self.account_id(owner)?;
        let id = self
            .repo_by_name(owner_id, repo)
            .map(|r| r.id)
            .ok_or_else(|| not_found("repository", format!("{owner}/{repo}")))?;
        let collaborators = &mut self
            .repos
            .get_mut(&id)
            .expect("repository id just looked up")
            .collaborators;
        match permission {
            Some(p) => collaborators.insert(user_id, p.to_owned()),
            None => collaborators.remove(&user_id),
        };
        Ok(())
    }

    pub(crate) fn resolve_selection(
        &self,
        account_id: u64,
        selection: &RepoSelection,
    ) -> Result<Option<Vec<u64>>, WorldError> {
        match selection {
            RepoSelection::All => Ok(None),
            RepoSelection::Selected(names) => {
                let mut ids = Vec::new();
                for name in names {
                    let repo = self
                        .repo_by_name(account_id, name)
                        .ok_or_else(|| WorldError::Invalid(format!("repository {name} is not owned by the account")))?;
                    if !ids.contains(&repo.id) {
                        ids.push(repo.id);
                    }
                }
                Ok(Some(ids))
            }
        }
    }

    pub(crate) fn resolve_permissions(perms: &[(&str, &str)]) -> Result<BTreeMap<String, String>, WorldError> {
        let mut map = BTreeMap::new();
        for (name, level) in perms {
            if permission_rank(level).is_none() {
                return Err(WorldError::Invalid(format!("bad permission level {level:?}")));
            }
            map.insert((*name).to_owned(), (*level).to_owned());
        }
        Ok(map)
    }

    pub fn install(
        &mut self,
        account: &str,
        selection: &RepoSelection,
        permissions: &[(&str, &str)],
        now: i64,
    ) -> Result<u64, WorldError> {
        let account_id = self.account_id(account)?;
        if self.installations.values().any(|i| i.account_id == account_id) {
            return Err(WorldError::Invalid(format!(
                "the app is already installed on {account}"
            )));
        }
        let selected = self.resolve_selection(account_id, selection)?;
        let permissions = Self::resolve_permissions(permissions)?;
        let id = self.next_installation_id;
        self.next_installation_id += 1;
        let inst = Installation {
            id,
            account_id,
            selected,
            permissions,
            created_at: now,
            updated_at: now,
            suspended_at: None,
            suspended_by: None,
        };
        self.installations.insert(id, inst);
        Ok(id)
    }

    pub fn rename_account(&mut self, old: &str, new: &str) -> Result<(), WorldError> {
        let id = self.account_id(old)?;
        if new.is_empty() {
            return Err(WorldError::Invalid("login must not be empty".into()));
        }
        if self.account_by_login(new).is_some_and(|a| a.id != id) {
            return Err(WorldError::Invalid(format!("login {new} is taken")));
        }
        if let Some(a) = self.accounts.get_mut(&id) {
            a.login = new.to_owned();
        }
        Ok(())
    }
}
