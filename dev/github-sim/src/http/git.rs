//! The git database API's objects: `POST /repos/{o}/{r}/git/blobs`,
//! `…/git/trees`, `…/git/commits` and `GET …/git/commits/{sha}`, plus the
//! request context the ref endpoints share. Writes need `contents: write`
//! (installation) or push access (user); an empty repository answers 409,
//! as GitHub's does until something is pushed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::access::{caller, caller_signature, repo_access, Access};
use super::{base_url, gh_error, json_response, parse_json, Sim};
use crate::clock::iso8601;
use crate::git::{Change, Commit, Kind, Signature, TreeEntry};
use crate::shapes::node_id;
use crate::state::{Counter, Shared, State as SimState};

/// A git request that passed the access checks, under the state lock.
pub(crate) struct Ctx<'a> {
    pub st: &'a mut SimState,
    pub repo_id: u64,
    /// `{base}/repos/{owner}/{repo}`, for the URLs inside answers.
    pub api: String,
    pub full_name: String,
    pub author: Option<Signature>,
}

impl Ctx<'_> {
    pub fn git(&mut self) -> &mut crate::git::GitStore {
        &mut self
            .st
            .world
            .repos
            .get_mut(&self.repo_id)
            .expect("checked repository")
            .git
    }
}

/// Runs `op` for `owner/name` under one lock (so a ref's check-and-set is
/// atomic, as on GitHub) once the caller may `access` its contents.
pub(crate) fn with_repo(
    sim: &Shared,
    headers: &HeaderMap,
    (owner, name): (&str, &str),
    access: Access,
    op: impl FnOnce(Ctx<'_>) -> Response,
) -> Response {
    let base = base_url(headers, sim);
    let mut st = sim.lock();
    let who = match caller(&st, headers) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let repo_id = match repo_access(&st, &who, owner, name, Some("contents"), access) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let repo = &st.world.repos[&repo_id];
    if repo.git.refs.is_empty() {
        return gh_error(StatusCode::CONFLICT, "Git Repository is empty.");
    }
    let owner_login = st
        .world
        .accounts
        .get(&repo.owner_id)
        .map_or("ghost", |a| a.login.as_str());
    let full_name = format!("{owner_login}/{}", repo.name);
    let now = st.now();
    let author = caller_signature(&st, &who, &sim.config, now);
    op(Ctx {
        st: &mut st,
        repo_id,
        api: format!("{base}/repos/{full_name}"),
        full_name,
        author,
    })
}

pub(crate) fn unprocessable(message: &str) -> Response {
    gh_error(StatusCode::UNPROCESSABLE_ENTITY, message)
}

#[derive(Deserialize)]
struct BlobBody {
    content: String,
    encoding: Option<String>,
}

/// `POST /repos/{o}/{r}/git/blobs`.
pub(crate) async fn create_blob(
    State(sim): Sim,
    Path(p): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Write, |mut ctx| {
        let request: BlobBody = match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let bytes = match request.encoding.as_deref().unwrap_or("utf-8") {
            "utf-8" | "utf8" => request.content.into_bytes(),
            "base64" => {
                let compact: String = request.content.split_whitespace().collect();
                match STANDARD.decode(compact) {
                    Ok(b) => b,
                    Err(_) => return unprocessable("content is not valid Base64"),
                }
            }
            other => return unprocessable(&format!("encoding must be utf-8 or base64, not {other:?}")),
        };
        let sha = ctx.git().put_blob(bytes);
        let url = format!("{}/git/blobs/{sha}", ctx.api);
        json_response(StatusCode::CREATED, json!({"sha": sha, "url": url}))
    })
}

/// Tells a missing `sha` (`None`) from `"sha": null` (`Some(None)`, delete).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct TreeItem {
    path: String,
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, deserialize_with = "present")]
    sha: Option<Option<String>>,
    content: Option<String>,
}

#[derive(Deserialize)]
struct TreeBody {
    base_tree: Option<String>,
    tree: Vec<TreeItem>,
}

fn kind(word: &str) -> Option<Kind> {
    [Kind::Blob, Kind::Tree, Kind::Commit]
        .into_iter()
        .find(|k| k.as_str() == word)
}

fn tree_entry_json(api: &str, e: &TreeEntry, size: Option<usize>) -> Value {
    let mut v = json!({"path": e.name, "mode": e.mode, "type": e.kind.as_str(), "sha": e.sha});
    if let Some(size) = size {
        v["size"] = size.into();
    }
    if e.kind != Kind::Commit {
        v["url"] = format!("{api}/git/{}s/{}", e.kind.as_str(), e.sha).into();
    }
    v
}

