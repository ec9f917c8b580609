//! `openapi.yaml` against the route tables the handlers are built from: every
//! route is described, with the caller it requires, its path parameters and
//! the error body, and the spec describes no route the broker lacks. What the
//! routes answer is proven by Schemathesis (`scripts/contract`); this keeps
//! the spec it runs from drifting away from the code. Reads files only.

use std::collections::BTreeSet;

use broker::api::routes::{Access, RouteSpec, OAUTH_ROUTES, RECONCILER_ROUTES, TOKEN_VENDING_ROUTES, WEBHOOK_ROUTES};
use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Where the spec puts the webhook: the function URL takes any path
/// (`/{*path}` in the table), broker-local serves it at `/webhook`.
const WEBHOOK_PATH: &str = "/webhook";

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read openapi.yaml");
    serde_yaml::from_str(&text).expect("openapi.yaml is YAML")
}

fn scheme(access: Access) -> &'static str {
    match access {
        Access::Jwt => "platformJwt",
        Access::Iam => "platformIam",
        Access::Signature => "githubSignature",
    }
}

fn spec_path(route: &RouteSpec) -> &'static str {
    match route.access() {
        Access::Signature => WEBHOOK_PATH,
        _ => route.path,
    }
}

/// (method, path, security scheme) of every route the broker serves.
fn table_routes() -> BTreeSet<(String, String, String)> {
    OAUTH_ROUTES
        .iter()
        .chain(&TOKEN_VENDING_ROUTES)
        .chain(&WEBHOOK_ROUTES)
        .chain(&RECONCILER_ROUTES)
        .map(|r| {
            (
                r.method.as_str().to_ascii_lowercase(),
                spec_path(r).to_owned(),
                scheme(r.access()).to_owned(),
            )
        })
        .collect()
}

/// Each operation's single required scheme; anything else (none, several,
/// alternatives) is reported as it is so the comparison fails visibly.
fn operation_scheme(operation: &Value) -> String {
    match operation["security"].as_array().map(Vec::as_slice) {
        Some([requirement]) => match requirement.as_object() {
            Some(req) if req.len() == 1 => req.keys().next().cloned().unwrap_or_default(),
            _ => format!("unusual requirement {requirement}"),
        },
        other => format!("security {other:?}"),
    }
}

fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let paths = spec["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op));
            }
        }
    }
    out
}

#[test]
fn every_route_is_in_the_spec_with_its_caller_and_nothing_else_is() {
    let spec = spec();
    assert!(
        spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "openapi.yaml should stay OpenAPI 3.1 (JSON Schema 2020-12)"
    );
    assert!(
        spec.get("security").is_none(),
        "no global security: each operation names its caller"
    );
    let described: BTreeSet<_> = operations(&spec)
        .into_iter()
        .map(|(method, path, op)| (method, path, operation_scheme(op)))
        .collect();
    let served = table_routes();
    let missing: Vec<_> = served.difference(&described).collect();
    let extra: Vec<_> = described.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes not in openapi.yaml (or with another caller): {missing:?}\n\
         operations in openapi.yaml the broker does not serve so: {extra:?}\n\
         (CORS preflight OPTIONS is deliberately not described)"
    );
}

#[test]
fn the_security_schemes_are_the_three_callers() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    for (name, kind) in [
        ("platformJwt", "http"),
        ("platformIam", "apiKey"),
        ("githubSignature", "apiKey"),
    ] {
        assert_eq!(schemes[name]["type"], kind, "{name}");
    }
    assert_eq!(schemes["platformJwt"]["scheme"], "bearer");
    // IAM as API Gateway's own OpenAPI extension spells it.
    assert_eq!(schemes["platformIam"]["in"], "header");
    assert_eq!(schemes["platformIam"]["name"], "Authorization");
    assert_eq!(schemes["platformIam"]["x-amazon-apigateway-authtype"], "awsSigv4");
    assert_eq!(schemes["githubSignature"]["in"], "header");
    assert_eq!(schemes["githubSignature"]["name"], "X-Hub-Signature-256");
}

/// Path parameters, whether declared on the path item or the operation.
fn path_parameters(spec: &Value, path: &str, op: &Value) -> BTreeSet<String> {
    let resolve = |p: &Value| -> Value {
        match p["$ref"].as_str() {
            Some(r) => {
                let name = r.strip_prefix("#/components/parameters/").expect("a parameter ref");
                spec["components"]["parameters"][name].clone()
            }
            None => p.clone(),
        }
    };
    let declared = spec["paths"][path]["parameters"]
        .as_array()
        .into_iter()
        .chain(op["parameters"].as_array())
        .flatten()
        .map(resolve);
    let mut names = BTreeSet::new();
    for p in declared.filter(|p| p["in"] == "path") {
        assert_eq!(p["required"], true, "{path}: path parameter {p} must be required");
        assert!(p["schema"].is_object(), "{path}: path parameter {p} needs a schema");
        names.insert(p["name"].as_str().expect("parameter name").to_owned());
    }
    names
}

#[test]
fn path_parameters_match_the_route_templates() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            path_parameters(&spec, &path, op),
            in_template,
            "{method} {path}: declared path parameters"
        );
    }
}

/// The schema behind a response, following one `$ref` to components.
fn response_schema<'a>(spec: &'a Value, response: &'a Value) -> &'a Value {
    let response = match response["$ref"].as_str() {
        Some(r) => &spec["components"]["responses"][r.strip_prefix("#/components/responses/").expect("ref")],
        None => response,
    };
    &response["content"]["application/json"]["schema"]
}

