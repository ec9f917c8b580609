//! Building a tree from a base tree and a list of path changes, as
//! `POST /repos/{o}/{r}/git/trees` does: nested paths create or replace
//! subtrees, a null sha deletes a path, and untouched subtrees keep their ids.

use std::collections::BTreeMap;

use super::{normalize_sha, GitStore, Kind, TreeEntry};

/// One `tree[]` item of the request, after any inline `content` was stored
/// as a blob.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub path: String,
    pub mode: String,
    pub kind: Kind,
    /// `None` deletes the path (the API's `"sha": null`).
    pub sha: Option<String>,
}

/// A directory being rebuilt: untouched entries stay as they are, touched
/// subdirectories are expanded so they can be rewritten.
enum Node {
    Entry(TreeEntry),
    Dir(Dir),
}

type Dir = BTreeMap<String, Node>;

fn split_path(path: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = path.split('/').collect();
    let bad = |p: &&str| p.is_empty() || *p == "." || *p == ".." || p.eq_ignore_ascii_case(".git");
    if parts.iter().any(bad) {
        return Err("tree.path contains a malformed path component".to_owned());
    }
    Ok(parts)
}

impl GitStore {
    /// Applies `changes` in order on top of the tree `base` and stores every
    /// tree that changed; returns the root tree's sha. The error is the
    /// message of GitHub's 422.
    pub fn build_tree(&mut self, base: Option<&str>, changes: &[Change]) -> Result<String, String> {
        let mut root = match base {
            Some(sha) => self
                .load(sha)
                .ok_or_else(|| "base_tree is not a valid tree oid".to_owned())?,
            None => Dir::new(),
        };
        for change in changes {
            self.check(change)?;
            let parts = split_path(&change.path)?;
            self.apply(&mut root, &parts, change);
        }
        Ok(self.write(root, true).unwrap_or_default())
    }

    fn load(&self, sha: &str) -> Option<Dir> {
        let entries = self.tree(sha)?;
        Some(
            entries
                .iter()
                .map(|e| (e.name.clone(), Node::Entry(e.clone())))
                .collect(),
        )
    }

    fn check(&self, c: &Change) -> Result<(), String> {
        let kind_of_mode = match c.mode.as_str() {
            "100644" | "100755" | "120000" => Kind::Blob,
            "040000" => Kind::Tree,
            "160000" => Kind::Commit,
            other => return Err(format!("tree.mode {other:?} is not a valid mode")),
        };
        if c.kind != kind_of_mode {
            return Err(format!(
                "tree.type {} does not match tree.mode {}",
                c.kind.as_str(),
                c.mode
            ));
        }
        let Some(sha) = &c.sha else { return Ok(()) };
        match c.kind {
            Kind::Blob if self.blob(sha).is_none() => Err(format!("tree.sha {sha} is not a valid blob")),
            Kind::Tree if self.tree(sha).is_none() => Err(format!("tree.sha {sha} is not a valid tree")),
            // A submodule points into another repository: any well-formed sha.
            Kind::Commit if normalize_sha(sha).is_none() => Err(format!("tree.sha {sha} is not a valid sha")),
            _ => Ok(()),
        }
    }

    fn apply(&self, dir: &mut Dir, parts: &[&str], c: &Change) {
        let Some((first, rest)) = parts.split_first() else {
            return;
        };
        let name = (*first).to_owned();
        if rest.is_empty() {
            match c.sha.as_deref().and_then(normalize_sha) {
                None => {
                    dir.remove(&name);
                }
                Some(sha) => {
                    let entry = TreeEntry {
                        name: name.clone(),
                        mode: c.mode.clone(),
                        kind: c.kind,
                        sha,
                    };
                    dir.insert(name, Node::Entry(entry));
                }
            }
            return;
        }
        let mut sub = match dir.remove(&name) {
            Some(Node::Dir(d)) => d,
            Some(Node::Entry(e)) if e.kind == Kind::Tree => self.load(&e.sha).unwrap_or_default(),
            // Deleting below a path that is not a directory changes nothing.
            other if c.sha.is_none() => {
                if let Some(node) = other {
                    dir.insert(name, node);
                }
                return;
            }
            // Absent, or a file that a directory now replaces.
            _ => Dir::new(),
        };
        self.apply(&mut sub, rest, c);
        dir.insert(name, Node::Dir(sub));
    }

