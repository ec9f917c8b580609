//! The App's install flow, `/apps/{slug}/installations/new`: the person picks
//! which simulated user they are, where to install (their account or one of
//! their organisations) and which repositories, and submits. Like GitHub with
//! "Request user authorization (OAuth) during installation", the simulator
//! then installs (or updates the installation), authorizes the user and
//! redirects to the App's callback URL with `code`, `installation_id`,
//! `setup_action` and `state`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::html::{admin_link, error_page, escape, memberships, page, path_segment, redirect};
use super::Sim;
use crate::state::State as SimState;
use crate::world::{Account, AccountKind, RepoSelection, WorldError};

/// What a fresh installation may do; the broker needs these (`members`:
/// to check, under its default link policy, that the linking user owns an
/// organisation).
const DEFAULT_PERMISSIONS: &[(&str, &str)] = &[
    ("members", "read"),
    ("metadata", "read"),
    ("contents", "write"),
    ("administration", "write"),
    ("issues", "write"),
];

fn unknown_app() -> Response {
    page(StatusCode::NOT_FOUND, "Not Found", "<h1>404</h1><p>No such app.</p>")
}

fn no_callback(app: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "No callback URL",
        &format!(
            "<h1>Install {}</h1><p class=\"error\">The app has no callback URL, so there is nowhere to \
             send you after installing. Set one with <code>GitHubSim::set_callback_url</code>, \
             <code>POST /_sim/callback_url</code> or the binary's <code>--callback-url</code>.</p>{}",
            escape(app),
            admin_link()
        ),
    )
}

/// The user and the accounts they may install on: themselves first, then
/// the organisations they belong to.
fn installable<'a>(st: &'a SimState, login: &str) -> Result<(u64, Vec<&'a Account>), WorldError> {
    let user_id = st.world.user_id(login)?;
    let mut accounts = st
        .world
        .accounts
        .values()
        .filter(|a| a.id == user_id || (a.kind == AccountKind::Organization && a.members.contains(&user_id)))
        .collect::<Vec<_>>();
    accounts.sort_by_key(|a| a.id != user_id);
    Ok((user_id, accounts))
}