/// `POST /repos/{o}/{r}/git/trees`.
pub(crate) async fn create_tree(
    State(sim): Sim,
    Path(p): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Write, |mut ctx| {
        let request: TreeBody = match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let mut changes = Vec::new();
        for item in request.tree {
            let Some(k) = kind(&item.kind) else {
                return unprocessable(&format!("tree.type {:?} is not blob, tree or commit", item.kind));
            };
            let sha = match (item.sha, item.content) {
                (Some(_), Some(_)) => return unprocessable("Only one of tree.sha or tree.content may be given"),
                (None, None) => return unprocessable("Must supply tree.sha or tree.content"),
                (Some(sha), None) => sha,
                (None, Some(_)) if k != Kind::Blob => return unprocessable("tree.content is only for blobs"),
                (None, Some(content)) => Some(ctx.git().put_blob(content.into_bytes())),
            };
            changes.push(Change {
                path: item.path,
                mode: item.mode,
                kind: k,
                sha,
            });
        }
        let api = ctx.api.clone();
        let git = ctx.git();
        let sha = match git.build_tree(request.base_tree.as_deref(), &changes) {
            Ok(sha) => sha,
            Err(message) => return unprocessable(&message),
        };
        let entries: Vec<Value> = git
            .tree(&sha)
            .unwrap_or_default()
            .iter()
            .map(|e| tree_entry_json(&api, e, git.blob(&e.sha).map(<[u8]>::len)))
            .collect();
        let url = format!("{api}/git/trees/{sha}");
        let answer = json!({"sha": sha, "url": url, "tree": entries, "truncated": false});
        json_response(StatusCode::CREATED, answer)
    })
}

#[derive(Deserialize)]
struct SignatureBody {
    name: String,
    email: String,
    date: Option<String>,
}

#[derive(Deserialize)]
struct CommitBody {
    message: String,
    tree: String,
    #[serde(default)]
    parents: Vec<String>,
    author: Option<SignatureBody>,
    committer: Option<SignatureBody>,
}

fn signature(body: SignatureBody, now: i64) -> Result<Signature, Response> {
    let date = match body.date {
        None => now,
        Some(d) => time::OffsetDateTime::parse(&d, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| unprocessable(&format!("date {d:?} is not an ISO 8601 timestamp")))?,
    };
    Ok(Signature {
        name: body.name,
        email: body.email,
        date,
    })
}

/// `POST /repos/{o}/{r}/git/commits`.
pub(crate) async fn create_commit(
    State(sim): Sim,
    Path(p): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Write, |mut ctx| {
        let request: CommitBody = match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let now = ctx.st.now();
        let git = ctx.git();
        if git.tree(&request.tree).is_none() {
            return unprocessable("Tree SHA does not exist");
        }
        if request.parents.iter().any(|p| git.commit(p).is_none()) {
            return unprocessable("Parent SHA does not exist or is not a commit object");
        }
        let default = ctx.author.clone().expect("writers are authenticated");
        let author = match request.author.map(|a| signature(a, now)).transpose() {
            Ok(a) => a.unwrap_or(default),
            Err(resp) => return resp,
        };
        let committer = match request.committer.map(|c| signature(c, now)).transpose() {
            Ok(c) => c.unwrap_or_else(|| author.clone()),
            Err(resp) => return resp,
        };
        let commit = Commit {
            tree: request.tree.to_ascii_lowercase(),
            parents: request.parents.iter().map(|p| p.to_ascii_lowercase()).collect(),
            author,
            committer,
            message: request.message,
        };
        let sha = ctx.git().put_commit(commit.clone());
        ctx.st.bump(Counter::Commits);
        json_response(StatusCode::CREATED, commit_json(&ctx, &sha, &commit))
    })
}

/// `GET /repos/{o}/{r}/git/commits/{sha}`.
pub(crate) async fn get_commit(
    State(sim): Sim,
    Path(p): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Read, |mut ctx| {
        let Some(commit) = ctx.git().commit(&p.2).cloned() else {
            return gh_error(StatusCode::NOT_FOUND, "Not Found");
        };
        json_response(StatusCode::OK, commit_json(&ctx, &p.2.to_ascii_lowercase(), &commit))
    })
}

fn signature_json(s: &Signature) -> Value {
    json!({"name": s.name, "email": s.email, "date": iso8601(s.date)})
}

/// A commit as the git database API renders it.
fn commit_json(ctx: &Ctx<'_>, sha: &str, c: &Commit) -> Value {
    let html = |sha: &str| format!("https://github.com/{}/commit/{sha}", ctx.full_name);
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| json!({"sha": p, "url": format!("{}/git/commits/{p}", ctx.api), "html_url": html(p)}))
        .collect();
    json!({
        "sha": sha,
        "node_id": node_id("Commit", format!("{}:{sha}", ctx.repo_id)),
        "url": format!("{}/git/commits/{sha}", ctx.api),
        "html_url": html(sha),
        "author": signature_json(&c.author),
        "committer": signature_json(&c.committer),
        "tree": {"sha": c.tree, "url": format!("{}/git/trees/{}", ctx.api, c.tree)},
        "message": c.message,
        "parents": parents,
        "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
    })
}
