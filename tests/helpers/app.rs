//! `TestApp`: the real broker (the same `App::build` a Lambda container
//! runs) against moto and a fresh GitHub simulator, with a unique table and
//! secret per test. Requests go in as Lambda events.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use broker::api::{Function, Service};
use broker::clock::OffsetClock;
use broker::config::Config;
use broker::App;
use dynamo_proxy::DynamoProxy;
use github_sim::{GitHubSim, SimConfig};
use serde_json::{json, Value};

use super::events::{event, Auth};
use super::{moto, table};

/// Decodes an event as the Lambda runtime does: straight into the HTTP API's
/// shape, with serde_json.
pub fn decode_event(event: &Value) -> Result<ApiGatewayV2httpRequest, String> {
    serde_json::from_value(event.clone()).map_err(|e| format!("the runtime refused the event: {e}"))
}

/// What API Gateway makes of a function's answer: status, headers, and the
/// body as text (base64-decoded where the function encoded it).
pub fn answer(response: ApiGatewayV2httpResponse) -> (u16, http::HeaderMap, Option<String>) {
    let body = match response.body {
        Some(Body::Text(text)) => Some(text),
        Some(Body::Binary(bytes)) => Some(String::from_utf8(bytes).expect("UTF-8 body")),
        _ => None,
    };
    (response.status_code as u16, response.headers, body)
}

