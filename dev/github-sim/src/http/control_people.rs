//! The `/_sim/` control API for who may do what: organisation roles and
//! invitations, and repository collaborators, mirroring
//! [`crate::GitHubSim::set_org_role`], `invite_org_member`,
//! `add_collaborator` and `remove_collaborator`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{post, put};
use axum::Router;
use serde::Deserialize;

use super::control::{done, run};
use super::Sim;
use crate::state::Shared;
use crate::world::{OrgRole, WorldError};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/orgs/{org}/members/{login}/role", put(set_role))
        .route("/_sim/orgs/{org}/invitations", post(invite))
        .route(
            "/_sim/repos/{owner}/{repo}/collaborators/{login}",
            put(add_collaborator).delete(remove_collaborator),
        )
}

#[derive(Deserialize)]
struct Role {
    role: String,
}

fn role(name: &str) -> Result<OrgRole, WorldError> {
    match name {
        "admin" => Ok(OrgRole::Admin),
        "member" => Ok(OrgRole::Member),
        other => Err(WorldError::Invalid(format!(
            "role {other:?}: use \"admin\" or \"member\""
        ))),
    }
}

/// `PUT /_sim/orgs/{org}/members/{login}/role` `{"role": "admin"|"member"}`.
async fn set_role(State(sim): Sim, Path((org, login)): Path<(String, String)>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Role| st.world.set_org_role(&org, &login, role(&b.role)?),
        done,
    )
}

#[derive(Deserialize)]
struct Invitation {
    login: String,
    role: String,
}

/// `POST /_sim/orgs/{org}/invitations` `{"login", "role"}`: a pending membership.
async fn invite(State(sim): Sim, Path(org): Path<String>, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Invitation| st.world.invite_org_member(&org, &b.login, role(&b.role)?),
        done,
    )
}

#[derive(Deserialize)]
struct Permission {
    permission: String,
}

/// `PUT /_sim/repos/{owner}/{repo}/collaborators/{login}` `{"permission"}`.
async fn add_collaborator(
    State(sim): Sim,
    Path((owner, repo, login)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    run(
        &sim,
        &body,
        |st, b: Permission| st.world.set_collaborator(&owner, &repo, &login, Some(&b.permission)),
        done,
    )
}

/// `DELETE /_sim/repos/{owner}/{repo}/collaborators/{login}`.
async fn remove_collaborator(State(sim): Sim, Path((owner, repo, login)): Path<(String, String, String)>) -> Response {
    run(
        &sim,
        b"{}",
        |st, _: serde_json::Value| st.world.set_collaborator(&owner, &repo, &login, None),
        done,
    )
}
