//! The token endpoint (code and refresh grants, PKCE, redirect_uri, errors
//! as HTTP 200), the web authorize redirect and grant revocation.

use base64::Engine as _;
use github_sim::Counter;
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::*;

fn assert_oauth_error(body: &Value, error: &str) {
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    assert!(body["error_uri"]
        .as_str()
        .unwrap()
        .starts_with("https://docs.github.com/"));
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn code_exchange_succeeds_once() {
    let sim = sim().await;
    sim.add_user("octocat");
    let code = sim.authorize("octocat", None, None);

    let resp = client()
        .post(format!("{}/login/oauth/access_token", sim.url()))
        .header("accept", "application/json")
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
    assert!(resp.headers().contains_key("date"));
    let body: Value = resp.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert!(access.starts_with("ghu_") && access.len() == 40, "{access}");
    assert!(access[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(refresh_token.starts_with("ghr_") && refresh_token.len() == 80);
    assert_eq!(body["expires_in"], 28800);
    assert_eq!(body["refresh_token_expires_in"], 15897600);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "");

    let (status, user, _) = get(&sim, "/user", access).await;
    assert_eq!(status, 200);
    assert_eq!(user["login"], "octocat");
    assert_eq!(user["type"], "User");

    // Single use.
    assert_oauth_error(&exchange(&sim, &code, &[]).await, "bad_verification_code");
    assert_oauth_error(&exchange(&sim, "nonsense", &[]).await, "bad_verification_code");
    assert_eq!(sim.count(Counter::CodeExchanges), 3);
    let secrets = sim.issued_secrets();
    for s in [code.as_str(), access, refresh_token] {
        assert!(secrets.iter().any(|x| x == s));
    }
    assert_eq!(sim.live_user_tokens("octocat"), vec![access.to_owned()]);
}

#[tokio::test]
async fn json_body_client_credentials_and_grant_types() {
    let sim = sim().await;
    sim.add_user("octocat");
    let code = sim.authorize("octocat", None, None);
    let bad: Value = client()
        .post(format!("{}/login/oauth/access_token", sim.url()))
        .json(&json!({"client_id": CLIENT_ID, "client_secret": "wrong", "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_oauth_error(&bad, "incorrect_client_credentials");
    let ok: Value = client()
        .post(format!("{}/login/oauth/access_token", sim.url()))
        .json(&json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Credentials are checked first: the rejected attempt did not use the code.
    assert!(ok["access_token"].is_string(), "{ok}");

    let code = sim.authorize("octocat", None, None);
    let body = token_request(&sim, &[("grant_type", "password"), ("code", &code)]).await;
    assert_oauth_error(&body, "unsupported_grant_type");
}

#[tokio::test]
async fn expired_code_is_rejected() {
    let sim = sim().await;
    sim.add_user("octocat");
    let code = sim.authorize("octocat", None, None);
    sim.set_clock_offset(601);
    assert_oauth_error(&exchange(&sim, &code, &[]).await, "bad_verification_code");
}

#[tokio::test]
async fn pkce_and_redirect_uri_are_enforced() {
    let sim = sim().await;
    sim.add_user("octocat");
    let verifier = "a-very-long-random-verifier-string-0123456789abcdef";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));

    let code = sim.authorize("octocat", Some(&challenge), None);
    let body = exchange(&sim, &code, &[("code_verifier", "wrong-verifier")]).await;
    assert_oauth_error(&body, "bad_verification_code");
    let code = sim.authorize("octocat", Some(&challenge), None);
    assert_oauth_error(&exchange(&sim, &code, &[]).await, "bad_verification_code");
    let code = sim.authorize("octocat", Some(&challenge), None);
    let body = exchange(&sim, &code, &[("code_verifier", verifier)]).await;
    assert!(body["access_token"].is_string(), "{body}");

    let cb = "http://localhost:9000/callback";
    let code = sim.authorize("octocat", None, Some(cb));
    let body = exchange(&sim, &code, &[("redirect_uri", "http://evil.example/cb")]).await;
    assert_oauth_error(&body, "redirect_uri_mismatch");
    let code = sim.authorize("octocat", None, Some(cb));
    assert!(exchange(&sim, &code, &[("redirect_uri", cb)]).await["access_token"].is_string());
}

#[tokio::test]
async fn refresh_tokens_are_single_use() {
    let sim = sim().await;
    sim.add_user("octocat");
    let first = login(&sim, "octocat").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = refresh(&sim, r1).await;
    let r2 = second["refresh_token"].as_str().unwrap();
    assert!(second["access_token"].as_str().unwrap().starts_with("ghu_"));
    assert_ne!(r1, r2);
    assert_ne!(first["access_token"], second["access_token"]);

    assert_oauth_error(&refresh(&sim, r1).await, "bad_refresh_token");
    assert_oauth_error(&refresh(&sim, "ghr_unknown").await, "bad_refresh_token");
    assert!(refresh(&sim, r2).await["refresh_token"].is_string());
    assert_eq!(sim.count(Counter::Refreshes), 4);
}

#[tokio::test]
async fn expiring_user_tokens_leaves_refresh_working() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.set_user_token_lifetime(60);
    let tokens = login(&sim, "octocat").await;
    assert_eq!(tokens["expires_in"], 60);
    let access = tokens["access_token"].as_str().unwrap();
    sim.expire_user_tokens("octocat");
    let (status, body, _) = get(&sim, "/user", access).await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, "Bad credentials");
    assert!(sim.live_user_tokens("octocat").is_empty());
    let renewed = refresh(&sim, tokens["refresh_token"].as_str().unwrap()).await;
    let (status, _, _) = get(&sim, "/user", renewed["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn grant_revocation_kills_all_user_tokens() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_user("hubot");
    let a = login(&sim, "octocat").await;
    let b = login(&sim, "octocat").await;
    let other = login(&sim, "hubot").await;
    let url = format!("{}/applications/{CLIENT_ID}/grant", sim.url());
    let body = json!({"access_token": a["access_token"]});

    let resp = client()
        .delete(&url)
        .basic_auth(CLIENT_ID, Some("wrong"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let unknown = json!({"access_token": "ghu_doesnotexist"});
    let resp = client()
        .delete(&url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let resp = client()
        .delete(&url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(sim.live_user_tokens("octocat").is_empty());
    for t in [&a, &b] {
        assert_eq!(get(&sim, "/user", t["access_token"].as_str().unwrap()).await.0, 401);
        assert_oauth_error(
            &refresh(&sim, t["refresh_token"].as_str().unwrap()).await,
            "bad_refresh_token",
        );
    }
    assert_eq!(get(&sim, "/user", other["access_token"].as_str().unwrap()).await.0, 200);

    sim.revoke_authorization("hubot");
    assert_eq!(get(&sim, "/user", other["access_token"].as_str().unwrap()).await.0, 401);
    assert_eq!(sim.count(Counter::Revocations), 1);
}

#[tokio::test]
async fn web_authorize_redirects_with_code_and_state() {
    let sim = sim().await;
    sim.add_user("octocat");
    let url = format!(
        "{}/login/oauth/authorize?client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2Flocalhost%3A9000%2Fcb&state=xyz",
        sim.url()
    );
    let page = client().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("login=octocat"));

    let resp = client().get(format!("{url}&login=octocat")).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/cb");
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    let body = exchange(&sim, &q["code"], &[("redirect_uri", "http://localhost:9000/cb")]).await;
    assert!(body["access_token"].is_string(), "{body}");
}
