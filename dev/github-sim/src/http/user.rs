//! Endpoints authenticated by a user access token (`ghu_…`): `GET /user`,
//! the paginated `GET /user/installations` and
//! `GET /user/memberships/orgs/{org}`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{base_url, bearer, gh_error, json_response, link_header, page_of, page_params, Sim};
use crate::shapes;
use crate::state::{Counter, State as SimState};

/// The user behind the request's token, or GitHub's 401/403.
fn authenticate(st: &SimState, headers: &HeaderMap) -> Result<u64, Response> {
    let Some(token) = bearer(headers) else {
        return Err(gh_error(StatusCode::UNAUTHORIZED, "Requires authentication"));
    };
    let now = st.now();
    if let Some(user_id) = st.creds.user_for_access_token(token, now) {
        if st.world.accounts.contains_key(&user_id) {
            return Ok(user_id);
        }
    }
    if st.creds.installation_token(token, now).is_some() {
        return Err(gh_error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        ));
    }
    Err(gh_error(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

/// `GET /user`.
pub(crate) async fn me(State(sim): Sim, headers: HeaderMap) -> Response {
    let st = sim.lock();
    let user_id = match authenticate(&st, &headers) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let base = base_url(&headers, &sim);
    let account = &st.world.accounts[&user_id];
    json_response(StatusCode::OK, shapes::private_user(account, &st.world, &base))
}

/// `GET /user/installations?per_page=N&page=P`: this app's installations on
/// the user's account and on organisations the user belongs to.
pub(crate) async fn installations(
    State(sim): Sim,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut st = sim.lock();
    let user_id = match authenticate(&st, &headers) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let base = base_url(&headers, &sim);
    let (per_page, page) = page_params(&query);
    let reachable: Vec<u64> = st
        .world
        .installations
        .values()
        .filter(|i| st.world.user_reaches(user_id, i))
        .map(|i| i.id)
        .collect();
    let items: Vec<_> = page_of(&reachable, per_page, page)
        .iter()
        .map(|id| shapes::installation(&st.world.installations[id], &st.world, &sim.config, &base))
        .collect();
    st.bump(Counter::UserInstallationsPages);
    drop(st);
    let mut resp = json_response(
        StatusCode::OK,
        json!({"total_count": reachable.len(), "installations": items}),
    );
    let url = format!("{base}/user/installations");
    if let Some(link) = link_header(&url, per_page, page, reachable.len()) {
        if let Ok(value) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(LINK, value);
        }
    }
    resp
}

/// `GET /user/memberships/orgs/{org}`: the caller's own membership, active
/// or pending, with its role. A user token acts only where the app is
/// installed, within the app's permissions: without the organisation's
/// `members` permission GitHub refuses with 403. Not a member: 404.
pub(crate) async fn org_membership(State(sim): Sim, Path(org): Path<String>, headers: HeaderMap) -> Response {
    let st = sim.lock();
    let user_id = match authenticate(&st, &headers) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let not_found = || gh_error(StatusCode::NOT_FOUND, "Not Found");
    let Some(org) = st
        .world
        .account_by_login(&org)
        .filter(|a| a.kind == crate::world::AccountKind::Organization)
    else {
        return not_found();
    };
    let readable = st.world.installations.values().any(|i| {
        i.account_id == org.id
            && i.permissions
                .get("members")
                .and_then(|l| crate::world::permission_rank(l))
                .is_some()
    });
    if !readable {
        return gh_error(StatusCode::FORBIDDEN, super::access::NOT_ACCESSIBLE);
    }
    let Some((role, state)) = org.membership(user_id) else {
        return not_found();
    };
    let base = base_url(&headers, &sim);
    let user = &st.world.accounts[&user_id];
    json_response(
        StatusCode::OK,
        shapes::org_membership(org, user, role.as_str(), state, &base),
    )
}
