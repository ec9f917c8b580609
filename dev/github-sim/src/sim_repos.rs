//! The Rust API for repository contents: what the code under test committed
//! (branch heads, files, history) and commits by "someone else" that move a
//! branch under its feet, for race tests. Kept apart from `lib.rs` so that
//! file stays about world building, clocks and faults.

use crate::GitHubSim;

impl GitHubSim {
    /// Whether `owner/repo` exists (case-insensitive, like GitHub).
    pub fn repo_exists(&self, owner: &str, repo: &str) -> bool {
        self.shared.lock().world.repo_at(owner, repo).is_some()
    }

    /// The sha of the commit `branch` points at; `None` if there is no such
    /// branch. Panics if the repository does not exist.
    pub fn branch_head(&self, owner: &str, repo: &str, branch: &str) -> Option<String> {
        self.with(|st| {
            let r = st.world.existing_repo(owner, repo)?;
            Ok(r.git.branch(branch).map(str::to_owned))
        })
    }

    /// Every branch of `owner/repo` and the commit it points at, by name.
    /// Panics if the repository does not exist.
    pub fn branches(&self, owner: &str, repo: &str) -> std::collections::BTreeMap<String, String> {
        self.with(|st| {
            let r = st.world.existing_repo(owner, repo)?;
            Ok(r.git
                .refs
                .iter()
                .filter_map(|(name, sha)| Some((name.strip_prefix("refs/heads/")?.to_owned(), sha.clone())))
                .collect())
        })
    }

    /// The file at `path` (e.g. `a/b/c.txt`) in the head commit of `branch`,
    /// decoded as UTF-8 (lossily); `None` if the branch or the file does not
    /// exist. Panics if the repository does not exist.
    pub fn file_at(&self, owner: &str, repo: &str, branch: &str, path: &str) -> Option<String> {
        self.with(|st| {
            let git = &st.world.existing_repo(owner, repo)?.git;
            let content = git.branch(branch).and_then(|head| git.file_at(head, path));
            Ok(content.map(|c| String::from_utf8_lossy(c).into_owned()))
        })
    }

    /// Commit messages from the head of `branch` back to the root, following
    /// first parents; empty if there is no such branch. Panics if the
    /// repository does not exist.
    pub fn commit_log(&self, owner: &str, repo: &str, branch: &str) -> Vec<String> {
        self.with(|st| {
            let git = &st.world.existing_repo(owner, repo)?.git;
            let log = git.branch(branch).map(|head| git.first_parent_log(head));
            Ok(log.unwrap_or_default().into_iter().map(|c| c.message.clone()).collect())
        })
    }

    /// Commits `files` (path, content; nested paths allowed) on top of
    /// `branch` and moves the branch there, as if someone else had pushed;
    /// creates the branch with a root commit if it does not exist. Returns the
    /// new commit's sha. Not counted in [`crate::Counter::Commits`].
    pub fn push_commit(&self, owner: &str, repo: &str, branch: &str, message: &str, files: &[(&str, &str)]) -> String {
        self.now_and(|w, now| w.push(owner, repo, branch, message, files, now))
    }
}
