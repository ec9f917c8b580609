//! The admin page `GET /_sim/ui`, "GitHub (simulated)": the world at a
//! glance (users, organisations, installations, recent webhook deliveries)
//! with buttons for what a person would do on github.com (revoke an app's
//! authorization, suspend, unsuspend or uninstall an installation, rename an
//! account, push to or open a pull request on an installation's repository). Each button is a small form POSTing to `/_sim/ui/...`, which
//! calls the same operation as the Rust API (so webhooks go out) and
//! redirects back with 303.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::control::installation_action_on;
use super::html::{escape, page, path_segment, redirect};
use super::Sim;
use crate::state::{Shared, State as SimState};
use crate::webhooks::Outcome;
use crate::world::{AccountKind, WorldError};

/// How many deliveries the page shows, newest first.
const RECENT_DELIVERIES: usize = 20;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/ui", get(admin_page))
        .route("/_sim/ui/users/{login}/revoke", post(revoke))
        .route("/_sim/ui/installations/{id}/{action}", post(installation_action))
        .route("/_sim/ui/accounts/{login}/rename", post(rename))
}

/// Back to the page, with the refusal shown there if the action failed.
fn back(result: Result<(), WorldError>) -> Response {
    match result {
        Ok(()) => redirect(StatusCode::SEE_OTHER, "/_sim/ui"),
        Err(e) => {
            let q: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", &e.to_string())
                .finish();
            redirect(StatusCode::SEE_OTHER, &format!("/_sim/ui?{q}"))
        }
    }
}

async fn revoke(State(sim): Sim, Path(login): Path<String>) -> Response {
    back(sim.lock().revoke_authorization(&login))
}

async fn installation_action(State(sim): Sim, Path((id, action)): Path<(u64, String)>) -> Response {
    back(installation_action_on(&mut sim.lock(), id, &action))
}

async fn rename(State(sim): Sim, Path(login): Path<String>, body: Bytes) -> Response {
    let new_login = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "new_login")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    back(sim.lock().rename_account(&login, &new_login))
}

/// A one-button form that asks first, as GitHub does before uninstalling.
fn confirmed_button(action: &str, name: &str, label: &str, question: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\" onsubmit=\"return confirm({})\">\
         <button type=\"submit\" name=\"{name}\">{label}</button></form>",
        escape(action),
        escape(&serde_json::Value::from(question).to_string()),
    )
}

/// A one-button form; `name` is the stable handle for browser tests.
fn button(action: &str, name: &str, label: &str, enabled: bool) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\"><button type=\"submit\" name=\"{name}\"{}>{label}</button></form>",
        escape(action),
        if enabled { "" } else { " disabled" }
    )
}

fn login_of(st: &SimState, id: u64) -> String {
    st.world
        .accounts
        .get(&id)
        .map_or_else(|| format!("#{id}"), |a| a.login.clone())
}

fn users_section(st: &SimState, now: i64) -> String {
    let mut rows = String::new();
    for user in st.world.accounts.values().filter(|a| a.kind == AccountKind::User) {
        let l = escape(&user.login);
        let tokens = st.creds.live_access_tokens(user.id, now).len();
        let action = format!("/_sim/ui/users/{}/revoke", path_segment(&user.login));
        rows.push_str(&format!(
            "<tr data-user=\"{l}\"><td>{l}</td><td>{}</td><td>{tokens}</td><td>{}</td></tr>",
            user.id,
            button(&action, "revoke", "Revoke app authorization", true)
        ));
    }
    format!("<h2>Users</h2><table><tr><th>Login</th><th>ID</th><th>Live app tokens</th><th></th></tr>{rows}</table>")
}

fn orgs_section(st: &SimState) -> String {
    let mut rows = String::new();
    for org in st
        .world
        .accounts
        .values()
        .filter(|a| a.kind == AccountKind::Organization)
    {
        let members: Vec<String> = org
            .members
            .iter()
            .map(|m| {
                let role = if org.admins.contains(m) { " (owner)" } else { "" };
                format!("{}{role}", escape(&login_of(st, *m)))
            })
            .collect();
        rows.push_str(&format!(
            "<tr data-org=\"{l}\"><td>{l}</td><td>{}</td><td>{}</td></tr>",
            org.id,
            members.join(", "),
            l = escape(&org.login)
        ));
    }
    format!("<h2>Organisations</h2><table><tr><th>Login</th><th>ID</th><th>Members</th></tr>{rows}</table>")
}

