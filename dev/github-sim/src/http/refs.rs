//! The git database API's references: `GET /repos/{o}/{r}/git/ref/{ref}`,
//! `POST …/git/refs` and `PATCH …/git/refs/{ref}`. A PATCH is a
//! check-and-set under the state lock, so two clients racing to move a
//! branch see what they would on GitHub: one wins, the other gets
//! "Update is not a fast forward".

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::Access;
use super::git::{unprocessable, with_repo, Ctx};
use super::{gh_error, json_response, parse_json, Sim};
use crate::git::{normalize_sha, Object};
use crate::shapes::node_id;
use crate::state::Counter;

/// `refs/…` with at least two slashes and no component git refuses.
fn valid_ref(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("refs/") else {
        return false;
    };
    let forbidden = |c: char| c.is_ascii_control() || " ~^:?*[\\".contains(c);
    rest.contains('/')
        && !name.contains("..")
        && !name.contains("@{")
        && !name.chars().any(forbidden)
        && rest
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
}

fn ref_json(ctx: &mut Ctx<'_>, name: &str, sha: &str) -> Value {
    let kind = match ctx.git().get(sha) {
        Some(Object::Blob(_)) => "blob",
        Some(Object::Tree(_)) => "tree",
        _ => "commit",
    };
    json!({
        "ref": name,
        "node_id": node_id("Ref", format!("{}:{name}", ctx.repo_id)),
        "url": format!("{}/git/{name}", ctx.api),
        "object": {"sha": sha, "type": kind, "url": format!("{}/git/{kind}s/{sha}", ctx.api)},
    })
}

/// `GET /repos/{o}/{r}/git/ref/{ref}` (and the older `…/git/refs/{ref}`):
/// exact matches only.
pub(crate) async fn get_ref(State(sim): Sim, Path(p): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Read, |mut ctx| {
        let name = format!("refs/{}", p.2);
        match ctx.git().refs.get(&name).cloned() {
            Some(sha) => json_response(StatusCode::OK, ref_json(&mut ctx, &name, &sha)),
            None => gh_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    })
}

#[derive(Deserialize)]
struct CreateRef {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

/// `POST /repos/{o}/{r}/git/refs`.
pub(crate) async fn create_ref(
    State(sim): Sim,
    Path(p): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Write, |mut ctx| {
        let request: CreateRef = match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        if !valid_ref(&request.name) {
            return unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
        }
        let git = ctx.git();
        let Some(sha) = normalize_sha(&request.sha).filter(|s| git.get(s).is_some()) else {
            return unprocessable("Object does not exist");
        };
        if git.refs.contains_key(&request.name) {
            return unprocessable("Reference already exists");
        }
        git.refs.insert(request.name.clone(), sha.clone());
        json_response(StatusCode::CREATED, ref_json(&mut ctx, &request.name, &sha))
    })
}

#[derive(Deserialize)]
struct UpdateRef {
    sha: String,
    #[serde(default)]
    force: bool,
}

/// `PATCH /repos/{o}/{r}/git/refs/{ref}`.
pub(crate) async fn update_ref(
    State(sim): Sim,
    Path(p): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_repo(&sim, &headers, (&p.0, &p.1), Access::Write, |mut ctx| {
        let request: UpdateRef = match parse_json(&body) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let name = format!("refs/{}", p.2);
        let git = ctx.git();
        let Some(current) = git.refs.get(&name).cloned() else {
            return unprocessable("Reference does not exist");
        };
        let Some(sha) = normalize_sha(&request.sha).filter(|s| git.get(s).is_some()) else {
            return unprocessable("Object does not exist");
        };
        // Checked and set under the one lock `with_repo` holds.
        if !request.force && !git.is_ancestor(&current, &sha) {
            return unprocessable("Update is not a fast forward");
        }
        git.refs.insert(name.clone(), sha.clone());
        ctx.st.bump(Counter::RefUpdates);
        json_response(StatusCode::OK, ref_json(&mut ctx, &name, &sha))
    })
}

#[cfg(test)]
mod tests {
    use super::valid_ref;

    #[test]
    fn ref_names() {
        for ok in ["refs/heads/main", "refs/heads/feature/x", "refs/tags/v1.0"] {
            assert!(valid_ref(ok), "{ok}");
        }
        for bad in [
            "heads/main",
            "refs/main",
            "refs/heads/",
            "refs/heads/a..b",
            "refs/heads/x.lock",
            "refs/heads/a b",
        ] {
            assert!(!valid_ref(bad), "{bad}");
        }
    }
}
