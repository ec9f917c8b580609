//! Endpoints authenticated as the app (JWT): `GET /app`, the installation
//! listings and token minting; and those authenticated by an installation
//! token (`ghs_…`): `GET /installation/repositories`, `DELETE /installation/token`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{base_url, bearer, gh_error, json_response, link_header, no_content, page_of};
use super::{page_params, parse_json, Sim};
use crate::jwt;
use crate::shapes;
use crate::state::{Counter, Shared};
use crate::world::permission_rank;

pub(crate) const SUSPENDED: &str = "This installation has been suspended";
const REPO_NOT_ACCESSIBLE: &str =
    "There is at least one repository that does not exist or is not accessible to the parent installation.";
const PERMS_NOT_GRANTED: &str = "The permissions requested are not granted to this installation.";

/// Checks the request's app JWT against the sim clock.
pub(crate) fn app_auth(sim: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let now = sim.lock().now();
    let token = bearer(headers).ok_or(jwt::UNDECODABLE);
    token
        .and_then(|t| jwt::verify(t, &sim.key, &sim.config, now))
        .map_err(|message| gh_error(StatusCode::UNAUTHORIZED, message))
}

fn with_link(mut resp: Response, link: Option<String>) -> Response {
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(LINK, value);
    }
    resp
}

/// `GET /app`.
pub(crate) async fn get_app(State(sim): Sim, headers: HeaderMap) -> Response {
    if let Err(resp) = app_auth(&sim, &headers) {
        return resp;
    }
    let count = sim.lock().world.installations.len();
    let base = base_url(&headers, &sim);
    json_response(StatusCode::OK, shapes::app(&sim.config, &base, sim.started_at, count))
}

/// `GET /app/installations`: every live installation, paginated.
pub(crate) async fn list_installations(
    State(sim): Sim,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(resp) = app_auth(&sim, &headers) {
        return resp;
    }
    let base = base_url(&headers, &sim);
    let (per_page, page) = page_params(&query);
    let st = sim.lock();
    let all: Vec<&_> = st.world.installations.values().collect();
    let items: Vec<Value> = page_of(&all, per_page, page)
        .into_iter()
        .map(|i| shapes::installation(i, &st.world, &sim.config, &base))
        .collect();
    let link = link_header(&format!("{base}/app/installations"), per_page, page, all.len());
    with_link(json_response(StatusCode::OK, Value::Array(items)), link)
}

