//! OAuth endpoints: the token endpoint (`POST /login/oauth/access_token`, code
//! and refresh grants, errors as HTTP 200 like GitHub) and the app's
//! revocation endpoints under `/applications/{client_id}/`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{gh_error, json_response, no_content, parse_json, Sim};
use crate::auth::{s256_challenge, IssuedUserTokens};
use crate::state::{Counter, Shared};

const TROUBLESHOOTING: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/";
const REFRESHING: &str =
    "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens";

/// Parameters from the query string, then the body (form or JSON) over them.
fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_json || looks_json {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in obj {
                match v {
                    Value::String(s) => map.insert(k, s),
                    Value::Number(n) => map.insert(k, n.to_string()),
                    _ => None,
                };
            }
        }
    } else {
        map.extend(url::form_urlencoded::parse(body).into_owned());
    }
    map
}

/// GitHub answers token-endpoint errors with HTTP 200 and an `error` field.
fn oauth_error(error: &str, description: &str, uri: String) -> Response {
    json_response(
        StatusCode::OK,
        json!({"error": error, "error_description": description, "error_uri": uri}),
    )
}

fn incorrect_client_credentials() -> Response {
    oauth_error(
        "incorrect_client_credentials",
        "The client_id and/or client_secret passed are incorrect.",
        format!("{TROUBLESHOOTING}#incorrect-client-credentials"),
    )
}

fn bad_verification_code() -> Response {
    oauth_error(
        "bad_verification_code",
        "The code passed is incorrect or expired.",
        format!("{TROUBLESHOOTING}#bad-verification-code"),
    )
}

fn redirect_uri_mismatch() -> Response {
    oauth_error(
        "redirect_uri_mismatch",
        "The redirect_uri MUST match the registered callback URL for this application.",
        format!("{TROUBLESHOOTING}#redirect-uri-mismatch2"),
    )
}

fn bad_refresh_token() -> Response {
    oauth_error(
        "bad_refresh_token",
        "The refresh token passed is incorrect or expired.",
        REFRESHING.to_owned(),
    )
}

fn unverified_user_email() -> Response {
    oauth_error(
        "unverified_user_email",
        "The user must have a verified primary email.",
        format!("{TROUBLESHOOTING}#unverified-user-email"),
    )
}

/// The token endpoint's refusal `error`, as GitHub words it (an injected
/// fault's answer).
pub(super) fn refusal(error: &str) -> Response {
    match error {
        "incorrect_client_credentials" => incorrect_client_credentials(),
        "bad_verification_code" => bad_verification_code(),
        "redirect_uri_mismatch" => redirect_uri_mismatch(),
        "bad_refresh_token" => bad_refresh_token(),
        "unsupported_grant_type" => unsupported_grant_type(),
        "unverified_user_email" => unverified_user_email(),
        other => oauth_error(other, "The request was refused.", TROUBLESHOOTING.to_owned()),
    }
}

fn unsupported_grant_type() -> Response {
    oauth_error(
        "unsupported_grant_type",
        "The grant type is not supported.",
        REFRESHING.to_owned(),
    )
}

fn tokens_response(t: IssuedUserTokens) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "access_token": t.access_token,
            "expires_in": t.expires_in,
            "refresh_token": t.refresh_token,
            "refresh_token_expires_in": t.refresh_token_expires_in,
            "token_type": "bearer",
            "scope": "",
        }),
    )
}

/// `POST /login/oauth/access_token`.
pub(crate) async fn access_token(
    axum::extract::State(sim): Sim,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = params(&uri, &headers, &body);
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let refresh = match p("grant_type") {
        None | Some("authorization_code") => false,
        Some("refresh_token") => true,
        Some(_) => return unsupported_grant_type(),
    };
    let cfg = &sim.config;
    let mut st = sim.lock();
    st.bump(if refresh {
        Counter::Refreshes
    } else {
        Counter::CodeExchanges
    });
    if p("client_id") != Some(cfg.client_id.as_str()) || p("client_secret") != Some(cfg.client_secret.as_str()) {
        return incorrect_client_credentials();
    }
    let now = st.now();
    if refresh {
        let Some(token) = p("refresh_token") else {
            return bad_refresh_token();
        };
        let Some(user_id) = st.creds.take_refresh_token(token, now) else {
            return bad_refresh_token();
        };
        return tokens_response(st.creds.issue_user_tokens(user_id, now));
    }

    // Presenting a code uses it up, whatever happens next.
    let Some(code) = p("code").and_then(|c| st.creds.take_code(c, now)) else {
        return bad_verification_code();
    };
    if let (Some(bound), Some(given)) = (&code.redirect_uri, p("redirect_uri")) {
        if bound != given {
            return redirect_uri_mismatch();
        }
    }
    if let Some(challenge) = &code.code_challenge {
        let verified = p("code_verifier").is_some_and(|v| s256_challenge(v) == *challenge);
        if !verified {
            return bad_verification_code();
        }
    }
    if !st.world.accounts.contains_key(&code.user_id) {
        return bad_verification_code();
    }
    tokens_response(st.creds.issue_user_tokens(code.user_id, now))
}

/// Checks `Authorization: Basic client_id:client_secret` and the path's client id.
fn check_app_basic_auth(sim: &Shared, client_id: &str, headers: &HeaderMap) -> Result<(), Response> {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(gh_error(StatusCode::UNAUTHORIZED, "Requires authentication"));
    };
    let decoded = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{}:{}", sim.config.client_id, sim.config.client_secret);
    if decoded.as_deref() != Some(expected.as_str()) {
        return Err(gh_error(StatusCode::UNAUTHORIZED, "Bad credentials"));
    }
    if client_id != sim.config.client_id {
        return Err(gh_error(StatusCode::NOT_FOUND, "Not Found"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
}

/// Resolves the body's access token to its user (expired tokens count: they
/// still name an authorization).
fn token_owner(sim: &Shared, body: &[u8]) -> Result<(String, u64), Response> {
    let TokenBody { access_token } = parse_json(body)?;
    let user_id = sim
        .lock()
        .creds
        .access
        .get(&access_token)
        .map(|t| t.user_id)
        .ok_or_else(|| gh_error(StatusCode::NOT_FOUND, "Not Found"))?;
    Ok((access_token, user_id))
}

/// `DELETE /applications/{client_id}/grant`: revokes the user's whole
/// authorization (all of their access and refresh tokens).
pub(crate) async fn delete_grant(
    axum::extract::State(sim): Sim,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(resp) = check_app_basic_auth(&sim, &client_id, &headers) {
        return resp;
    }
    match token_owner(&sim, &body) {
        Ok((_, user_id)) => {
            let mut st = sim.lock();
            st.creds.revoke_user(user_id);
            st.bump(Counter::Revocations);
            no_content()
        }
        Err(resp) => resp,
    }
}

/// `DELETE /applications/{client_id}/token`: revokes one access token.
pub(crate) async fn delete_token(
    axum::extract::State(sim): Sim,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(resp) = check_app_basic_auth(&sim, &client_id, &headers) {
        return resp;
    }
    match token_owner(&sim, &body) {
        Ok((token, _)) => {
            let mut st = sim.lock();
            st.creds.access.remove(&token);
            st.bump(Counter::Revocations);
            no_content()
        }
        Err(resp) => resp,
    }
}
