//! The HTTP face of the simulator: the axum router, the middleware that stamps
//! every response with a sim-clock `Date` header, counts requests and applies
//! injected faults (and, inside it, the App's rate limit), and the helpers the
//! handlers share (GitHub-style JSON and error responses, credentials from
//! headers, JSON bodies, pagination).

// Handlers return early with a ready `Response` as their error; boxing it
// would only add noise to a test double.
#![allow(clippy::result_large_err)]

mod access;
mod admin;
mod app;
mod control;
mod control_hooks;
mod control_people;
mod control_repos;
mod faults;
mod git;
mod hook_deliveries;
mod html;
mod install;
mod oauth;
mod rate_limit;
mod record;
mod refs;
mod repos;
mod user;
mod web;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, DATE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::clock::http_date;
use crate::faults::is_control;
use crate::state::{Counter, Shared};

pub(crate) type Sim = State<Arc<Shared>>;

pub(crate) const DOCS_URL: &str = "https://docs.github.com/rest";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/login/oauth/access_token", post(oauth::access_token))
        .route("/login/oauth/authorize", get(web::authorize))
        .route(
            "/apps/{slug}/installations/new",
            get(install::new_installation).post(install::create_installation),
        )
        .route("/applications/{client_id}/grant", delete(oauth::delete_grant))
        .route("/applications/{client_id}/token", delete(oauth::delete_token))
        .route("/user", get(user::me))
        .route("/user/installations", get(user::installations))
        .route("/user/memberships/orgs/{org}", get(user::org_membership))
        .route("/app", get(app::get_app))
        .route("/app/hook/deliveries", get(hook_deliveries::list))
        .route("/app/hook/deliveries/{delivery_id}", get(hook_deliveries::get_one))
        .route(
            "/app/hook/deliveries/{delivery_id}/attempts",
            post(hook_deliveries::redeliver),
        )
        .route("/app/installations", get(app::list_installations))
        .route("/app/installations/{id}", get(app::get_installation))
        .route("/app/installations/{id}/access_tokens", post(app::mint))
        .route("/installation/repositories", get(app::installation_repositories))
        .route("/installation/token", delete(app::revoke_installation_token))
        .route("/orgs/{org}/repos", post(repos::create_in_org))
        .route("/user/repos", post(repos::create_for_user))
        .route("/repos/{owner}/{repo}", get(repos::get_repo))
        .route("/repos/{owner}/{repo}/git/blobs", post(git::create_blob))
        .route("/repos/{owner}/{repo}/git/trees", post(git::create_tree))
        .route("/repos/{owner}/{repo}/git/commits", post(git::create_commit))
        .route("/repos/{owner}/{repo}/git/commits/{sha}", get(git::get_commit))
        .route("/repos/{owner}/{repo}/git/ref/{*ref}", get(refs::get_ref))
        .route("/repos/{owner}/{repo}/git/refs", post(refs::create_ref))
        .route(
            "/repos/{owner}/{repo}/git/refs/{*ref}",
            get(refs::get_ref).patch(refs::update_ref),
        )
        .merge(control::routes())
        .merge(control_repos::routes())
        .merge(control_people::routes())
        .merge(control_hooks::routes())
        .merge(admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), rate_limit::app_budget))
        .layer(middleware::from_fn_with_state(shared.clone(), stamp))
        .with_state(shared)
}

async fn not_found() -> Response {
    gh_error(StatusCode::NOT_FOUND, "Not Found")
}