    /// Stores the directory's tree bottom-up; empty subdirectories vanish,
    /// as git cannot record them (only the root may be empty).
    fn write(&mut self, dir: Dir, root: bool) -> Option<String> {
        let mut entries = Vec::new();
        for (name, node) in dir {
            match node {
                Node::Entry(e) => entries.push(e),
                Node::Dir(d) => {
                    if let Some(sha) = self.write(d, false) {
                        let mode = "040000".to_owned();
                        entries.push(TreeEntry {
                            name,
                            mode,
                            kind: Kind::Tree,
                            sha,
                        });
                    }
                }
            }
        }
        (root || !entries.is_empty()).then(|| self.put_tree(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Commit, Signature};
    use super::*;

    fn file(g: &mut GitStore, path: &str, content: &str) -> Change {
        let sha = g.put_blob(content.as_bytes().to_vec());
        Change {
            path: path.into(),
            mode: "100644".into(),
            kind: Kind::Blob,
            sha: Some(sha),
        }
    }

    #[test]
    fn nested_tree_and_commit_match_git() {
        // Ids from `git write-tree` and `git commit-tree -m init` with
        // author and committer `bot <bot@x> 1700000000 +0000`.
        let mut g = GitStore::default();
        let changes = [
            file(&mut g, "hello.txt", "hello\n"),
            file(&mut g, "a/b/c.txt", "x"),
            file(&mut g, "a.txt", "y"),
        ];
        let tree = g.build_tree(None, &changes).unwrap();
        assert_eq!(tree, "55b32c8262876b46e7a1b014b364665b0e0411b4");
        let bot = Signature {
            name: "bot".into(),
            email: "bot@x".into(),
            date: 1_700_000_000,
        };
        let commit = g.put_commit(Commit {
            tree: tree.clone(),
            parents: Vec::new(),
            author: bot.clone(),
            committer: bot,
            message: "init\n".into(),
        });
        assert_eq!(commit, "23dee8dbb66b4af79ff03902ed7075483a1b126b");
        assert_eq!(g.file_at(&commit, "a/b/c.txt"), Some(&b"x"[..]));
        assert_eq!(g.file_at(&commit, "a/b"), None);

        // Same changes in another order give the same tree; a deletion on a
        // base tree gives back the tree without the file.
        let again = [changes[2].clone(), changes[0].clone(), changes[1].clone()];
        assert_eq!(g.build_tree(None, &again).unwrap(), tree);
        let delete = Change {
            sha: None,
            ..changes[1].clone()
        };
        let without = g.build_tree(Some(&tree), &[delete]).unwrap();
        let expected = g.build_tree(None, &[changes[0].clone(), changes[2].clone()]).unwrap();
        assert_eq!(without, expected);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut g = GitStore::default();
        let ok = file(&mut g, "x", "1");
        let unknown = "0".repeat(40);
        assert!(g.build_tree(Some(&unknown), &[]).unwrap_err().contains("base_tree"));
        let missing_blob = Change {
            sha: Some(unknown),
            ..ok.clone()
        };
        assert!(g
            .build_tree(None, &[missing_blob])
            .unwrap_err()
            .contains("not a valid blob"));
        for path in ["", "a//b", "/a", "a/", "../a", ".git/config"] {
            let bad = Change {
                path: path.into(),
                ..ok.clone()
            };
            assert!(g.build_tree(None, &[bad]).is_err(), "{path}");
        }
    }
}
