//! A repository's in-memory git object database: blobs, trees and commits
//! hashed exactly as git hashes them (SHA-1 over `"{type} {len}\0{body}"`),
//! and its refs. Real hashes matter: clients may compare the shas they get
//! back with ones computed locally, and equal content must give equal ids.

mod tree;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use sha1::{Digest, Sha1};

pub(crate) use tree::Change;

/// The empty tree's well-known id, to check the hashing against git's.
#[cfg(test)]
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Blob,
    Tree,
    Commit,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Blob => "blob",
            Kind::Tree => "tree",
            Kind::Commit => "commit",
        }
    }
}

/// One entry of a tree. `mode` is spelled as the REST API spells it
/// (`040000` for subtrees); the object encoding drops the leading zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    pub name: String,
    pub mode: String,
    pub kind: Kind,
    pub sha: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signature {
    pub name: String,
    pub email: String,
    /// Unix seconds; always rendered in UTC (`+0000`).
    pub date: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub author: Signature,
    pub committer: Signature,
    pub message: String,
}

#[derive(Clone, Debug)]
pub(crate) enum Object {
    Blob(Vec<u8>),
    Tree(Vec<TreeEntry>),
    Commit(Commit),
}

/// Objects by sha and refs by full name (`refs/heads/main` → commit sha).
/// A repository without refs is "empty", as GitHub calls a repository
/// nobody has pushed to.
#[derive(Clone, Debug, Default)]
pub(crate) struct GitStore {
    objects: HashMap<String, Object>,
    pub refs: BTreeMap<String, String>,
}

fn hash(kind: Kind, body: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("{} {}\0", kind.as_str(), body.len()).as_bytes());
    h.update(body);
    hex::encode(h.finalize())
}

/// Git orders tree entries by name bytes, comparing a subtree's name as if
/// it ended in `/`; any other order gives a different (invalid) tree id.
fn git_order(a: &TreeEntry, b: &TreeEntry) -> std::cmp::Ordering {
    let key = |e: &TreeEntry| {
        let mut k = e.name.as_bytes().to_vec();
        if e.kind == Kind::Tree {
            k.push(b'/');
        }
        k
    };
    key(a).cmp(&key(b))
}

fn encode_tree(entries: &[TreeEntry]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        body.extend_from_slice(e.mode.trim_start_matches('0').as_bytes());
        body.push(b' ');
        body.extend_from_slice(e.name.as_bytes());
        body.push(0);
        body.extend_from_slice(&hex::decode(&e.sha).unwrap_or_else(|_| vec![0; 20]));
    }
    body
}

fn encode_signature(role: &str, s: &Signature) -> String {
    format!("{role} {} <{}> {} +0000\n", s.name, s.email, s.date)
}

fn encode_commit(c: &Commit) -> Vec<u8> {
    let mut text = format!("tree {}\n", c.tree);
    for p in &c.parents {
        text.push_str(&format!("parent {p}\n"));
    }
    text.push_str(&encode_signature("author", &c.author));
    text.push_str(&encode_signature("committer", &c.committer));
    text.push('\n');
    text.push_str(&c.message);
    text.into_bytes()
}

/// A full 40-hex sha, lower-cased; `None` for anything else.
pub(crate) fn normalize_sha(sha: &str) -> Option<String> {
    (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sha.to_ascii_lowercase())
}

impl GitStore {
    pub fn get(&self, sha: &str) -> Option<&Object> {
        self.objects.get(&normalize_sha(sha)?)
    }

    pub fn blob(&self, sha: &str) -> Option<&[u8]> {
        match self.get(sha)? {
            Object::Blob(b) => Some(b),
            _ => None,
        }
    }

    pub fn tree(&self, sha: &str) -> Option<&[TreeEntry]> {
        match self.get(sha)? {
            Object::Tree(t) => Some(t),
            _ => None,
        }
    }

    pub fn commit(&self, sha: &str) -> Option<&Commit> {
        match self.get(sha)? {
            Object::Commit(c) => Some(c),
            _ => None,
        }
    }

    fn put(&mut self, kind: Kind, body: &[u8], object: Object) -> String {
        let sha = hash(kind, body);
        self.objects.entry(sha.clone()).or_insert(object);
        sha
    }

    pub fn put_blob(&mut self, content: Vec<u8>) -> String {
        let sha = hash(Kind::Blob, &content);
        self.objects.entry(sha.clone()).or_insert(Object::Blob(content));
        sha
    }

    /// Stores a tree (entries in any order; names must be unique).
    pub fn put_tree(&mut self, mut entries: Vec<TreeEntry>) -> String {
        entries.sort_by(git_order);
        let body = encode_tree(&entries);
        self.put(Kind::Tree, &body, Object::Tree(entries))
    }

    pub fn put_commit(&mut self, commit: Commit) -> String {
        let body = encode_commit(&commit);
        self.put(Kind::Commit, &body, Object::Commit(commit))
    }

    /// The commit a branch points at.
    pub fn branch(&self, branch: &str) -> Option<&str> {
        self.refs.get(&format!("refs/heads/{branch}")).map(String::as_str)
    }

    /// Whether `ancestor` is `descendant` or reachable from it through parents.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([descendant.to_owned()]);
        while let Some(sha) = queue.pop_front() {
            if sha == ancestor {
                return true;
            }
            if let Some(c) = self.commit(&sha) {
                queue.extend(c.parents.iter().filter(|p| seen.insert((*p).clone())).cloned());
            }
        }
        false
    }

    /// Commits from `head` back to the root, following first parents.
    pub fn first_parent_log(&self, head: &str) -> Vec<&Commit> {
        let mut log = Vec::new();
        let mut next = Some(head.to_owned());
        while let Some(commit) = next.and_then(|sha| self.commit(&sha)) {
            log.push(commit);
            next = commit.parents.first().cloned();
        }
        log
    }

    /// The blob at `path` (slash-separated) in a commit's tree.
    pub fn file_at(&self, commit: &str, path: &str) -> Option<&[u8]> {
        let mut tree = self.commit(commit)?.tree.clone();
        let parts: Vec<&str> = path.split('/').collect();
        let (last, dirs) = parts.split_last()?;
        for dir in dirs {
            let entry = self
                .tree(&tree)?
                .iter()
                .find(|e| e.name == *dir && e.kind == Kind::Tree)?;
            tree = entry.sha.clone();
        }
        let entry = self
            .tree(&tree)?
            .iter()
            .find(|e| e.name == *last && e.kind == Kind::Blob)?;
        self.blob(&entry.sha)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_git() {
        let mut g = GitStore::default();
        // `printf 'hello\n' | git hash-object --stdin`
        let blob = g.put_blob(b"hello\n".to_vec());
        assert_eq!(blob, "ce013625030ba8dba906f756967f9e9ca394464a");
        assert_eq!(g.put_tree(Vec::new()), EMPTY_TREE);
    }
}