/// `GET /app/installations/{id}`.
pub(crate) async fn get_installation(State(sim): Sim, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(resp) = app_auth(&sim, &headers) {
        return resp;
    }
    let base = base_url(&headers, &sim);
    let st = sim.lock();
    match id.parse::<u64>().ok().and_then(|id| st.world.installations.get(&id)) {
        Some(inst) => json_response(
            StatusCode::OK,
            shapes::installation(inst, &st.world, &sim.config, &base),
        ),
        None => gh_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[derive(Deserialize, Default)]
struct MintBody {
    repositories: Option<Vec<String>>,
    repository_ids: Option<Vec<u64>>,
    permissions: Option<BTreeMap<String, String>>,
}

/// `POST /app/installations/{id}/access_tokens`.
pub(crate) async fn mint(State(sim): Sim, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(resp) = app_auth(&sim, &headers) {
        return resp;
    }
    let request: MintBody = if body.iter().all(u8::is_ascii_whitespace) {
        MintBody::default()
    } else {
        match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        }
    };
    let base = base_url(&headers, &sim);
    let mut st = sim.lock();
    st.bump(Counter::MintRequests);
    let now = st.now();
    let Some(inst) = id.parse::<u64>().ok().and_then(|id| st.world.installations.get(&id)) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if inst.suspended_at.is_some() {
        return gh_error(StatusCode::FORBIDDEN, SUSPENDED);
    }
    let reachable: Vec<u64> = st.world.installation_repos(inst).iter().map(|r| r.id).collect();

    // Scope down to repositories, by name and by id.
    let names = request.repositories.unwrap_or_default();
    let ids = request.repository_ids.unwrap_or_default();
    let scoping = !names.is_empty() || !ids.is_empty();
    let mut scoped: Vec<u64> = Vec::new();
    for name in &names {
        match st.world.repo_by_name(inst.account_id, name) {
            Some(r) if reachable.contains(&r.id) => scoped.push(r.id),
            _ => return gh_error(StatusCode::UNPROCESSABLE_ENTITY, REPO_NOT_ACCESSIBLE),
        }
    }
    for id in &ids {
        if !reachable.contains(id) {
            return gh_error(StatusCode::UNPROCESSABLE_ENTITY, REPO_NOT_ACCESSIBLE);
        }
        scoped.push(*id);
    }
    scoped.sort_unstable();
    scoped.dedup();

    // Scope down permissions: each must be granted at least at that level.
    let granted = match request.permissions.filter(|p| !p.is_empty()) {
        Some(requested) => {
            let allowed = requested.iter().all(|(name, level)| {
                let have = inst.permissions.get(name).and_then(|l| permission_rank(l));
                matches!((permission_rank(level), have), (Some(want), Some(have)) if want <= have)
            });
            if !allowed {
                return gh_error(StatusCode::UNPROCESSABLE_ENTITY, PERMS_NOT_GRANTED);
            }
            requested
        }
        None => inst.permissions.clone(),
    };

    let inst_id = inst.id;
    let listed: Option<Vec<u64>> = if scoping {
        Some(scoped.clone())
    } else {
        inst.selected.as_ref().map(|_| reachable.clone())
    };
    let selection = if scoping || inst.selected.is_some() {
        "selected"
    } else {
        "all"
    };
    let mut answer = Map::new();
    answer.insert("permissions".into(), shapes::permissions(&granted));
    answer.insert("repository_selection".into(), selection.into());
    if let Some(repo_ids) = &listed {
        let repos: Vec<Value> = repo_ids
            .iter()
            .filter_map(|id| st.world.repos.get(id))
            .map(|r| shapes::repo(r, &st.world, &base))
            .collect();
        answer.insert("repositories".into(), Value::Array(repos));
    }
    let repo_scope = scoping.then_some(scoped);
    let (token, expires_at) = st.creds.issue_installation_token(inst_id, granted, repo_scope, now);
    answer.insert("token".into(), token.into());
    answer.insert("expires_at".into(), crate::clock::iso8601(expires_at).into());
    st.bump(Counter::Mints(inst_id));
    st.bump(Counter::MintsTotal);
    json_response(StatusCode::CREATED, Value::Object(answer))
}

/// `GET /installation/repositories` with an installation token.
pub(crate) async fn installation_repositories(
    State(sim): Sim,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let base = base_url(&headers, &sim);
    let st = sim.lock();
    let now = st.now();
    let token = bearer(&headers).and_then(|t| st.creds.installation_token(t, now));
    let Some((token, inst)) = token.and_then(|t| st.world.installations.get(&t.installation_id).map(|i| (t, i))) else {
        return gh_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    if inst.suspended_at.is_some() {
        return gh_error(StatusCode::FORBIDDEN, SUSPENDED);
    }
    let repos: Vec<_> = st
        .world
        .installation_repos(inst)
        .into_iter()
        .filter(|r| token.repo_ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .collect();
    let (per_page, page) = page_params(&query);
    let items: Vec<Value> = page_of(&repos, per_page, page)
        .into_iter()
        .map(|r| shapes::repo(r, &st.world, &base))
        .collect();
    let selection = if token.repo_ids.is_some() || inst.selected.is_some() {
        "selected"
    } else {
        "all"
    };
    let body = json!({
        "total_count": repos.len(),
        "repository_selection": selection,
        "repositories": items,
    });
    let link = link_header(
        &format!("{base}/installation/repositories"),
        per_page,
        page,
        repos.len(),
    );
    with_link(json_response(StatusCode::OK, body), link)
}

/// `DELETE /installation/token`: revokes the installation token used.
pub(crate) async fn revoke_installation_token(State(sim): Sim, headers: HeaderMap) -> Response {
    let mut st = sim.lock();
    let now = st.now();
    match bearer(&headers) {
        Some(t) if st.creds.installation_token(t, now).is_some() => {
            st.creds.installation.remove(t);
            no_content()
        }
        _ => gh_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}
