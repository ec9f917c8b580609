//! `template.yaml` against the route tables the handlers are built from: the
//! HTTP API routes each route to the function that serves it, with the
//! authorization that function expects, and neither side has a route the
//! other lacks. Reads the file only: no moto, no simulator.

use std::collections::BTreeSet;

use broker::api::routes::{Access, RouteSpec, OAUTH_ROUTES, RECONCILER_ROUTES, TOKEN_VENDING_ROUTES, WEBHOOK_ROUTES};
use broker::api::Function;
use serde_yaml::Value;

const OAUTH: &str = "OAuthCallbackFunction";
const VENDING: &str = "TokenVendingFunction";
const WEBHOOK: &str = "WebhookFunction";
const RECONCILER: &str = "ReconcilerFunction";
const API: &str = "HttpApi";

/// (function logical id, method, path, access)
type Route = (String, String, String, &'static str);

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read template.yaml")).expect("parse template.yaml")
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    let r = &template["Resources"][id];
    assert!(!r.is_null(), "template.yaml has no resource {id}");
    r
}

/// A function's property, falling back to the template's `Globals`.
fn function_property<'a>(template: &'a Value, id: &str, name: &str) -> &'a Value {
    match &resource(template, id)["Properties"][name] {
        Value::Null => &template["Globals"]["Function"][name],
        v => v,
    }
}

/// The logical id behind `!Ref Id`.
fn ref_target(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        _ => None,
    }
}

fn access_name(access: Access) -> &'static str {
    match access {
        Access::Jwt => "JWT",
        Access::Iam => "IAM",
        Access::Signature => "signature",
    }
}

fn served(function: &str, routes: &[RouteSpec]) -> BTreeSet<Route> {
    routes
        .iter()
        .map(|r| {
            (
                function.to_owned(),
                r.method.to_string(),
                r.path.to_owned(),
                access_name(r.access()),
            )
        })
        .collect()
}

/// What the handlers serve behind the HTTP API.
fn handler_routes() -> BTreeSet<Route> {
    let mut all = served(OAUTH, &OAUTH_ROUTES);
    all.extend(served(VENDING, &TOKEN_VENDING_ROUTES));
    all.extend(served(RECONCILER, &RECONCILER_ROUTES));
    all
}

/// How the HTTP API authorizes a route: `AWS_IAM`, the default authorizer
/// when the route names none, or a named authorizer; JWT authorizers are
/// the only other kind the template may use.
fn template_access(api: &Value, event: &Value) -> &'static str {
    let auth = &api["Properties"]["Auth"];
    let authorizer = match event["Auth"]["Authorizer"].as_str() {
        Some(name) => name,
        None => match auth["DefaultAuthorizer"].as_str() {
            Some(name) => name,
            None => return "none",
        },
    };
    match authorizer {
        "AWS_IAM" if auth["EnableIamAuthorizer"] == Value::Bool(true) => "IAM",
        "AWS_IAM" => "AWS_IAM without EnableIamAuthorizer",
        "NONE" => "none",
        name if !auth["Authorizers"][name]["JwtConfiguration"].is_null() => "JWT",
        _ => "an authorizer that is not JWT",
    }
}

/// Every `HttpApi` event of every function in the template.
fn template_routes(template: &Value) -> BTreeSet<Route> {
    let api = resource(template, API);
    let mut routes = BTreeSet::new();
    for (id, r) in template["Resources"].as_mapping().expect("Resources") {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().expect("logical ids are strings");
        for (name, event) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let p = &event["Properties"];
            let name = name.as_str().unwrap_or("?");
            assert_eq!(ref_target(&p["ApiId"]), Some(API), "{id}.{name} is not on {API}");
            assert_eq!(p["PayloadFormatVersion"].as_str(), Some("2.0"), "{id}.{name}");
            let method = p["Method"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}.{name} has no Method"));
            let path = p["Path"].as_str().unwrap_or_else(|| panic!("{id}.{name} has no Path"));
            routes.insert((
                id.to_owned(),
                method.to_uppercase(),
                path.to_owned(),
                template_access(api, p),
            ));
        }
    }
    routes
}

fn listed(routes: &BTreeSet<&Route>) -> String {
    if routes.is_empty() {
        return " none".into();
    }
    routes
        .iter()
        .map(|(f, m, p, a)| format!("\n  {m} {p} ({a}) -> {f}"))
        .collect()
}

#[test]
fn the_template_routes_exactly_the_handlers_routes_to_the_functions_that_serve_them() {
    let template = template_routes(&template());
    let handlers = handler_routes();

    let missing: BTreeSet<&Route> = handlers.difference(&template).collect();
    let unserved: BTreeSet<&Route> = template.difference(&handlers).collect();
    assert!(
        missing.is_empty() && unserved.is_empty(),
        "template.yaml and shared/src/api/routes.rs disagree.\n\
         Served by a handler, not routed so in template.yaml:{}\n\
         Routed in template.yaml, not served so by a handler:{}",
        listed(&missing),
        listed(&unserved),
    );
}