/// The codes an error response allows: `enum` or `const` on `error.code`.
/// An internal route's 403 may also be the HTTP API's own refusal of a
/// request IAM did not authorize (`IamForbidden`, no code): `anyOf` the two.
fn error_codes(schema: &Value) -> Option<BTreeSet<String>> {
    if let Some(branches) = schema["anyOf"].as_array() {
        let mut codes = BTreeSet::new();
        for branch in branches {
            if branch["$ref"] != "#/components/schemas/IamForbidden" {
                codes.extend(error_codes(branch)?);
            }
        }
        return Some(codes);
    }
    let parts = schema["allOf"].as_array()?;
    if !parts.iter().any(|p| p["$ref"] == "#/components/schemas/Error") {
        return None;
    }
    let code = parts
        .iter()
        .find_map(|p| p["properties"]["error"]["properties"].get("code"))?;
    let codes = match (&code["enum"], &code["const"]) {
        (Value::Array(list), _) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        (_, Value::String(one)) => BTreeSet::from([one.clone()]),
        _ => return None,
    };
    Some(codes)
}

#[test]
fn every_error_response_is_the_error_body_with_its_codes_and_each_caller_can_be_refused() {
    let spec = spec();
    let mut failures = Vec::new();
    for (method, path, op) in operations(&spec) {
        let responses = op["responses"].as_object().expect("responses");
        let mut refusals = BTreeSet::new();
        for (status, response) in responses {
            if status.starts_with('2') {
                continue;
            }
            match error_codes(response_schema(&spec, response)) {
                Some(codes) if !codes.is_empty() => {
                    if status == "401" || status == "403" {
                        refusals.extend(codes);
                    }
                }
                _ => failures.push(format!(
                    "{method} {path} {status}: not the Error body with listed codes"
                )),
            }
        }
        // The refusal each caller gets when it is missing, as the handlers answer it.
        let expected = match operation_scheme(op).as_str() {
            "platformIam" => "iam_required",
            _ => "unauthenticated",
        };
        if !refusals.contains(expected) {
            failures.push(format!("{method} {path}: no {expected} response"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every error code the broker's source can produce: the first argument of
/// the `Error` and `DomainError` constructors, `code: "…"` fields, and the fixed codes of
/// `Error::code`. Scanning the source keeps this list from being a copy.
fn source_error_codes() -> BTreeSet<String> {
    fn literal_after(text: &str, marker: &str, out: &mut BTreeSet<String>) {
        for (at, _) in text.match_indices(marker) {
            let rest = text[at + marker.len()..].trim_start();
            if let Some(code) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    out.insert(code.to_owned());
                }
            }
        }
    }
    fn visit(dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read shared/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                visit(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                // Unit tests quote codes too; only the code above them counts.
                let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                for marker in [
                    "invalid(",
                    "unprocessable(",
                    "bad_request(",
                    "forbidden(",
                    "not_found(",
                    "conflict(",
                    "unavailable(",
                    "code: ",
                ] {
                    literal_after(text, marker, out);
                }
                // The fixed codes of `Error::code` (not the GitHub adapter's names).
                if path.ends_with("src/error.rs") {
                    literal_after(text, "=> ", out);
                }
            }
        }
    }
    let mut codes = BTreeSet::new();
    visit(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src")),
        &mut codes,
    );
    codes
}

#[test]
fn the_spec_lists_exactly_the_error_codes_the_broker_can_answer() {
    let spec = spec();
    let mut in_spec = BTreeSet::new();
    for (_, _, op) in operations(&spec) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            if !status.starts_with('2') {
                in_spec.extend(error_codes(response_schema(&spec, response)).unwrap_or_default());
            }
        }
    }
    // Answered for a method no path serves, so on no described operation.
    in_spec.insert("method_not_allowed".to_owned());
    let in_source = source_error_codes();
    assert!(in_source.len() > 30, "the source scan found too little: {in_source:?}");
    let undocumented: Vec<_> = in_source.difference(&in_spec).collect();
    let unknown: Vec<_> = in_spec.difference(&in_source).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "codes the broker answers that openapi.yaml lists nowhere: {undocumented:?}\n\
         codes in openapi.yaml the broker never answers: {unknown:?}"
    );
}

/// Found by Schemathesis (`unsupported_method`): a 405 must say what the
/// path does serve (RFC 9110), on the HTTP API and on the webhook alike.
#[tokio::test]
async fn a_method_the_path_does_not_serve_is_405_with_allow() {
    use crate::helpers::events::{event, Auth};
    use crate::helpers::{TestApp, User};
    use broker::api::Function;

    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);
    for (method, path, allow) in [
        ("PATCH", "/github/user", "GET, DELETE, OPTIONS"),
        (
            "POST",
            "/accounts/team-a/installations/7",
            "PUT, PATCH, DELETE, OPTIONS",
        ),
        ("GET", "/internal/accounts/team-a/repos", "POST, OPTIONS"),
    ] {
        let response = app.frontend(&alice, method, path, None).await;
        assert_eq!((response.status, response.error_code()), (405, "method_not_allowed"));
        assert_eq!(response.headers["allow"], allow, "{method} {path}");
    }
    let webhook = app
        .send(Function::Webhook, event("GET", "/webhook", &[], None, &Auth::None))
        .await;
    assert_eq!((webhook.status, webhook.error_code()), (405, "method_not_allowed"));
    assert_eq!(webhook.headers["allow"], "POST");
}
