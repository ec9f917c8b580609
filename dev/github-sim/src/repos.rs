//! Repositories in the world: creation under GitHub's naming rules (shared by
//! the Rust API and `POST /orgs/{org}/repos` / `POST /user/repos`), the
//! auto-init commit with a README, and commits pushed "by someone else" so
//! tests can move a branch under a client's feet.

use std::collections::BTreeMap;

use crate::git::{Change, Commit, GitStore, Kind, Signature};
use crate::world::{not_found, Account, Repo, World, WorldError};

/// Who `push_commit` commits as: not the app, not the test's user.
const SOMEONE_ELSE: (&str, &str) = ("Someone Else", "someone-else@users.noreply.github.com");

/// Why a repository could not be created; both are 422s on GitHub, with an
/// `errors` entry on the `name` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CreateRepoError {
    /// The `errors[].message` for a name GitHub refuses.
    BadName(&'static str),
    Taken,
}

impl CreateRepoError {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            CreateRepoError::BadName(m) => m,
            CreateRepoError::Taken => "name already exists on this account",
        }
    }
}

pub(crate) struct NewRepo {
    pub owner_id: u64,
    pub name: String,
    pub private: bool,
    pub description: Option<String>,
    /// `Some(author)` makes the initial commit with a README (`auto_init`).
    pub init_author: Option<Signature>,
}

/// GitHub's objection to a repository name, if any.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("name can't be blank")
    } else if name.len() > 100 {
        Some("name is too long (maximum is 100 characters)")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        Some("name may only contain letters, digits, '.', '-' and '_'")
    } else if name == "." || name == ".." {
        Some("name is reserved")
    } else {
        None
    }
}

/// How GitHub signs commits made on a user's behalf: the noreply address.
pub(crate) fn account_signature(account: &Account, now: i64) -> Signature {
    Signature {
        name: account.login.clone(),
        email: format!("{}+{}@users.noreply.github.com", account.id, account.login),
        date: now,
    }
}

impl GitStore {
    /// Commits `files` (path, UTF-8 content) on top of `branch` (a root
    /// commit if the branch does not exist) and moves the branch there.
    pub(crate) fn commit_files(
        &mut self,
        branch: &str,
        message: &str,
        files: &[(&str, &str)],
        author: Signature,
    ) -> Result<String, String> {
        let parent = self.branch(branch).map(str::to_owned);
        let base_tree = parent.as_deref().and_then(|p| self.commit(p)).map(|c| c.tree.clone());
        let mut changes = Vec::new();
        for (path, content) in files {
            let sha = self.put_blob(content.as_bytes().to_vec());
            changes.push(Change {
                path: (*path).to_owned(),
                mode: "100644".to_owned(),
                kind: Kind::Blob,
                sha: Some(sha),
            });
        }
        let tree = self.build_tree(base_tree.as_deref(), &changes)?;
        let sha = self.put_commit(Commit {
            tree,
            parents: parent.into_iter().collect(),
            committer: author.clone(),
            author,
            message: message.to_owned(),
        });
        self.refs.insert(format!("refs/heads/{branch}"), sha.clone());
        Ok(sha)
    }
}

impl World {
    pub fn create_repo(&mut self, new: NewRepo, now: i64) -> Result<u64, CreateRepoError> {
        if let Some(problem) = name_problem(&new.name) {
            return Err(CreateRepoError::BadName(problem));
        }
        if self.repo_by_name(new.owner_id, &new.name).is_some() {
            return Err(CreateRepoError::Taken);
        }
        let id = self.next_repo_id;
        self.next_repo_id += 1;
        let mut repo = Repo {
            id,
            owner_id: new.owner_id,
            name: new.name,
            private: new.private,
            description: new.description,
            collaborators: BTreeMap::new(),
            created_at: now,
            git: GitStore::default(),
        };
        if let Some(author) = new.init_author {
            // GitHub's auto-init README: the name as a heading, then the description.
            let mut readme = format!("# {}\n", repo.name);
            if let Some(d) = repo.description.as_deref().filter(|d| !d.is_empty()) {
                readme.push_str(d);
                readme.push('\n');
            }
            let files = [("README.md", readme.as_str())];
            let init = repo.git.commit_files("main", "Initial commit", &files, author);
            init.expect("a README at the root is a valid tree");
        }
        self.repos.insert(id, repo);
        Ok(id)
    }

    /// The Rust API's repository: initialised with a README on `main`, so
    /// tests can commit on it straight away.
    pub fn add_repo(&mut self, owner: &str, name: &str, private: bool, now: i64) -> Result<u64, WorldError> {
        let owner_id = self.account_id(owner)?;
        let author = account_signature(&self.accounts[&owner_id], now);
        let new = NewRepo {
            owner_id,
            name: name.to_owned(),
            private,
            description: None,
            init_author: Some(author),
        };
        self.create_repo(new, now).map_err(|e| match e {
            CreateRepoError::Taken => WorldError::Invalid(format!("repository {owner}/{name} exists")),
            CreateRepoError::BadName(m) => WorldError::Invalid(format!("bad repository name {name:?}: {m}")),
        })
    }

    /// The repository `owner/name` (both case-insensitive).
    pub fn repo_at(&self, owner: &str, name: &str) -> Option<&Repo> {
        let owner = self.account_by_login(owner)?;
        self.repo_by_name(owner.id, name)
    }

    pub fn repo_at_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        let id = self.repo_at(owner, name)?.id;
        self.repos.get_mut(&id)
    }

    /// Like [`World::repo_at`], for the Rust API: a missing repository is an error.
    pub fn existing_repo(&self, owner: &str, name: &str) -> Result<&Repo, WorldError> {
        self.repo_at(owner, name)
            .ok_or_else(|| not_found("repository", format!("{owner}/{name}")))
    }

    /// A commit on `branch` by someone other than the app, as if pushed with git.
    pub fn push(
        &mut self,
        owner: &str,
        name: &str,
        branch: &str,
        message: &str,
        files: &[(&str, &str)],
        now: i64,
    ) -> Result<String, WorldError> {
        let repo = self
            .repo_at_mut(owner, name)
            .ok_or_else(|| not_found("repository", format!("{owner}/{name}")))?;
        let author = Signature {
            name: SOMEONE_ELSE.0.to_owned(),
            email: SOMEONE_ELSE.1.to_owned(),
            date: now,
        };
        repo.git
            .commit_files(branch, message, files, author)
            .map_err(WorldError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_problem("ok.name_-1"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem(&"a".repeat(101)).is_some());
        assert!(name_problem(&"a".repeat(100)).is_none());
        for bad in ["a b", "a/b", "é", "..", "."] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }
}