/// `GET /apps/{slug}/installations/new?state=S[&login=L][&account=A]`.
pub(crate) async fn new_installation(
    State(sim): Sim,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let app = &sim.config.app_slug;
    if slug != *app {
        return unknown_app();
    }
    let st = sim.lock();
    if st.callback_url.is_none() {
        return no_callback(app);
    }
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    // Who signed in on the authorize page is remembered, as on github.com.
    let remembered = match get("switch") {
        Some(_) => None,
        None => super::html::signed_in(&headers),
    };
    let Some(login) = get("login").or(remembered.as_deref()) else {
        return user_picker(&st, app, &q);
    };
    let (user_id, accounts) = match installable(&st, login) {
        Ok(found) => found,
        Err(e) => return error_page(&e.to_string()),
    };
    let chosen = get("account").unwrap_or(login);
    let mut account_inputs = String::new();
    let mut repo_inputs = String::new();
    for account in &accounts {
        let l = escape(&account.login);
        let checked = if account.login.eq_ignore_ascii_case(chosen) {
            " checked"
        } else {
            ""
        };
        let installed = st.world.installations.values().any(|i| i.account_id == account.id);
        account_inputs.push_str(&format!(
            "<label><input type=\"radio\" name=\"account\" value=\"{l}\" data-account=\"{l}\"{checked}> \
             {l} <span class=\"muted\">({}){}</span></label><br>",
            account.kind.as_str(),
            if installed {
                ", already installed: this updates it"
            } else {
                ""
            }
        ));
        // Only the chosen account's repositories are shown (the script
        // below follows the choice).
        let hidden = if checked.is_empty() { " hidden" } else { "" };
        repo_inputs.push_str(&format!(
            "<div data-repos-of=\"{l}\"{hidden}><p>Repositories of <strong>{l}</strong>:</p>"
        ));
        let repos = st.world.repos.values().filter(|r| r.owner_id == account.id);
        let mut any = false;
        for repo in repos {
            any = true;
            let full = escape(&format!("{}/{}", account.login, repo.name));
            repo_inputs.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"repos\" value=\"{full}\" data-repo=\"{full}\"> {full}{}</label><br>",
                if repo.private { " <span class=\"muted\">(private)</span>" } else { "" }
            ));
        }
        if !any {
            repo_inputs.push_str("<p class=\"muted\">(none)</p>");
        }
        repo_inputs.push_str("</div>");
    }
    let permissions = permissions_summary();
    let cancel = cancel_url(&st, get("state"));
    let state = get("state").unwrap_or("");
    let app_e = escape(app);
    let body = format!(
        "<h1>Install {app_e}</h1>\
         <p>Signed in as <strong>{login_e}</strong>, {orgs} (<a href=\"/apps/{slug_e}/installations/new?state={state_q}&amp;switch=1\">not you?</a>)</p>\
         <form method=\"post\" action=\"/apps/{slug_e}/installations/new\">\
         <input type=\"hidden\" name=\"state\" value=\"{state_e}\">\
         <input type=\"hidden\" name=\"login\" value=\"{login_e}\">\
         <fieldset><legend>Where do you want to install {app_e}?</legend>{account_inputs}</fieldset>\
         <fieldset><legend>Repository access</legend>\
         <label><input type=\"radio\" name=\"selection\" value=\"all\" id=\"selection-all\" checked> All repositories</label><br>\
         <label><input type=\"radio\" name=\"selection\" value=\"selected\" id=\"selection-selected\"> Only select repositories \
         (of the account chosen above):</label>{repo_inputs}</fieldset>\
         <fieldset><legend>{app_e} asks for these permissions</legend>{permissions}</fieldset>\
         <button type=\"submit\" id=\"install-submit\">Install &amp; Authorize</button> \
         <a id=\"cancel\" href=\"{cancel}\">Cancel</a></form>\
         <script>for (const r of document.querySelectorAll('input[name=account]')) r.onchange = () => {{\
           for (const d of document.querySelectorAll('[data-repos-of]')) d.hidden = d.dataset.reposOf !== r.value; }};</script>{admin}",
        login_e = escape(login),
        orgs = memberships(&st.world, user_id),
        cancel = escape(&cancel),
        slug_e = escape(&path_segment(app)),
        state_e = escape(state),
        state_q = escape(&url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()),
        admin = admin_link(),
    );
    page(StatusCode::OK, &format!("Install {app}"), &body)
}

/// What the app asks for, as GitHub's install page lists it.
fn permissions_summary() -> String {
    let of = |level: &str| {
        DEFAULT_PERMISSIONS
            .iter()
            .filter(|(_, l)| *l == level)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "<p>Read access to {}</p><p>Read and write access to {}</p>",
        of("read"),
        of("write")
    )
}

/// Where Cancel goes: back to the app, which is told the person declined.
fn cancel_url(st: &SimState, state: Option<&str>) -> String {
    let Some(mut url) = st.callback_url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
        return "/_sim/ui".to_owned();
    };
    url.query_pairs_mut().append_pair("error", "access_denied");
    url.query_pairs_mut()
        .append_pair("error_description", "The installation was cancelled.");
    if let Some(state) = state {
        url.query_pairs_mut().append_pair("state", state);
    }
    url.to_string()
}