pub const APP_ID: u64 = 424242;
pub const APP_SLUG: &str = "platform-broker-test";
pub const CLIENT_ID: &str = "Iv23liTestClientId";
pub const CLIENT_SECRET: &str = "cs_test_5f2c9e0b7d4a41e8a3";
pub const WEBHOOK_SECRET: &str = "wh_test_77ab1c9f03e54d2b";
pub const PRIVATE_KEY: &str = include_str!("../fixtures/keys/app-key.pkcs1.pem");
pub const PRIVATE_KEY_PKCS8: &str = include_str!("../fixtures/keys/app-key.pkcs8.pem");
pub const PUBLIC_KEY: &str = include_str!("../fixtures/keys/app-key.pub.pem");
pub const FRONTEND: &str = "https://platform.example";

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl TestResponse {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A platform user as the JWT authorizer describes it.
#[derive(Clone, Debug)]
pub struct User {
    pub sub: String,
    pub accounts: Vec<String>,
}

impl User {
    pub fn new(sub: &str, accounts: &[&str]) -> Self {
        Self {
            sub: sub.into(),
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Claims as API Gateway hands them over: arrays rendered as `[a b]`.
    pub fn claims(&self) -> HashMap<String, String> {
        HashMap::from([
            ("sub".to_owned(), self.sub.clone()),
            ("accounts".to_owned(), format!("[{}]", self.accounts.join(" "))),
        ])
    }
}

/// One Lambda container of each function, with its own caches.
pub struct Container {
    pub oauth: Service,
    pub vending: Service,
    pub webhook: Service,
    pub reconciler: Service,
}

pub struct TestApp {
    pub sim: GitHubSim,
    pub clock: Arc<OffsetClock>,
    pub sdk: SdkConfig,
    pub table: String,
    pub secret_id: String,
    pub secret_json: Value,
    pub token_key: String,
    pub container: Container,
}

/// For the whole-run secret sweep: what this test's broker and simulator
/// dealt with, written when the test ends, whichever way it ends.
impl Drop for TestApp {
    fn drop(&mut self) {
        if super::secret_sweep::log_dir().is_some() {
            let mut secrets = super::secret_sweep::secrets_in(&self.secret_json);
            secrets.extend(self.sim.issued_secrets());
            super::secret_sweep::record_secrets(&self.table, secrets);
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Container;
    fn deref(&self) -> &Container {
        &self.container
    }
}

pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    rand_bytes(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

fn rand_bytes(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom").unwrap().read_exact(buf).unwrap();
}

/// Where `function` reaches AWS through the proxy at `aws_base`.
pub fn function_endpoint(aws_base: &str, function: Function) -> String {
    // The trailing slash: S3 appends the bucket to the endpoint's path as is.
    format!("{aws_base}/fn/{}/", function.name())
}

pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(&moto::endpoint()).await
}

/// The SDK's defaults (retries included, as on Lambda) against `endpoint`.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_secret(|_| {}).await
    }

    /// `edit` may change the secret's JSON before it is stored.
    pub async fn spawn_with_secret(edit: impl FnOnce(&mut Value)) -> Self {
        init_logging();
        let sdk = sdk_config().await;
        let table = unique("broker");
        table::create(&aws_sdk_dynamodb::Client::new(&sdk), &table).await;
        let sim = GitHubSim::start(SimConfig::new(APP_ID, APP_SLUG, CLIENT_ID, CLIENT_SECRET, PUBLIC_KEY))
            .await
            .expect("simulator starts");
        let mut key = [0u8; 32];
        rand_bytes(&mut key);
        let token_key = base64::engine::general_purpose::STANDARD.encode(key);
        let mut secret_json = json!({
            "app_id": APP_ID.to_string(),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "private_key": PRIVATE_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "token_encryption_key": token_key,
        });
        edit(&mut secret_json);
        let secret_id = unique("broker/app");
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&secret_id)
            .secret_string(secret_json.to_string())
            .send()
            .await
            .expect("create secret");
        let clock = Arc::new(OffsetClock::default());
        let config = config(&table, &secret_id, &sim.url());
        let container = Container::start(&config, &moto::recorder().url(), &clock).await;
        Self {
            container,
            sim,
            clock,
            sdk,
            table,
            secret_id,
            secret_json,
            token_key,
        }
    }

    /// The same, but the broker's containers reach moto through a
    /// [`DynamoProxy`] (every AWS call, Secrets Manager included), which
    /// counts and faults their requests. The test's own reads
    /// (`scan`, `keys`) and `new_container` still go to moto directly.
    pub async fn spawn_behind_proxy() -> (Self, DynamoProxy) {
        let mut app = Self::spawn().await;
        let proxy = DynamoProxy::start(&moto::endpoint()).expect("proxy starts");
        app.container = Container::start(&app.config(), &proxy.url(), &app.clock).await;
        proxy.reset_counts();
        (app, proxy)
    }

    pub fn config(&self) -> Config {
        config(&self.table, &self.secret_id, &self.sim.url())
    }

    pub async fn build_app(&self) -> Result<App, broker::app::StartupError> {
        App::build(self.config(), Some(&self.sdk), self.clock.clone()).await
    }

    /// Another container of each function: same table, secret and GitHub,
    /// nothing shared in memory.
    pub async fn new_container(&self) -> Container {
        Container::start(&self.config(), &moto::recorder().url(), &self.clock).await
    }

    /// A container whose configuration `edit` changed.
    pub async fn container_with(&self, edit: impl FnOnce(&mut Config)) -> Container {
        let mut config = self.config();
        edit(&mut config);
        Container::start(&config, &moto::recorder().url(), &self.clock).await
    }

    /// A container whose configuration `edit` changed, reaching AWS through
    /// `proxy` (as [`TestApp::spawn_behind_proxy`]'s containers do).
    pub async fn container_behind(&self, proxy: &DynamoProxy, edit: impl FnOnce(&mut Config)) -> Container {
        let mut config = self.config();
        edit(&mut config);
        Container::start(&config, &proxy.url(), &self.clock).await
    }

    /// Every item in the table, as debug text: for "no secret in the table" checks.
    pub async fn table_dump(&self) -> String {
        format!("{:?}", self.scan().await)
    }

    /// Every item's (pk, sk).
    pub async fn keys(&self) -> Vec<(String, String)> {
        let key = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
        };
        self.scan().await.iter().map(|i| (key(i, "pk"), key(i, "sk"))).collect()
    }

    pub async fn scan(&self) -> Vec<HashMap<String, AttributeValue>> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// The whole OAuth web flow for `user` as GitHub user `login`: start,
    /// the person authorizes on (simulated) GitHub, the frontend posts back.
    pub async fn connect(&self, user: &User, login: &str) -> TestResponse {
        let start = self
            .frontend(user, "POST", "/github/oauth/start", Some(json!({})))
            .await;
        assert_eq!(start.status, 200, "{:?}", start.body);
        let (state, challenge) = state_and_challenge(&start.body);
        let code = self.sim.authorize(login, Some(&challenge), None);
        self.frontend(
            user,
            "POST",
            "/github/oauth/callback",
            Some(json!({"code": code, "state": state})),
        )
        .await
    }

    /// Starts the OAuth flow (`start` is the body) and has `login` authorize
    /// it on the simulator: the state and the code GitHub would send back.
    pub async fn authorized(&self, user: &User, login: &str, start: Value) -> (String, String) {
        let response = self.frontend(user, "POST", "/github/oauth/start", Some(start)).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        let (state, challenge) = state_and_challenge(&response.body);
        (state, self.sim.authorize(login, Some(&challenge), None))
    }

    /// octocat owns octo-org, with a repository `web`, where the app is
    /// installed with `permissions`: the installation's id.
    pub fn octo_org(&self, permissions: &[(&str, &str)]) -> u64 {
        self.sim.add_user("octocat");
        self.sim.add_org("octo-org", &["octocat"]);
        self.sim.add_repo("octo-org", "web", false);
        self.sim
            .install("octo-org", github_sim::RepoSelection::All, permissions)
    }

    /// The common world: octocat owns octo-org (with a repository `web`),
    /// where the app is installed with `permissions`; alice, in team-a, is
    /// connected as octocat and has linked it to team-a.
    pub async fn octo_org_linked_to_team_a(&self, permissions: &[(&str, &str)]) -> (User, u64) {
        let installation = self.octo_org(permissions);
        let alice = User::new("alice", &["team-a"]);
        assert_eq!(self.connect(&alice, "octocat").await.status, 200);
        assert_eq!(self.link(&alice, "team-a", installation).await.status, 200);
        (alice, installation)
    }

    pub async fn link(&self, user: &User, account: &str, installation: u64) -> TestResponse {
        self.frontend(
            user,
            "PUT",
            &format!("/accounts/{account}/installations/{installation}"),
            None,
        )
        .await
    }

    pub async fn vend(&self, account: &str, installation: u64, body: Value) -> TestResponse {
        self.internal(
            "POST",
            &format!("/internal/accounts/{account}/installations/{installation}/token"),
            body,
        )
        .await
    }
}

/// The state and PKCE challenge on an authorize URL.
pub fn state_and_challenge(start: &Value) -> (String, String) {
    let url = url::Url::parse(start["authorize_url"].as_str().unwrap()).unwrap();
    let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"));
    assert_eq!(query["state"], start["state"].as_str().unwrap());
    (query["state"].clone(), query["code_challenge"].clone())
}

/// Broker logs go to the test's output (shown for failing tests), at
/// `RUST_LOG`'s level, default `warn`.
fn init_logging() {
    // A whole-run secret sweep wants every line at TRACE, in a file.
    if super::secret_sweep::init_file_logging() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

fn config(table: &str, secret_id: &str, github: &str) -> Config {
    let vars = HashMap::from([
        ("TABLE_NAME", table.to_owned()),
        ("APP_SECRET_ID", secret_id.to_owned()),
        ("GITHUB_API_URL", github.to_owned()),
        ("GITHUB_WEB_URL", github.to_owned()),
        ("FRONTEND_ORIGINS", FRONTEND.to_owned()),
        // Short enough that tests of the retry budget stay fast.
        ("GITHUB_TIMEOUT_SECONDS", "4".to_owned()),
    ]);
    Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
}

impl Container {
    /// One container of each function, each reaching AWS at
    /// `{aws_base}/fn/{function}`: a [`DynamoProxy`] (the recorder, or a
    /// test's own) learns from the path which function asked, for the IAM
    /// policy checks (`tests/iam.rs`).
    pub async fn start(config: &Config, aws_base: &str, clock: &Arc<OffsetClock>) -> Self {
        let app = |function: Function| async move {
            let sdk = sdk_config_at(&function_endpoint(aws_base, function)).await;
            App::build(config.clone(), Some(&sdk), clock.clone())
                .await
                .expect("app starts")
        };
        Self {
            oauth: Service::new(Function::OAuthCallback, app(Function::OAuthCallback).await.into()),
            vending: Service::new(Function::TokenVending, app(Function::TokenVending).await.into()),
            webhook: Service::new(Function::Webhook, app(Function::Webhook).await.into()),
            reconciler: Service::new(Function::Reconciler, app(Function::Reconciler).await.into()),
        }
    }

    pub async fn send(&self, function: Function, event: Value) -> TestResponse {
        let request = decode_event(&event).expect("the event decodes");
        let service = match function {
            Function::OAuthCallback => &self.oauth,
            Function::TokenVending => &self.vending,
            Function::Webhook => &self.webhook,
            Function::Reconciler => &self.reconciler,
        };
        let (status, headers, body) = answer(service.handle_lambda(request, None).await);
        let body = body
            .map(|b| serde_json::from_str(&b).expect("JSON body"))
            .unwrap_or(Value::Null);
        TestResponse { status, body, headers }
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<Value>, auth: Auth) -> TestResponse {
        let function = if path.starts_with("/github/oauth") {
            Function::OAuthCallback
        } else if path == "/internal/reconcile" {
            Function::Reconciler
        } else {
            Function::TokenVending
        };
        let body = body.map(|b| b.to_string());
        let headers = [("content-type", "application/json"), ("origin", FRONTEND)];
        self.send(
            function,
            event(method, path, &headers, body.as_deref().map(str::as_bytes), &auth),
        )
        .await
    }

    pub async fn frontend(&self, user: &User, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        self.request(method, path, body, Auth::Jwt(user.claims())).await
    }

    /// What the frontend's callback page posts.
    pub async fn callback(&self, user: &User, body: Value) -> TestResponse {
        self.frontend(user, "POST", "/github/oauth/callback", Some(body)).await
    }

    pub async fn internal(&self, method: &str, path: &str, body: Value) -> TestResponse {
        self.request(method, path, Some(body), Auth::Iam).await
    }

    /// Delivers a webhook to the function URL as GitHub does.
    pub async fn deliver(
        &self,
        event_name: &str,
        delivery: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> TestResponse {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("user-agent", "GitHub-Hookshot/0e1f2a3"),
            ("x-github-event", event_name),
            ("x-github-delivery", delivery),
            ("x-github-hook-installation-target-type", "integration"),
        ];
        if let Some(sig) = signature {
            headers.push(("x-hub-signature-256", sig));
        }
        self.send(Function::Webhook, event("POST", "/", &headers, Some(body), &Auth::None))
            .await
    }

    /// Signs with the app's webhook secret and delivers.
    pub async fn webhook(&self, event_name: &str, delivery: &str, payload: &Value) -> TestResponse {
        let body = serde_json::to_vec(payload).unwrap();
        let signature = broker::crypto::signature::sign(WEBHOOK_SECRET, &body);
        self.deliver(event_name, delivery, &body, Some(&signature)).await
    }
}
