//! Events as API Gateway (HTTP API, payload 2.0) and function URLs deliver
//! them to a function.

use std::collections::HashMap;

use lambda_emulator::events::{event, Auth as Authorizer};
use serde_json::{json, Value};

pub enum Auth<'a> {
    /// The JWT authorizer's claims: `sub` and the accounts, as API Gateway renders arrays.
    Jwt {
        sub: &'a str,
        accounts: &'a [&'a str],
    },
    Iam,
    /// A function URL: no authorizer.
    None,
}

pub fn http(method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>, auth: Auth<'_>) -> Value {
    let auth = match auth {
        Auth::Jwt { sub, accounts } => Authorizer::Jwt(HashMap::from([
            ("sub".to_owned(), sub.to_owned()),
            ("accounts".to_owned(), format!("[{}]", accounts.join(" "))),
        ])),
        Auth::Iam => Authorizer::Iam,
        Auth::None => Authorizer::None,
    };
    event(method, path, headers, body.as_deref().map(str::as_bytes), &auth)
}

pub fn frontend(method: &str, path: &str, body: Option<Value>, sub: &str, accounts: &[&str]) -> Value {
    let headers = [("content-type", "application/json"), ("origin", super::infra::FRONTEND)];
    http(
        method,
        path,
        &headers,
        body.map(|b| b.to_string()),
        Auth::Jwt { sub, accounts },
    )
}

pub fn internal(path: &str, body: Value) -> Value {
    internal_with("POST", path, Some(body))
}

pub fn internal_with(method: &str, path: &str, body: Option<Value>) -> Value {
    let headers = [("content-type", "application/json")];
    http(method, path, &headers, body.map(|b| b.to_string()), Auth::Iam)
}

/// A webhook as GitHub sends it to the function URL, signed with the app's secret.
pub fn webhook(event_name: &str, delivery: &str, body: &str) -> Value {
    let signature = broker::crypto::signature::sign(super::infra::WEBHOOK_SECRET, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", "GitHub-Hookshot/0e1f2a3"),
        ("x-github-event", event_name),
        ("x-github-delivery", delivery),
        ("x-github-hook-id", "123456"),
        ("x-github-hook-installation-target-type", "integration"),
        ("x-github-hook-installation-target-id", "424242"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    http("POST", "/", &headers, Some(body.to_owned()), Auth::None)
}

/// The status and the JSON body of a function's answer.
pub fn answer(response: &Value) -> (u16, Value) {
    let status = response["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = match &response["body"] {
        Value::String(s) => {
            let text = if response["isBase64Encoded"] == json!(true) {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                s.clone()
            };
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        other => other.clone(),
    };
    (status, body)
}