/// Counts the request, applies an injected fault if one matches, stamps the
/// `Date` header from the sim clock and logs method, path and status (never
/// query strings, headers or bodies). Faults live here rather than in the
/// handlers so every route can be faulted without knowing about it.
async fn stamp(State(sim): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // Made up front so a rate-limit message can quote the id its header carries.
    let request_id = format!("{:08X}:{:04X}", rand::random::<u32>(), rand::random::<u16>());
    // The control API is neither counted nor faulted: a test must always be
    // able to reach it, e.g. to clear a fault that hits every path.
    let fault = if is_control(&path) {
        None
    } else {
        let mut st = sim.lock();
        st.bump(Counter::Requests);
        st.faults.record(method.as_str(), &path);
        st.faults.take(method.as_str(), &path)
    };
    let faulted = fault.is_some();
    let resp = match fault {
        None => next.run(req).await,
        Some(kind) => {
            tracing::debug!(%method, %path, fault = ?kind, "github-sim fault");
            faults::apply(&sim, kind, &request_id, req, next).await
        }
    };
    let mut resp = record::record(&method, &path, faulted, resp).await;
    let now = sim.lock().now();
    let headers = resp.headers_mut();
    if let Ok(date) = HeaderValue::from_str(&http_date(now)) {
        headers.insert(DATE, date);
    }
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-github-request-id", id);
    }
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "github-sim");
    resp
}

/// A JSON response with GitHub's content type.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// `{"message", "documentation_url", "status"}`, GitHub's REST error body.
pub(crate) fn gh_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({
            "message": message,
            "documentation_url": DOCS_URL,
            "status": status.as_u16().to_string(),
        }),
    )
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The absolute base URL clients reached us at (from `Host`), for the URLs
/// inside responses.
pub(crate) fn base_url(headers: &HeaderMap, sim: &Shared) -> String {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '"', '<', '>']))
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| sim.bound_url.clone())
}

/// The credential in `Authorization: Bearer X` or `Authorization: token X`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, cred) = value.split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    let cred = cred.trim();
    (ok && !cred.is_empty()).then_some(cred)
}

/// Parses a JSON body the way GitHub answers: 400 for malformed JSON, 422 for
/// a body of the wrong shape.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON"))?;
    serde_json::from_value(value)
        .map_err(|e| gh_error(StatusCode::UNPROCESSABLE_ENTITY, &format!("Invalid request.\n\n{e}")))
}

/// `per_page` (default 30, at most 100) and 1-based `page` from a query.
pub(crate) fn page_params(query: &std::collections::HashMap<String, String>) -> (usize, usize) {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(30, |n| n.min(100));
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    (per_page, page)
}

/// The slice of `items` on `page`.
pub(crate) fn page_of<T: Clone>(items: &[T], per_page: usize, page: usize) -> Vec<T> {
    items
        .iter()
        .skip(per_page.saturating_mul(page - 1))
        .take(per_page)
        .cloned()
        .collect()
}

/// GitHub's `Link` header for page `page` of `total` items, or `None` when
/// everything fits on one page.
pub(crate) fn link_header(url: &str, per_page: usize, page: usize, total: usize) -> Option<String> {
    let last = total.div_ceil(per_page).max(1);
    if last == 1 && page == 1 {
        return None;
    }
    let href = |p: usize| format!("<{url}?per_page={per_page}&page={p}>");
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", href((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", href(page + 1)));
        links.push(format!("{}; rel=\"last\"", href(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", href(1)));
    }
    Some(links.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let u = "http://h/user/installations";
        assert_eq!(link_header(u, 30, 1, 10), None);
        assert_eq!(
            link_header(u, 2, 1, 5).unwrap(),
            "<http://h/user/installations?per_page=2&page=2>; rel=\"next\", \
             <http://h/user/installations?per_page=2&page=3>; rel=\"last\""
        );
        assert_eq!(
            link_header(u, 2, 3, 5).unwrap(),
            "<http://h/user/installations?per_page=2&page=2>; rel=\"prev\", \
             <http://h/user/installations?per_page=2&page=1>; rel=\"first\""
        );
    }

    #[test]
    fn pages() {
        let q = |s: &[(&str, &str)]| s.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(page_params(&q(&[])), (30, 1));
        assert_eq!(page_params(&q(&[("per_page", "500"), ("page", "0")])), (100, 1));
        assert_eq!(page_of(&[1, 2, 3, 4, 5], 2, 3), vec![5]);
    }
}