/// "Which user are you?": one link per user, back here with `login` added.
fn user_picker(st: &SimState, app: &str, q: &HashMap<String, String>) -> Response {
    let mut items = String::new();
    for user in st.world.accounts.values().filter(|a| a.kind == AccountKind::User) {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k.as_str() != "login") {
            params.append_pair(k, v);
        }
        params.append_pair("login", &user.login);
        items.push_str(&format!(
            "<li><a data-user=\"{login}\" href=\"/apps/{slug}/installations/new?{}\">Continue as {login}</a> \
             <span class=\"muted\">{}</span></li>",
            escape(&params.finish()),
            memberships(&st.world, user.id),
            login = escape(&user.login),
            slug = escape(&path_segment(app)),
        ));
    }
    if items.is_empty() {
        items.push_str("<li class=\"muted\">No users yet: add some through the Rust or control API.</li>");
    }
    let body = format!(
        "<h1>Install {}</h1><p>Sign in as:</p><ul>{items}</ul>{}",
        escape(app),
        admin_link()
    );
    page(StatusCode::OK, &format!("Install {app}"), &body)
}

/// `POST /apps/{slug}/installations/new` with form fields `state`, `login`,
/// `account`, `selection` (`all` | `selected`) and `repos` (repeated,
/// `owner/name` or `name`).
pub(crate) async fn create_installation(State(sim): Sim, Path(slug): Path<String>, body: Bytes) -> Response {
    if slug != sim.config.app_slug {
        return unknown_app();
    }
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        fields
            .iter()
            .find(|(name, v)| name == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let repos: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "repos")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut st = sim.lock();
    let Some(callback) = st.callback_url.clone() else {
        return no_callback(&sim.config.app_slug);
    };
    let (Some(login), Some(account)) = (field("login"), field("account")) else {
        return error_page("Pick a user and an account to install on.");
    };
    let installed = match install(&mut st, login, account, field("selection"), &repos) {
        Ok(done) => done,
        Err(e) => return error_page(&e.to_string()),
    };
    let (installation_id, setup_action) = installed;
    let code = match st.authorize(login, None, Some(&callback)) {
        Ok(code) => code,
        Err(e) => return error_page(&e.to_string()),
    };
    drop(st);
    let Ok(mut target) = url::Url::parse(&callback) else {
        return error_page("The callback URL is not an absolute URL.");
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("installation_id", &installation_id.to_string())
        .append_pair("setup_action", setup_action);
    if let Some(state) = field("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    redirect(StatusCode::FOUND, target.as_str())
}

/// Installs on `account` as `login`, or changes the repository selection of
/// the existing installation there; returns its id and GitHub's `setup_action`.
fn install(
    st: &mut SimState,
    login: &str,
    account: &str,
    selection: Option<&str>,
    repos: &[&str],
) -> Result<(u64, &'static str), WorldError> {
    let (user_id, accounts) = installable(st, login)?;
    let Some(target) = accounts.iter().find(|a| a.login.eq_ignore_ascii_case(account)) else {
        return Err(WorldError::Invalid(format!(
            "{login} cannot install on {account}: not their account or one of their organisations"
        )));
    };
    let (account_id, account_login) = (target.id, target.login.clone());
    let selection = match selection.unwrap_or("all") {
        "all" => RepoSelection::All,
        "selected" => {
            let mut names = Vec::new();
            for repo in repos {
                let name = match repo.split_once('/') {
                    None => *repo,
                    Some((owner, name)) if owner.eq_ignore_ascii_case(&account_login) => name,
                    Some(_) => {
                        return Err(WorldError::Invalid(format!(
                            "{repo} is not a repository of {account_login}: tick repositories of the chosen account"
                        )))
                    }
                };
                names.push(name.to_owned());
            }
            RepoSelection::Selected(names)
        }
        other => return Err(WorldError::Invalid(format!("unknown repository selection {other:?}"))),
    };
    let existing = st
        .world
        .installations
        .values()
        .find(|i| i.account_id == account_id)
        .map(|i| i.id);
    match existing {
        Some(id) => {
            st.set_installation_repositories(id, &selection, Some(user_id))?;
            Ok((id, "update"))
        }
        None => {
            let id = st.install_app(&account_login, &selection, DEFAULT_PERMISSIONS, Some(user_id))?;
            Ok((id, "install"))
        }
    }
}
