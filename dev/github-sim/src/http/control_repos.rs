//! The `/_sim/` control API for repository contents, mirroring
//! `branch_head`/`commit_log`, `file_at` and `push_commit` for processes that
//! drive the simulator from outside. Branch names and paths travel in the
//! query or body because both may contain slashes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::{gh_error, json_response, parse_json, Sim};
use crate::state::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/repos/{owner}/{repo}/branch", get(branch))
        .route("/_sim/repos/{owner}/{repo}/file", get(file))
        .route("/_sim/repos/{owner}/{repo}/commits", post(push))
}

fn not_found(what: &str) -> Response {
    gh_error(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

/// `GET /_sim/repos/{owner}/{repo}/branch?name=B` → `{"head", "log": [messages]}`.
async fn branch(
    State(sim): Sim,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = sim.lock();
    let Some(repo) = st.world.repo_at(&owner, &repo) else {
        return not_found("repository");
    };
    let name = q.get("name").map_or("main", String::as_str);
    let Some(head) = repo.git.branch(name) else {
        return not_found("branch");
    };
    let log: Vec<&str> = repo
        .git
        .first_parent_log(head)
        .iter()
        .map(|c| c.message.as_str())
        .collect();
    json_response(StatusCode::OK, json!({"head": head, "log": log}))
}

/// `GET /_sim/repos/{owner}/{repo}/file?branch=B&path=P` → `{"content"}`.
async fn file(
    State(sim): Sim,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = sim.lock();
    let Some(repo) = st.world.repo_at(&owner, &repo) else {
        return not_found("repository");
    };
    let branch = q.get("branch").map_or("main", String::as_str);
    let path = q.get("path").map_or("", String::as_str);
    let content = repo.git.branch(branch).and_then(|head| repo.git.file_at(head, path));
    match content {
        Some(c) => json_response(StatusCode::OK, json!({"content": String::from_utf8_lossy(c)})),
        None => not_found("file"),
    }
}

#[derive(Deserialize)]
struct Push {
    #[serde(default = "default_branch")]
    branch: String,
    message: String,
    /// Path → UTF-8 content.
    files: BTreeMap<String, String>,
}

fn default_branch() -> String {
    "main".to_owned()
}

/// `POST /_sim/repos/{owner}/{repo}/commits` `{"branch"?, "message", "files"}`
/// → 201 `{"sha"}`: a commit by someone else that moves the branch.
async fn push(State(sim): Sim, Path((owner, repo)): Path<(String, String)>, body: Bytes) -> Response {
    let request: Push = match parse_json(&body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let files: Vec<(&str, &str)> = request.files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let mut st = sim.lock();
    let now = st.now();
    match st
        .world
        .push(&owner, &repo, &request.branch, &request.message, &files, now)
    {
        Ok(sha) => json_response(StatusCode::CREATED, json!({"sha": sha})),
        Err(crate::world::WorldError::NotFound(m)) => gh_error(StatusCode::NOT_FOUND, &m),
        Err(crate::world::WorldError::Invalid(m)) => gh_error(StatusCode::UNPROCESSABLE_ENTITY, &m),
    }
}