fn installations_section(st: &SimState) -> String {
    let mut rows = String::new();
    for inst in st.world.installations.values() {
        let Some(account) = st.world.accounts.get(&inst.account_id) else {
            continue;
        };
        let selection = match &inst.selected {
            None => "all".to_owned(),
            Some(ids) => {
                let names: Vec<String> = ids
                    .iter()
                    .filter_map(|id| st.world.repos.get(id))
                    .map(|r| escape(&r.name))
                    .collect();
                format!("selected: {}", names.join(", "))
            }
        };
        let suspended = inst.suspended_at.is_some();
        let base = format!("/_sim/ui/installations/{}", inst.id);
        let rename = format!(
            "<form class=\"inline\" method=\"post\" action=\"/_sim/ui/accounts/{}/rename\">\
             <input name=\"new_login\" required placeholder=\"new login\" aria-label=\"New login\"> \
             <button type=\"submit\" name=\"rename\">Rename account</button></form>",
            escape(&path_segment(&account.login))
        );
        rows.push_str(&format!(
            "<tr data-installation=\"{id}\"><td>{id}</td><td>{}</td><td>{}</td><td>{selection}</td>\
             <td data-status>{}</td><td>{} {} {}<br>{rename}<br>{} {}</td></tr>",
            escape(&account.login),
            account.kind.as_str(),
            if suspended { "suspended" } else { "active" },
            button(&format!("{base}/suspend"), "suspend", "Suspend", !suspended),
            button(&format!("{base}/unsuspend"), "unsuspend", "Unsuspend", suspended),
            confirmed_button(
                &format!("{base}/uninstall"),
                "uninstall",
                "Uninstall",
                &format!(
                    "Uninstall the app from {}? Its tokens stop working at once.",
                    account.login
                )
            ),
            button(&format!("{base}/push"), "send-push", "Send a push", !suspended),
            button(
                &format!("{base}/pull_request"),
                "send-pull-request",
                "Open a pull request",
                !suspended
            ),
            id = inst.id,
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"6\" class=\"muted\">None yet.</td></tr>");
    }
    format!(
        "<h2>Installations</h2><table><tr><th>ID</th><th>Account</th><th>Type</th>\
         <th>Repositories</th><th>Status</th><th></th></tr>{rows}</table>"
    )
}

fn deliveries_section(st: &SimState) -> String {
    let records = st.hooks.log.records();
    let mut rows = String::new();
    for r in records.iter().rev().take(RECENT_DELIVERIES) {
        let d = &r.delivery;
        let status = match &r.outcome {
            Outcome::Pending => "pending".to_owned(),
            Outcome::Answered(s) => s.to_string(),
            Outcome::Failed(e) => format!("failed: {}", escape(e)),
        };
        rows.push_str(&format!(
            "<tr data-delivery=\"{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td class=\"muted\">{id}</td></tr>",
            escape(&d.event),
            escape(d.action.as_deref().unwrap_or("")),
            d.installation_id.map(|i| i.to_string()).unwrap_or_default(),
            id = escape(&d.id),
        ));
    }
    let target = match st.hooks.target_url() {
        Some(url) => format!("Sent to <code>{}</code>.", escape(url)),
        None => "No webhook URL is set: nothing is sent.".to_owned(),
    };
    format!(
        "<h2>Webhook deliveries</h2><p>{target} The last {RECENT_DELIVERIES}, newest first.</p>\
         <table><tr><th>Event</th><th>Action</th><th>Installation</th><th>Status</th><th>Delivery</th></tr>{rows}</table>"
    )
}

/// `GET /_sim/ui[?error=...]`.
async fn admin_page(State(sim): Sim, Query(q): Query<HashMap<String, String>>) -> Response {
    let st = sim.lock();
    let now = st.now();
    let cfg = &sim.config;
    let error = q
        .get("error")
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let callback = match &st.callback_url {
        Some(url) => format!("callback URL <code>{}</code>", escape(url)),
        None => "no callback URL (the install page will say so)".to_owned(),
    };
    let slug = escape(&path_segment(&cfg.app_slug));
    let body = format!(
        "<h1>GitHub (simulated)</h1>{error}\
         <p>App <strong>{}</strong> (id {}, client id <code>{}</code>), {callback}. \
         <a id=\"install-link\" href=\"/apps/{slug}/installations/new\">Install the app</a></p>\
         {}{}{}{}",
        escape(&cfg.app_slug),
        cfg.app_id,
        escape(&cfg.client_id),
        users_section(&st, now),
        orgs_section(&st),
        installations_section(&st),
        deliveries_section(&st),
    );
    page(StatusCode::OK, "GitHub (simulated)", &body)
}
