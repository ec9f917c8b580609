//! The `/_sim/` JSON control API: a thin HTTP mirror of the Rust API for
//! processes that drive the simulator from outside (the local dev runner).
//! Requests to it are not counted in `Counter::Requests` and never faulted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{gh_error, json_response, no_content, parse_json, Sim};
use crate::state::{Counter, Shared, State as SimState};
use crate::world::{RepoSelection, WorldError};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_sim/health",
            get(|| async { json_response(StatusCode::OK, json!({"ok": true})) }),
        )
        .route("/_sim/users", post(add_user))
        .route("/_sim/users/{login}/revoke", post(revoke))
        .route("/_sim/users/{login}/expire_tokens", post(expire_tokens))
        .route("/_sim/users/{login}/tokens", get(live_tokens))
        .route("/_sim/orgs", post(add_org))
        .route("/_sim/orgs/{org}/members", post(add_member))
        .route("/_sim/orgs/{org}/members/{login}", delete(remove_member))
        .route("/_sim/repos", post(add_repo))
        .route("/_sim/accounts/{login}/rename", post(rename))
        .route("/_sim/installations", post(install))
        .route("/_sim/installations/{id}/{action}", post(installation_action))
        .route("/_sim/installations/{id}/permissions", put(set_permissions))
        .route("/_sim/installations/{id}/repositories", put(set_repositories))
        .route("/_sim/authorize", post(authorize))
        .route("/_sim/clock", post(set_clock))
        .route("/_sim/lifetimes", post(set_lifetimes))
        .route("/_sim/counters", get(counters))
        .route("/_sim/secrets", get(secrets))
        .route("/_sim/faults", post(super::faults::inject).delete(super::faults::clear))
        .route("/_sim/requests", get(super::faults::count_path))
        .route(
            "/_sim/rate_limit",
            get(super::rate_limit::show).post(super::rate_limit::set),
        )
}

pub(super) fn world_error(e: WorldError) -> Response {
    match e {
        WorldError::NotFound(m) => gh_error(StatusCode::NOT_FOUND, &m),
        WorldError::Invalid(m) => gh_error(StatusCode::UNPROCESSABLE_ENTITY, &m),
    }
}

/// Parses the body, runs `op` on the locked state and answers `ok(result)`.
pub(super) fn run<B: DeserializeOwned, T>(
    sim: &Shared,
    body: &[u8],
    op: impl FnOnce(&mut SimState, B) -> Result<T, WorldError>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    let parsed: B = match parse_json(if body.is_empty() { b"{}" } else { body }) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let result = op(&mut sim.lock(), parsed);
    result.map(ok).unwrap_or_else(world_error)
}

fn created_id(id: u64) -> Response {
    json_response(StatusCode::CREATED, json!({"id": id}))
}

pub(super) fn done(_: ()) -> Response {
    no_content()
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

async fn add_user(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Login| {
            let now = st.now();
            st.world.add_user(&b.login, now)
        },
        created_id,
    )
}

#[derive(Deserialize)]
struct NewOrg {
    login: String,
    #[serde(default)]
    members: Vec<String>,
}

async fn add_org(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: NewOrg| {
            let now = st.now();
            let members: Vec<&str> = b.members.iter().map(String::as_str).collect();
            st.world.add_org(&b.login, &members, now)
        },
        created_id,
    )
}

async fn add_member(State(sim): Sim, Path(org): Path<String>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Login| st.world.add_org_member(&org, &b.login),
        done,
    )
}

async fn remove_member(State(sim): Sim, Path((org, login)): Path<(String, String)>) -> Response {
    run(
        &sim,
        b"{}",
        |st, _: Value| st.world.remove_org_member(&org, &login),
        done,
    )
}

#[derive(Deserialize)]
struct NewRepo {
    owner: String,
    name: String,
    #[serde(default)]
    private: bool,
}

async fn add_repo(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: NewRepo| {
            let now = st.now();
            st.world.add_repo(&b.owner, &b.name, b.private, now)
        },
        created_id,
    )
}

#[derive(Deserialize)]
struct Rename {
    new_login: String,
}

async fn rename(State(sim): Sim, Path(login): Path<String>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Rename| st.rename_account(&login, &b.new_login),
        done,
    )
}

