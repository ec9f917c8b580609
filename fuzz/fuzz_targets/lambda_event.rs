//! Event → request: the JSON a Lambda receives, decoded by lambda_http as in
//! the running function, bridged into `ApiRequest`, then routed by each
//! function's route table. No I/O: the handlers behind the routes need the
//! store and GitHub (see webhook_entry for a target that runs a service).

#![no_main]

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use broker::api::request::MAX_API_BODY;
use broker::api::routes::Router;
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
        Authorizer::Iam => assert!(authorizer["iam"].is_object(), "IAM without iam: {event}"),
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
            assert_eq!(route.access == Access::Iam, internal, "{function:?} {}", req.path);
        }
    }
}

/// lambda_http unwraps while building the URI, so an event whose host,
/// `x-forwarded-proto` or query makes no valid URI panics inside it. In the
/// Lambda, lambda_runtime catches that panic and fails the one invocation (a
/// 500, nothing stored); API Gateway sets those fields itself. The broker
/// cannot change it, so such events are skipped here; each new place it
/// panics at is reported once on stderr so the run's log shows them.
fn decode(text: &str) -> Option<lambda_http::Request> {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if SEEN.lock().unwrap_or_else(|p| p.into_inner()).insert(at.clone()) {
            eprintln!("lambda_event: lambda_http panicked decoding an event (upstream, skipped): {info}");
        }
    }));
    let decoded = std::panic::catch_unwind(|| lambda_http::request::from_str(text));
    std::panic::set_hook(fuzzer_hook);
    decoded.ok()?.ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(decoded) = decode(text) else { return };
    let req = ApiRequest::from_lambda(decoded);
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
