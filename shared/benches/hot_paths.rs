//! Micro-benchmarks of the pure work on every request's path: webhook
//! signature verification, app JWT signing, claims parsing, token sealing
//! and opening, the scope cache key and the router. `cargo bench -p broker`.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

use broker::api::router::Router;
use broker::api::Function;
use broker::crypto::signature::{sign, WebhookVerifier};
use broker::crypto::TokenSealer;
use broker::domain::caller::Caller;
use broker::domain::scope::TokenScope;
use broker::github::jwt::AppJwt;
use broker::secrets::AppCredentials;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::Method;
use secrecy::SecretString;

const PRIVATE_KEY: &str = include_str!("../../tests/fixtures/keys/app-key.pkcs1.pem");
const WEBHOOK: &str = include_str!("../../tests/fixtures/webhooks/installation.created.json");
const KEY_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn credentials() -> AppCredentials {
    let secret = serde_json::json!({
        "app_id": "424242",
        "client_id": "Iv23liBench",
        "client_secret": "cs",
        "private_key": PRIVATE_KEY,
        "webhook_secret": "wh_bench",
        "token_encryption_key": KEY_B64,
    });
    AppCredentials::parse(&SecretString::from(secret.to_string())).expect("valid secret")
}

fn webhook_signature(c: &mut Criterion) {
    let verifier = WebhookVerifier::new(SecretString::from("wh_bench"), None);
    let good = sign("wh_bench", WEBHOOK.as_bytes());
    c.bench_function("webhook signature: verify a 3.3 KB payload", |b| {
        b.iter(|| verifier.verify(black_box(Some(good.as_str())), black_box(WEBHOOK.as_bytes())))
    });
    let rotating = WebhookVerifier::new(SecretString::from("wh_new"), Some(SecretString::from("wh_bench")));
    c.bench_function("webhook signature: verify against the previous secret", |b| {
        b.iter(|| rotating.verify(black_box(Some(good.as_str())), black_box(WEBHOOK.as_bytes())))
    });
}

fn app_jwt(c: &mut Criterion) {
    let jwt = AppJwt::default();
    // Fresh credentials each time: nothing cached, a real RS256 signature
    // (what every GitHub call as the app cost before JWTs were reused).
    c.bench_function("app JWT: sign RS256 (2048-bit)", |b| {
        b.iter_batched(
            credentials,
            |creds| jwt.sign(&creds, black_box(1_795_100_400)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let creds = credentials();
    jwt.sign(&creds, 1_795_100_400).unwrap();
    c.bench_function("app JWT: reuse the cached one", |b| {
        b.iter(|| jwt.sign(black_box(&creds), black_box(1_795_100_460)).unwrap())
    });
}

fn claims(c: &mut Criterion) {
    let claims = HashMap::from([
        ("sub".to_owned(), "alice".to_owned()),
        ("accounts".to_owned(), "[team-a team-b team-c]".to_owned()),
    ]);
    c.bench_function("claims: caller from API Gateway's JWT claims", |b| {
        b.iter(|| Caller::from_claims(black_box(&claims), "accounts"))
    });
}

fn sealing(c: &mut Criterion) {
    let sealer = TokenSealer::from_base64_key(KEY_B64).unwrap();
    let token = SecretString::from(format!("ghs_{}", "x".repeat(516)));
    let aad = "inst#5000#tok#contents:read";
    let sealed = sealer.seal(&token, aad);
    c.bench_function("token: seal (AES-256-GCM, 520-char token)", |b| {
        b.iter(|| sealer.seal(black_box(&token), black_box(aad)))
    });
    c.bench_function("token: open", |b| {
        b.iter(|| sealer.open(black_box(&sealed), black_box(aad)).unwrap())
    });
}

fn lookups(c: &mut Criterion) {
    let permissions = BTreeMap::from([
        ("contents".to_owned(), "read".to_owned()),
        ("issues".to_owned(), "write".to_owned()),
    ]);
    let scope = TokenScope::new(vec!["web".into(), "api".into()], vec![100001], permissions.clone()).unwrap();
    c.bench_function("scope: parse and validate", |b| {
        b.iter(|| {
            TokenScope::new(
                black_box(vec!["web".into(), "api".into()]),
                vec![100001],
                black_box(permissions.clone()),
            )
            .unwrap()
        })
    });
    c.bench_function("scope: cache key", |b| b.iter(|| black_box(&scope).cache_key()));
    let router = Router::new(Function::TokenVending.routes());
    c.bench_function("router: match the vend route", |b| {
        b.iter(|| {
            router
                .find(
                    black_box(&Method::POST),
                    black_box("/internal/accounts/team-a/installations/5000/token"),
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, webhook_signature, app_jwt, claims, sealing, lookups);
criterion_main!(benches);
