//! Hostile input, table-driven (issue 6): every case is data (a name, the
//! raw Lambda event, the answer it must get). One world is built per family,
//! then each case is sent while the table and the simulator are watched: the
//! answer must be the expected status with the JSON error shape and code,
//! and nothing may change, neither in the table nor on GitHub.
//!
//! Two documented exceptions, each declared by the case that needs it: a
//! state presented by the wrong caller (or too late) is burnt (README,
//! "OAuth state"), so that one item may gain `used`; and a few requests must
//! reach GitHub to be refused there (a code GitHub rejects, a scope outside
//! the installation), which may cost a refused write request but nothing
//! GitHub issues or changes.

mod bodies;
mod callers;
mod claims;
mod ids;
mod names;
mod oauth;
mod repos;
mod runtime;
mod webhooks;
mod world;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use broker::api::Function;
use github_sim::Counter;
use serde_json::Value;

use crate::helpers::app::{answer, decode_event, TestResponse, FRONTEND, WEBHOOK_SECRET};
use crate::helpers::events::{event, Auth};
use crate::helpers::{reliability, TestApp, User};

pub use world::World;

/// What a hostile request must be answered with.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An error: this status and `{"error": {"code": this, "message"}}`.
    Error(u16, &'static str),
    /// A webhook acknowledged without effect (SPEC: ignored events and
    /// redeliveries are 2xx): 200 with this `result`.
    Ack(&'static str),
}

pub struct Case {
    pub name: String,
    pub function: Function,
    pub event: Value,
    pub answer: Answer,
    /// The OAuth state this request may burn, and nothing else.
    pub burns: Option<String>,
    /// Whether the request must reach GitHub to be refused there.
    pub asks_github: bool,
}

impl Case {
    pub fn new(name: impl Into<String>, function: Function, event: Value, answer: Answer) -> Self {
        Self {
            name: name.into(),
            function,
            event,
            answer,
            burns: None,
            asks_github: false,
        }
    }

    pub fn burning(mut self, state: &str) -> Self {
        self.burns = Some(state.to_owned());
        self
    }

    pub fn asking_github(mut self) -> Self {
        self.asks_github = true;
        self
    }
}

/// The function API Gateway routes `path` to.
fn function_for(path: &str) -> Function {
    if path.starts_with("/github/oauth") {
        Function::OAuthCallback
    } else {
        Function::TokenVending
    }
}

/// A frontend or internal request with a raw body, as API Gateway delivers it.
pub fn api(name: &str, auth: Auth, method: &str, path: &str, body: Option<&[u8]>, answer: Answer) -> Case {
    let headers = [("content-type", "application/json"), ("origin", FRONTEND)];
    Case::new(
        name,
        function_for(path),
        event(method, path, &headers, body, &auth),
        answer,
    )
}

/// A frontend request with a JSON body, as `user`.
pub fn jwt(name: &str, user: &User, method: &str, path: &str, body: Option<Value>, answer: Answer) -> Case {
    let body = body.map(|b| b.to_string());
    api(
        name,
        Auth::Jwt(user.claims()),
        method,
        path,
        body.as_deref().map(str::as_bytes),
        answer,
    )
}

/// An internal request with a JSON body, through IAM.
pub fn iam(name: &str, path: &str, body: Value, answer: Answer) -> Case {
    api(name, Auth::Iam, "POST", path, Some(body.to_string().as_bytes()), answer)
}

/// A webhook delivery with exactly these headers (lower-case names).
pub fn hook(name: &str, headers: &[(&str, &str)], body: &[u8], answer: Answer) -> Case {
    let mut all = vec![
        ("content-type", "application/json"),
        ("user-agent", "GitHub-Hookshot/0e1f2a3"),
    ];
    all.extend_from_slice(headers);
    Case::new(
        name,
        Function::Webhook,
        event("POST", "/", &all, Some(body), &Auth::None),
        answer,
    )
}

pub fn sign(body: &[u8]) -> String {
    broker::crypto::signature::sign(WEBHOOK_SECRET, body)
}

/// `depth` nested arrays: far beyond any JSON parser's recursion limit.
pub fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// The table, one sorted line per item, keyed by `pk|sk`.
async fn table_state(app: &TestApp) -> BTreeMap<String, String> {
    app.scan()
        .await
        .into_iter()
        .map(|item| {
            let key = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let sorted: BTreeMap<_, _> = item.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            (format!("{}|{}", key("pk"), key("sk")), format!("{sorted:?}"))
        })
        .collect()
}

/// An attribute value as text, maps sorted: the SDK's maps are HashMaps,
/// whose Debug order differs between two reads of the same item.
fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("M({sorted:?})")
        }
        AttributeValue::L(list) => format!("L({:?})", list.iter().map(canonical).collect::<Vec<_>>()),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            let mut set = set.clone();
            set.sort();
            format!("Set({set:?})")
        }
        other => format!("{other:?}"),
    }
}

