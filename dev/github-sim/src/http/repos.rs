//! Repository endpoints: `POST /orgs/{org}/repos`, `POST /user/repos` and
//! `GET /repos/{owner}/{repo}`. The rule that matters most to a broker: an
//! installation token may create repositories only in the organisation the
//! app is installed on, with `administration: write`, and never on a
//! personal account (`POST /user/repos` needs a user token).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::access::{caller, caller_signature, repo_access, requires_authentication, Access, Caller, NOT_ACCESSIBLE};
use super::{base_url, gh_error, json_response, parse_json, Sim, DOCS_URL};
use crate::repos::NewRepo;
use crate::shapes;
use crate::state::{Counter, State as SimState};
use crate::world::AccountKind;
use crate::SimConfig;

const NOT_ORG_ADMIN: &str = "You need admin access to the organization before adding a repository to it.";

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    private: Option<bool>,
    /// Newer clients send `visibility` instead of `private`.
    visibility: Option<String>,
    description: Option<String>,
    #[serde(default)]
    auto_init: bool,
}

/// GitHub's 422 for a refused repository, with one `errors` entry on `name`.
fn creation_failed(code: &str, message: &str) -> Response {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    json_response(
        status,
        json!({
            "message": "Repository creation failed.",
            "errors": [{"resource": "Repository", "code": code, "field": "name", "message": message}],
            "documentation_url": DOCS_URL,
            "status": status.as_u16().to_string(),
        }),
    )
}

/// `POST /orgs/{org}/repos`.
pub(crate) async fn create_in_org(
    State(sim): Sim,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = sim.lock();
    let who = match caller(&st, &headers) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let org = st.world.account_by_login(&org);
    let Some(org) = org.filter(|a| a.kind == AccountKind::Organization) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let refusal = match &who {
        Caller::Anonymous => Some(requires_authentication()),
        Caller::User(id) if !org.members.contains(id) => Some(gh_error(StatusCode::FORBIDDEN, NOT_ORG_ADMIN)),
        Caller::Installation(ic) if ic.account_id != org.id || !ic.has("administration", "write") => {
            Some(gh_error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE))
        }
        _ => None,
    };
    if let Some(resp) = refusal {
        return resp;
    }
    let org_id = org.id;
    create(&mut st, &who, org_id, &body, &sim.config, &base_url(&headers, &sim))
}

/// `POST /user/repos`: only a user token can create on a personal account.
pub(crate) async fn create_for_user(State(sim): Sim, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = sim.lock();
    let owner_id = match caller(&st, &headers) {
        Ok(Caller::User(id)) => id,
        Ok(Caller::Installation(_)) => return gh_error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE),
        Ok(Caller::Anonymous) => return requires_authentication(),
        Err(resp) => return resp,
    };
    create(
        &mut st,
        &Caller::User(owner_id),
        owner_id,
        &body,
        &sim.config,
        &base_url(&headers, &sim),
    )
}

fn create(st: &mut SimState, who: &Caller, owner_id: u64, body: &[u8], config: &SimConfig, base: &str) -> Response {
    let request: CreateBody = match parse_json(body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(name) = request.name else {
        return creation_failed("missing_field", "name is missing");
    };
    let private = match request.visibility.as_deref() {
        Some(v) => v != "public",
        None => request.private.unwrap_or(false),
    };
    let now = st.now();
    let author = caller_signature(st, who, config, now);
    let new = NewRepo {
        owner_id,
        name,
        private,
        description: request.description,
        init_author: author.filter(|_| request.auto_init),
    };
    let id = match st.world.create_repo(new, now) {
        Ok(id) => id,
        Err(e) => return creation_failed("custom", e.message()),
    };
    if let Caller::Installation(ic) = who {
        // GitHub adds a repository an installation creates to its selection,
        // so the same token (even a repository-scoped one) can fill it.
        if let Some(selected) = st
            .world
            .installations
            .get_mut(&ic.installation_id)
            .and_then(|i| i.selected.as_mut())
        {
            selected.push(id);
        }
        if let Some(scope) = st
            .creds
            .installation
            .get_mut(&ic.token)
            .and_then(|t| t.repo_ids.as_mut())
        {
            scope.push(id);
        }
    }
    st.bump(Counter::RepoCreations);
    json_response(StatusCode::CREATED, shapes::repo(&st.world.repos[&id], &st.world, base))
}

/// `GET /repos/{owner}/{repo}`.
pub(crate) async fn get_repo(
    State(sim): Sim,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let st = sim.lock();
    let found = caller(&st, &headers).and_then(|who| repo_access(&st, &who, &owner, &name, None, Access::Read));
    match found {
        Ok(id) => json_response(
            StatusCode::OK,
            shapes::repo(&st.world.repos[&id], &st.world, &base_url(&headers, &sim)),
        ),
        Err(resp) => resp,
    }
}
