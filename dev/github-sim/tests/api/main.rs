//! HTTP-level tests of the simulator: a real server on 127.0.0.1, talked to
//! with reqwest the way the broker talks to GitHub. Shared helpers live here.

mod app;
mod control;
mod faults;
mod git;
mod hook_deliveries;
mod install;
mod oauth;
mod rate_limit;
mod repos;
mod user;
mod webhooks;

use github_sim::{GitHubSim, SimConfig};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const APP_ID: u64 = 4242;
pub const CLIENT_ID: &str = "Iv23liSimTest";
pub const CLIENT_SECRET: &str = "sim-test-secret";
const PUBLIC_KEY: &str = include_str!("../../../../tests/fixtures/keys/app-key.pub.pem");
const PRIVATE_KEY: &str = include_str!("../../../../tests/fixtures/keys/app-key.pkcs1.pem");

pub async fn sim() -> GitHubSim {
    let config = SimConfig::new(APP_ID, "broker-test", CLIENT_ID, CLIENT_SECRET, PUBLIC_KEY);
    GitHubSim::start(config).await.expect("sim starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An RS256 app JWT with exactly these claims.
pub fn jwt_with(iss: Value, iat: i64, exp: i64) -> String {
    let key = EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
    encode(
        &Header::new(Algorithm::RS256),
        &json!({"iss": iss, "iat": iat, "exp": exp}),
        &key,
    )
    .unwrap()
}

/// A JWT the way well-behaved clients make it, against the sim's clock.
pub fn jwt(sim: &GitHubSim) -> String {
    let now = sim.now_unix();
    jwt_with(json!(CLIENT_ID), now - 60, now + 540)
}

/// POSTs a form to the token endpoint; asserts GitHub's HTTP 200.
pub async fn token_request(sim: &GitHubSim, form: &[(&str, &str)]) -> Value {
    let resp = client()
        .post(format!("{}/login/oauth/access_token", sim.url()))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub async fn exchange(sim: &GitHubSim, code: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("code", code),
    ];
    form.extend_from_slice(extra);
    token_request(sim, &form).await
}

pub async fn refresh(sim: &GitHubSim, refresh_token: &str) -> Value {
    token_request(
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await
}

/// A fresh user access token for `login` through the code flow.
pub async fn login(sim: &GitHubSim, login: &str) -> Value {
    let code = sim.authorize(login, None, None);
    let body = exchange(sim, &code, &[]).await;
    assert!(body["access_token"].is_string(), "{body}");
    body
}

/// GET with a bearer token; returns status and JSON body (Null if none).
pub async fn get(sim: &GitHubSim, path: &str, token: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = client()
        .get(format!("{}{path}", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

pub async fn mint(sim: &GitHubSim, id: u64, jwt: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client()
        .post(format!("{}/app/installations/{id}/access_tokens", sim.url()))
        .bearer_auth(jwt);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Asserts a GitHub-style REST error body.
pub fn assert_gh_error(body: &Value, status: u16, message: &str) {
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
}

/// Sends `method path` with a JSON body and an optional bearer token;
/// returns status and JSON body (Null if none).
pub async fn send(sim: &GitHubSim, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, format!("{}{path}", sim.url())).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// An installation token minted with `body` (e.g. scoped down); asserts 201.
pub async fn installation_token(sim: &GitHubSim, installation: u64, body: Option<Value>) -> String {
    let (status, minted) = mint(sim, installation, &jwt(sim), body).await;
    assert_eq!(status, 201, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}
