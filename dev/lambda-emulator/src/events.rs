//! Events as API Gateway (HTTP API, payload 2.0) and function URLs deliver
//! them to a function: one builder for the integration tests and the
//! benchmark harness, so both drive the binaries with the same shape.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{json, Map, Value};

/// What API Gateway's authorizer vouched for.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Jwt(HashMap<String, String>),
    Iam,
}

/// `path` may carry a query (`/a?b=c`): API Gateway hands it over as
/// `rawQueryString`, apart from `rawPath`.
pub fn event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>, auth: &Auth) -> Value {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "gh-app-broker-dev"
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "24/Nov/2026:15:00:00 +0000",
        "timeEpoch": 1795100400000u64
    });
    match auth {
        // A function URL (the webhook): no authorizer, its own domain.
        Auth::None => {
            context["domainName"] = json!("abcdefghijklmnop.lambda-url.eu-west-1.on.aws");
            context["apiId"] = json!("abcdefghijklmnop");
        }
        Auth::Jwt(claims) => {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        Auth::Iam => {
            context["authorizer"] = json!({"iam": {
                "accessKey": "ASIAEXAMPLEKEY",
                "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:platform-backend",
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:sts::123456789012:assumed-role/platform-backend/session",
                "userId": "AROAEXAMPLE:platform-backend"
            }});
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
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": context,
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        // Binary-safe like API Gateway: bodies that are not UTF-8 arrive in base64.
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = Value::String(text.to_owned()),
            Err(_) => {
                event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    event
}
