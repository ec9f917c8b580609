//! Events as API Gateway (HTTP API, payload 2.0) and function URLs deliver
//! them to a function.

use serde_json::{json, Map, Value};

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
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "bench"},
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "24/Nov/2026:15:00:00 +0000",
        "timeEpoch": 1795100400000u64
    });
    match auth {
        Auth::Jwt { sub, accounts } => {
            let claims = json!({"sub": sub, "accounts": format!("[{}]", accounts.join(" "))});
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        Auth::Iam => {
            context["authorizer"] = json!({"iam": {
                "accessKey": "ASIAEXAMPLEKEY", "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:platform-backend", "cognitoIdentity": null, "principalOrgId": null,
                "userArn": "arn:aws:sts::123456789012:assumed-role/platform-backend/session",
                "userId": "AROAEXAMPLE:platform-backend"
            }});
        }
        Auth::None => {
            context["domainName"] = json!("abcdefghijklmnop.lambda-url.eu-west-1.on.aws");
            context["apiId"] = json!("abcdefghijklmnop");
        }
    }
    let mut header_map = Map::new();
    for (k, v) in headers {
        header_map.insert(k.to_lowercase(), Value::String((*v).to_owned()));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": context,
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = Value::String(body);
    }
    event
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
    let headers = [("content-type", "application/json")];
    http("POST", path, &headers, Some(body.to_string()), Auth::Iam)
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