/// What GitHub issued or changed, and how many write requests reached it.
#[derive(Debug, PartialEq, Eq)]
struct GitHubState {
    issued: usize,
    effects: Vec<usize>,
    writes: usize,
}

fn github_state(app: &TestApp) -> GitHubState {
    let counters = [
        Counter::MintsTotal,
        Counter::RepoCreations,
        Counter::Commits,
        Counter::RefUpdates,
        Counter::Revocations,
    ];
    GitHubState {
        issued: app.sim.issued_secrets().len(),
        effects: counters.iter().map(|c| app.sim.count(*c)).collect(),
        writes: ["POST", "PUT", "PATCH", "DELETE"]
            .iter()
            .map(|m| app.sim.count_path(m, "/"))
            .sum(),
    }
}

/// Sends a raw event through the runtime's own decoding, as Lambda would;
/// an event it cannot decode is reported, not panicked on.
async fn send(app: &TestApp, function: Function, event: &Value) -> Result<TestResponse, String> {
    let request = decode_event(event)?;
    let service = match function {
        Function::OAuthCallback => &app.oauth,
        Function::TokenVending => &app.vending,
        Function::Webhook => &app.webhook,
        Function::Reconciler => &app.reconciler,
    };
    let (status, headers, body) = answer(service.handle_lambda(request, None).await);
    let body = match body {
        Some(text) => serde_json::from_str(&text).map_err(|_| format!("{status}, not JSON: {text}"))?,
        None => return Err(format!("{status} without a body")),
    };
    Ok(TestResponse { status, body, headers })
}

/// What is wrong with the answer, if anything.
fn check_answer(response: &TestResponse, answer: &Answer) -> Option<String> {
    let header = |name: &str| response.headers.get(name).and_then(|v| v.to_str().ok());
    if header("content-type") != Some("application/json") || header("cache-control") != Some("no-store") {
        return Some(format!("headers {:?}", response.headers));
    }
    let text = response.body.to_string();
    if ["ghs_", "ghu_", "ghr_", "-----BEGIN"].iter().any(|p| text.contains(p)) {
        return Some("the answer carries a token".into());
    }
    let (status, shape_ok) = match answer {
        Answer::Error(status, code) => {
            let error = &response.body["error"];
            let ok = response.body.as_object().is_some_and(|o| o.len() == 1)
                && error.as_object().is_some_and(|o| o.len() == 2)
                && error["code"] == *code
                && error["message"].as_str().is_some_and(|m| !m.is_empty());
            (*status, ok)
        }
        Answer::Ack(result) => (200, response.body["result"] == *result),
    };
    (response.status != status || !shape_ok).then(|| format!("answered {} {}", response.status, response.body))
}

/// Runs every case against the world and records the family's figures;
/// fails with the list of cases that did not hold.
pub async fn run(family: &str, world: &World, cases: Vec<Case>) {
    let app = &world.app;
    let mut failures = Vec::new();
    let mut table = table_state(app).await;
    for case in &cases {
        let github = github_state(app);
        let outcome = send(app, case.function, &case.event).await;
        let after = table_state(app).await;
        let mut problems = Vec::new();
        match &outcome {
            Err(e) => problems.push(e.clone()),
            Ok(response) => problems.extend(check_answer(response, &case.answer)),
        }
        problems.extend(table_change(&table, &after, case.burns.as_deref()));
        let github_after = github_state(app);
        if github_after.issued != github.issued || github_after.effects != github.effects {
            problems.push(format!("GitHub changed: {github:?} -> {github_after:?}"));
        } else if !case.asks_github && github_after.writes != github.writes {
            problems.push("a write request reached GitHub".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
        table = after;
    }
    let tried = cases.len() as u64;
    reliability::record(
        "Hostile input",
        family,
        tried,
        tried - failures.len() as u64,
        "right 4xx, JSON error, no state change",
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} {family} cases did not hold:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The difference between two table states, beyond the one state a case may burn.
fn table_change(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    burns: Option<&str>,
) -> Option<String> {
    let burnt = burns.map(|s| format!("STATE#{s}|STATE"));
    // A refused attempt leaves its audit record, and nothing else: a new
    // record must say `refused`, and no old one may change.
    let audit = |k: &String| k.starts_with("AUDIT#") && !before.contains_key(k);
    let granted: Vec<&String> = after
        .iter()
        .filter(|(k, item)| audit(k) && !item.contains(r#""outcome": "S(\"refused\")""#))
        .map(|(k, _)| k)
        .collect();
    if !granted.is_empty() {
        return Some(format!("audited as not refused: {granted:?}"));
    }
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k) && Some(*k) != burnt.as_ref() && !audit(k))
        .collect();
    if !changed.is_empty() {
        return Some(format!("table changed: {changed:?}"));
    }
    let burnt = burnt?;
    let used = after
        .get(&burnt)
        .is_some_and(|item| item.contains(r#""used": "Bool(true)""#));
    (!used).then(|| "the state presented was not burnt".into())
}
