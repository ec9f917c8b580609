//! What the simulator's browser pages share: escaping, the page frame with
//! a little CSS so a person can read it, and redirects.

use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text and attribute values; every user-controlled string (logins,
/// repository names, query parameters) goes through it.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;\
line-height:1.5;color:#1f2328}table{border-collapse:collapse;margin:.5rem 0 1.5rem}\
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}form.inline{display:inline}fieldset{margin:1rem 0;border:1px solid #d0d7de}\
.muted{color:#656d76}.error{background:#ffebe9;border:1px solid #ff8182;padding:.5rem}\
nav{margin-bottom:1rem}button{cursor:pointer}";

/// A whole HTML page around `body` (already escaped where needed).
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let title = escape(title);
    let doc = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>"
    );
    let mut resp = (status, doc).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    resp
}

/// A 400 page explaining what is wrong, with a way on.
pub(crate) fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Error",
        &format!(
            "<h1>Error</h1><p class=\"error\">{}</p>{}",
            escape(message),
            admin_link()
        ),
    )
}

/// The link every page carries to the admin page.
pub(crate) fn admin_link() -> &'static str {
    "<p class=\"muted\"><a href=\"/_sim/ui\">GitHub (simulated): admin page</a></p>"
}

/// A redirect; `status` is 302 where GitHub answers 302, 303 after a form.
pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(LOCATION, value);
    }
    resp
}

/// Percent-encodes one path segment (a login in `/_sim/ui/accounts/{login}/...`).
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The cookie that remembers who signed in on the simulated GitHub, as
/// github.com's session does: the install page does not ask again.
pub(crate) const USER_COOKIE: &str = "github_sim_user";

/// The login the request's session cookie names, if any.
pub(crate) fn signed_in(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == USER_COOKIE)
        .map(|(_, login)| login.to_owned())
        .filter(|login| !login.is_empty() && login.len() <= 39)
}

/// Sets the session cookie to `login` on `resp`.
pub(crate) fn remember(mut resp: Response, login: &str) -> Response {
    let value = url::form_urlencoded::byte_serialize(login.as_bytes()).collect::<String>();
    if let Ok(cookie) = HeaderValue::from_str(&format!("{USER_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax")) {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, cookie);
    }
    resp
}

/// Which organisations `user_id` belongs to, and as what, as a person
/// reads it: "member of acme (owner), tools (member)".
pub(crate) fn memberships(world: &crate::world::World, user_id: u64) -> String {
    let orgs: Vec<String> = world
        .accounts
        .values()
        .filter(|a| a.members.contains(&user_id))
        .map(|a| {
            let role = if a.admins.contains(&user_id) { "owner" } else { "member" };
            format!("{} ({role})", escape(&a.login))
        })
        .collect();
    match orgs.is_empty() {
        true => "no organisation".to_owned(),
        false => format!("member of {}", orgs.join(", ")),
    }
}