#[test]
fn iam_authorizes_the_internal_routes_and_nothing_else() {
    let template = template_routes(&template());
    let handlers = handler_routes();

    let iam = |routes: &BTreeSet<Route>| -> BTreeSet<(String, String)> {
        routes
            .iter()
            .filter(|r| r.3 == "IAM")
            .map(|(_, m, p, _)| (m.clone(), p.clone()))
            .collect()
    };
    assert_eq!(
        iam(&template),
        iam(&handlers),
        "IAM routes in template.yaml (left) and Access::Iam routes of the handlers (right)"
    );
    for (function, method, path, access) in &template {
        assert_eq!(
            *access == "IAM",
            path.starts_with("/internal/"),
            "{method} {path} ({function}) is authorized by {access}"
        );
    }
}

#[test]
fn frontend_routes_fall_to_the_jwt_authorizer_with_issuer_and_audience_from_parameters() {
    let template = template();
    let auth = &resource(&template, API)["Properties"]["Auth"];
    let default = auth["DefaultAuthorizer"].as_str().expect("a default authorizer");
    let jwt = &auth["Authorizers"][default]["JwtConfiguration"];

    assert_eq!(ref_target(&jwt["issuer"]), Some("JwtIssuer"));
    assert_eq!(ref_target(&jwt["audience"]), Some("JwtAudience"));
    assert!(!template["Parameters"]["JwtIssuer"].is_null());
    assert!(!template["Parameters"]["JwtAudience"].is_null());
}

#[test]
fn the_webhook_is_reached_through_a_function_url_that_trusts_only_the_signature() {
    let template = template();
    let webhook = &resource(&template, WEBHOOK)["Properties"];

    assert_eq!(webhook["FunctionUrlConfig"]["AuthType"].as_str(), Some("NONE"));
    assert!(
        webhook["Events"].is_null(),
        "the webhook takes no other events: {:?}",
        webhook["Events"]
    );
    assert!(WEBHOOK_ROUTES.iter().all(|r| r.access() == Access::Signature));
    let output = &template["Outputs"]["WebhookFunctionUrl"]["Value"];
    match output {
        Value::Tagged(t) if t.tag == "GetAtt" => {
            assert_eq!(t.value.as_str(), Some("WebhookFunctionUrl.FunctionUrl"))
        }
        other => panic!("the WebhookFunctionUrl output is not the function URL: {other:?}"),
    }
}

#[test]
fn each_function_is_its_own_binary_built_by_cargo_lambda_for_arm64() {
    let template = template();
    for (id, function) in [
        (OAUTH, Function::OAuthCallback),
        (VENDING, Function::TokenVending),
        (WEBHOOK, Function::Webhook),
        (RECONCILER, Function::Reconciler),
    ] {
        let metadata = &resource(&template, id)["Metadata"];
        assert_eq!(metadata["BuildMethod"].as_str(), Some("rust-cargolambda"), "{id}");
        assert_eq!(
            metadata["BuildProperties"]["Binary"].as_str(),
            Some(function.name()),
            "{id}"
        );
        let property = |name| function_property(&template, id, name);
        assert_eq!(property("Runtime").as_str(), Some("provided.al2023"), "{id}");
        assert_eq!(property("Handler").as_str(), Some("bootstrap"), "{id}");
        assert_eq!(property("CodeUri").as_str(), Some("."), "{id}");
        let architectures: Vec<_> = property("Architectures")
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(architectures, ["arm64"], "{id}");
    }
}

#[test]
fn every_function_gets_the_whole_configuration() {
    let template = template();
    for id in [OAUTH, VENDING, WEBHOOK, RECONCILER] {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for scope in [
            &template["Globals"]["Function"]["Environment"]["Variables"],
            &resource(&template, id)["Properties"]["Environment"]["Variables"],
        ] {
            names.extend(
                scope
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, _)| k.as_str().map(str::to_owned)),
            );
        }
        for name in [
            "TABLE_NAME",
            "APP_SECRET_ID",
            "GITHUB_API_URL",
            "GITHUB_WEB_URL",
            "FRONTEND_ORIGINS",
            "ACCOUNTS_CLAIM",
            "OAUTH_REDIRECT_URI",
            "RUST_LOG",
        ] {
            assert!(names.contains(name), "{id} lacks {name}");
        }
    }
}

#[test]
fn the_reconciler_runs_on_its_schedule_within_its_timeout() {
    let template = template();
    let reconciler = &resource(&template, RECONCILER)["Properties"];
    let scheduled: Vec<&Value> = reconciler["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(_, e)| e)
        .filter(|e| e["Type"].as_str() == Some("Schedule"))
        .collect();
    assert_eq!(scheduled.len(), 1, "one schedule");
    assert_eq!(
        ref_target(&scheduled[0]["Properties"]["Schedule"]),
        Some("ReconcileRate")
    );
    assert_eq!(
        template["Parameters"]["ReconcileRate"]["Default"].as_str(),
        Some("rate(5 minutes)")
    );
    let budget = &template["Parameters"]["ReconcileRateBudget"];
    assert_eq!(budget["Default"].as_u64(), Some(10));
    assert_eq!(
        ref_target(&reconciler["Environment"]["Variables"]["RECONCILE_RATE_BUDGET"]),
        Some("ReconcileRateBudget")
    );
    // A scheduled run stops starting work with a step's reserve left of
    // its run time, which must end inside the Lambda timeout.
    let timeout = reconciler["Timeout"].as_u64().expect("a Timeout");
    assert!(
        broker::service::reconcile::RUN_TIME.as_secs() + 30 <= timeout,
        "RUN_TIME must end well inside the {timeout} s timeout"
    );
}
