//! The browser half of the OAuth web flow, `GET /login/oauth/authorize`: a
//! page like GitHub's (what the app asks for, who may authorize it, with
//! their organisations, and Cancel), or, with the sim-only `login`
//! parameter, an immediate redirect back to the app's `redirect_uri` with
//! `code` and `state`, remembering who signed in (a cookie, as github.com's
//! session). Cancel comes back with `error=access_denied`, as GitHub does.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::html::{admin_link, error_page, escape, memberships, page, redirect, remember};
use super::Sim;
use crate::world::AccountKind;

fn html(status: StatusCode, body: String) -> Response {
    page(status, "github-sim", &body)
}

/// `GET /login/oauth/authorize?client_id&redirect_uri&state&code_challenge&code_challenge_method[&login]`.
pub(crate) async fn authorize(State(sim): Sim, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("client_id") != Some(sim.config.client_id.as_str()) {
        return html(StatusCode::NOT_FOUND, "<h1>404</h1><p>Unknown client_id.</p>".into());
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return error_page("github-sim needs a redirect_uri (it knows no registered callback URL).");
    };
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return error_page("The redirect_uri is not an absolute URL.");
    };
    let challenge = get("code_challenge");
    if challenge.is_some() && get("code_challenge_method").unwrap_or("S256") != "S256" {
        return error_page("Only the S256 code_challenge_method is supported.");
    }

    let Some(login) = get("login") else {
        // The "which user are you?" page: one link per user, each coming back here with `login`.
        let st = sim.lock();
        let mut items = String::new();
        for user in st.world.accounts.values().filter(|a| a.kind == AccountKind::User) {
            let mut params = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in q.iter().filter(|(k, _)| k.as_str() != "login") {
                params.append_pair(k, v);
            }
            params.append_pair("login", &user.login);
            items.push_str(&format!(
                "<li><a data-user=\"{login}\" href=\"/login/oauth/authorize?{}\">Authorize as {login}</a> \
                 <span class=\"muted\">{}</span></li>",
                escape(&params.finish()),
                memberships(&st.world, user.id),
                login = escape(&user.login)
            ));
        }
        let app = escape(&sim.config.app_slug);
        let mut cancel = target.clone();
        cancel
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user has denied your application access.")
            .append_pair("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied");
        if let Some(state) = get("state") {
            cancel.query_pairs_mut().append_pair("state", state);
        }
        return html(
            StatusCode::OK,
            format!(
                "<h1>Authorize {app}</h1>\
                 <p>{app} (a GitHub App) would like permission to:</p>\
                 <ul><li>Verify your GitHub identity</li><li>Know which resources you can access</li>\
                 <li>Act on your behalf</li></ul>\
                 <p>Which simulated user are you?</p><ul>{items}</ul>\
                 <p><a id=\"cancel\" href=\"{cancel}\">Cancel</a></p>\
                 <p class=\"muted\">Authorizing will redirect to {target}</p>{}",
                admin_link(),
                cancel = escape(cancel.as_str()),
                target = escape(redirect_uri),
            ),
        );
    };

    let code = match sim.lock().authorize(login, challenge, Some(redirect_uri)) {
        Ok(code) => code,
        Err(e) => return error_page(&e.to_string()),
    };
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = get("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    remember(redirect(StatusCode::FOUND, target.as_str()), login)
}