#[derive(Deserialize)]
struct Selection {
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

impl Selection {
    fn resolve(self) -> Result<RepoSelection, WorldError> {
        match (self.repository_selection.as_deref(), self.repositories) {
            (None | Some("all"), None) => Ok(RepoSelection::All),
            (None | Some("selected"), Some(names)) => Ok(RepoSelection::Selected(names)),
            (Some("selected"), None) => Ok(RepoSelection::Selected(Vec::new())),
            _ => Err(WorldError::Invalid(
                "repository_selection must be \"all\" or \"selected\" (with repositories)".into(),
            )),
        }
    }
}

fn pairs(perms: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    perms.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[derive(Deserialize)]
struct NewInstallation {
    account: String,
    #[serde(flatten)]
    selection: Selection,
    #[serde(default)]
    permissions: BTreeMap<String, String>,
}

async fn install(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: NewInstallation| {
            let selection = b.selection.resolve()?;
            st.install_app(&b.account, &selection, &pairs(&b.permissions), None)
        },
        created_id,
    )
}

async fn installation_action(State(sim): Sim, Path((id, action)): Path<(u64, String)>) -> Response {
    run(
        &sim,
        b"{}",
        |st, _: Value| installation_action_on(st, id, &action),
        done,
    )
}

/// Shared with the admin page's buttons.
pub(crate) fn installation_action_on(st: &mut SimState, id: u64, action: &str) -> Result<(), WorldError> {
    match action {
        "suspend" => st.suspend_installation(id),
        "unsuspend" => st.unsuspend_installation(id),
        "uninstall" => st.uninstall(id),
        "push" => st.send_push(id),
        "pull_request" => st.send_pull_request(id),
        other => Err(WorldError::NotFound(format!("no action {other}"))),
    }
}

async fn set_permissions(State(sim): Sim, Path(id): Path<u64>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: BTreeMap<String, String>| st.set_installation_permissions(id, &pairs(&b)),
        done,
    )
}

async fn set_repositories(State(sim): Sim, Path(id): Path<u64>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Selection| st.set_installation_repositories(id, &b.resolve()?, None),
        done,
    )
}

async fn revoke(State(sim): Sim, Path(login): Path<String>) -> Response {
    run(&sim, b"{}", |st, _: Value| st.revoke_authorization(&login), done)
}

async fn expire_tokens(State(sim): Sim, Path(login): Path<String>) -> Response {
    run(&sim, b"{}", |st, _: Value| st.expire_user_tokens(&login), done)
}

async fn live_tokens(State(sim): Sim, Path(login): Path<String>) -> Response {
    run(
        &sim,
        b"{}",
        |st, _: Value| st.live_user_tokens(&login),
        |tokens| json_response(StatusCode::OK, json!({"tokens": tokens})),
    )
}

#[derive(Deserialize)]
struct Authorize {
    login: String,
    code_challenge: Option<String>,
    redirect_uri: Option<String>,
}

async fn authorize(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Authorize| st.authorize(&b.login, b.code_challenge.as_deref(), b.redirect_uri.as_deref()),
        |code| json_response(StatusCode::OK, json!({"code": code})),
    )
}

#[derive(Deserialize)]
struct Clock {
    offset_seconds: i64,
}

async fn set_clock(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Clock| {
            st.clock_offset = b.offset_seconds;
            Ok(st.now())
        },
        |now| json_response(StatusCode::OK, json!({"now": now})),
    )
}

#[derive(Deserialize)]
struct Lifetimes {
    user_token_seconds: Option<i64>,
    installation_token_seconds: Option<i64>,
}

async fn set_lifetimes(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Lifetimes| {
            if let Some(s) = b.user_token_seconds {
                st.creds.user_token_lifetime = s;
            }
            if let Some(s) = b.installation_token_seconds {
                st.creds.installation_token_lifetime = s;
            }
            Ok(())
        },
        done,
    )
}

async fn counters(State(sim): Sim) -> Response {
    let st = sim.lock();
    let mints: HashMap<String, usize> = st
        .counters
        .iter()
        .filter_map(|(k, v)| match k {
            Counter::Mints(id) => Some((id.to_string(), *v)),
            _ => None,
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({
            "code_exchanges": st.count(Counter::CodeExchanges),
            "refreshes": st.count(Counter::Refreshes),
            "mints": mints,
            "mints_total": st.count(Counter::MintsTotal),
            "mint_requests": st.count(Counter::MintRequests),
            "user_installations_pages": st.count(Counter::UserInstallationsPages),
            "revocations": st.count(Counter::Revocations),
            "requests": st.count(Counter::Requests),
            "repo_creations": st.count(Counter::RepoCreations),
            "commits": st.count(Counter::Commits),
            "ref_updates": st.count(Counter::RefUpdates),
        }),
    )
}

async fn secrets(State(sim): Sim) -> Response {
    let issued = sim.lock().creds.issued.clone();
    json_response(StatusCode::OK, json!({"secrets": issued}))
}
