//! Event → request: the JSON a Lambda receives, decoded as in the running
//! function (serde_json, into aws_lambda_events' HTTP API shape), bridged
//! into `ApiRequest`, then routed by each
//! function's route table. No I/O: the handlers behind the routes need the
//! store and GitHub (see webhook_entry for a target that runs a service).

#![no_main]

use std::sync::OnceLock;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use broker::api::request::MAX_API_BODY;
use broker::api::router::Router;
use broker::api::{Access, ApiRequest, Authorizer, Function};
use broker::domain::Caller;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const FUNCTIONS: [Function; 3] = [Function::OAuthCallback, Function::TokenVending, Function::Webhook];

fn routers() -> &'static [Router; 3] {
    static ROUTERS: OnceLock<[Router; 3]> = OnceLock::new();
    ROUTERS.get_or_init(|| FUNCTIONS.map(|f| Router::new(f.routes())))
}

/// The parameter names in a route template such as `/accounts/{account_id}`.
fn template_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|p| p.trim_start_matches('*'))
        .collect()
}

fn check_authorizer(req: &ApiRequest, event: Option<&Value>) {
    let Some(event) = event else { return };
    let authorizer = &event["requestContext"]["authorizer"];
    match &req.auth {
        // Only API Gateway's IAM authorizer may make a caller internal.
        Authorizer::Iam { .. } => assert!(authorizer["iam"].is_object(), "IAM without iam: {event}"),
        Authorizer::Jwt(claims) => {
            assert!(authorizer["jwt"].is_object(), "JWT without jwt: {event}");
            let _ = Caller::from_claims(claims, "accounts");
        }
        Authorizer::None => {}
    }
}

fn check_routes(req: &ApiRequest) {
    for (function, router) in FUNCTIONS.iter().zip(routers()) {
        let Ok((route, params)) = router.find(&req.method, &req.path) else {
            continue;
        };
        assert_eq!(route.method, req.method, "{function:?} {}", req.path);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, template_params(route.path), "{function:?} {}", req.path);
        for (name, value) in &params {
            assert!(!value.is_empty(), "{name} empty in {}", req.path);
            assert!(name == "path" || !value.contains('/'), "{name}={value} in {}", req.path);
        }
        let internal = req.path.starts_with("/internal/");
        if *function != Function::Webhook {
            assert_eq!(route.access() == Access::Iam, internal, "{function:?} {}", req.path);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // As the Lambda runtime decodes it; an event that does not decode fails
    // the invocation before any handler runs.
    let Ok(decoded) = serde_json::from_str::<ApiGatewayV2httpRequest>(text) else {
        return;
    };
    let base64 = decoded.is_base64_encoded;
    let req = match ApiRequest::from_lambda(decoded) {
        Ok(req) => req,
        Err(e) => {
            assert!(base64, "only a base64 body that does not decode is refused: {e:?}");
            assert_eq!(e.code(), "invalid_body");
            return;
        }
    };
    let event = serde_json::from_str::<Value>(text).ok();
    check_authorizer(&req, event.as_ref());
    check_routes(&req);
    if req.json::<Value>().is_ok() {
        assert!(req.body.len() <= MAX_API_BODY);
    }
    for name in ["origin", "x-hub-signature-256", "content-type"] {
        let _ = req.header(name);
    }
});
