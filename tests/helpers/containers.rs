//! Lambda containers as separate processes: the `broker-container` binary
//! (exactly what the function mains run) with the Lambda environment, fed
//! events through its own Runtime API emulator, so a race spans processes
//! that share nothing but the table, the secret and GitHub.
//!
//! With `BROKER_TEST_LOG_DIR` set, each process logs at `trace` to
//! `$BROKER_TEST_LOG_DIR/<label>-<n>.log` (swept for secrets afterwards).
//! Processes are killed when their handle drops and, should the test binary
//! die first, by PR_SET_PDEATHSIG.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use broker::api::Function;
use lambda_emulator::{Emulator, Options};
use serde_json::Value;

use super::app::{TestResponse, FRONTEND, WEBHOOK_SECRET};
use super::events::{event, Auth};
use super::{TestApp, User};

/// A guard against a process that died without telling the emulator: far
/// above any answer's time, it only turns a hang into a failure.
const HANG: Duration = Duration::from_secs(120);

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The Lambda timeout of `function`, from `template.yaml`.
pub fn lambda_timeout(function: Function) -> u64 {
    let resource = match function {
        Function::OAuthCallback => "OAuthCallbackFunction",
        Function::TokenVending => "TokenVendingFunction",
        Function::Webhook => "WebhookFunction",
        Function::Reconciler => "ReconcilerFunction",
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    template["Resources"][resource]["Properties"]["Timeout"]
        .as_u64()
        .unwrap_or_else(|| panic!("{resource} has a Timeout"))
}

pub struct ProcessContainer {
    emulator: Emulator,
    child: Child,
    function: Function,
    /// Where it logs at TRACE, with `BROKER_TEST_LOG_DIR` set.
    pub log: Option<std::path::PathBuf>,
}

impl ProcessContainer {
    /// Starts one container of `function` for `app` (its table, secret and
    /// simulator), its AWS SDK pointed at `{aws_endpoint}/fn/{function}`: a
    /// proxy in front of moto (the recorder, or a test's own). `label` names
    /// the log file.
    pub async fn start(app: &TestApp, aws_endpoint: &str, function: Function, label: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_broker-container"));
        command.arg(function.name());
        Self::start_program(app, aws_endpoint, function, label, command, false).await
    }

    /// The same, logging to a file whether or not `BROKER_TEST_LOG_DIR` is
    /// set (then in the temporary folder): for a test that reads the logs.
    pub async fn start_logged(app: &TestApp, aws_endpoint: &str, function: Function, label: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_broker-container"));
        command.arg(function.name());
        Self::start_program(app, aws_endpoint, function, label, command, true).await
    }

    /// The same with the function's own binary (`bootstrap`, as built for
    /// Lambda): `binary` takes no argument.
    pub async fn start_binary(
        app: &TestApp,
        aws_endpoint: &str,
        function: Function,
        label: &str,
        binary: &std::path::Path,
    ) -> Self {
        Self::start_program(app, aws_endpoint, function, label, Command::new(binary), false).await
    }

    async fn start_program(
        app: &TestApp,
        aws_endpoint: &str,
        function: Function,
        label: &str,
        mut command: Command,
        always_log: bool,
    ) -> Self {
        let emulator = Emulator::start_with(Options {
            function_name: function.name().to_owned(),
            timeout: Duration::from_secs(lambda_timeout(function)),
        })
        .await
        .expect("emulator starts");
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", function.name())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.name()))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", label)
            .env(
                "AWS_ENDPOINT_URL",
                super::app::function_endpoint(aws_endpoint, function),
            )
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TABLE_NAME", &app.table)
            .env("APP_SECRET_ID", &app.secret_id)
            .env("GITHUB_API_URL", app.sim.url())
            .env("GITHUB_WEB_URL", app.sim.url())
            .env("FRONTEND_ORIGINS", FRONTEND)
            .stdin(Stdio::null());
        let dir = std::env::var_os("BROKER_TEST_LOG_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| always_log.then(std::env::temp_dir));
        let log = match dir {
            Some(dir) => {
                let n = SEQ.fetch_add(1, Ordering::Relaxed);
                let path = std::path::Path::new(&dir).join(format!("{label}-{}-{n}.log", std::process::id()));
                let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                command
                    .env("RUST_LOG", "trace")
                    .stdout(file.try_clone().unwrap())
                    .stderr(file);
                Some(path)
            }
            None => {
                command
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit());
                None
            }
        };
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().expect("the container's process starts");
        Self {
            emulator,
            child,
            function,
            log,
        }
    }

    /// One invocation of any event (a schedule's, say): its answer as is.
    pub async fn invoke(&self, event: Value) -> Value {
        tokio::time::timeout(HANG, self.emulator.invoke(event))
            .await
            .unwrap_or_else(|_| panic!("{} container did not answer", self.function.name()))
            .unwrap_or_else(|e| panic!("{} container failed: {e}", self.function.name()))
    }

    /// One invocation: the event in, API Gateway's response decoded.
    pub async fn send(&self, event: Value) -> TestResponse {
        self.try_send(event)
            .await
            .unwrap_or_else(|e| panic!("{} container failed: {e}", self.function.name()))
    }

    /// The same, or how the invocation failed: as Lambda does, the emulator
    /// ends one not answered within the function's timeout in `template.yaml`.
    pub async fn try_send(&self, event: Value) -> Result<TestResponse, lambda_emulator::InvokeError> {
        let answer = tokio::time::timeout(HANG, self.emulator.invoke(event))
            .await
            .unwrap_or_else(|_| panic!("{} container did not answer", self.function.name()))?;
        let status = answer["statusCode"].as_u64().expect("statusCode") as u16;
        let mut headers = http::HeaderMap::new();
        if let Some(map) = answer["headers"].as_object() {
            for (k, v) in map {
                if let (Ok(name), Some(Ok(value))) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    v.as_str().map(http::HeaderValue::from_str),
                ) {
                    headers.insert(name, value);
                }
            }
        }
        let body = match answer["body"].as_str() {
            Some(text) if !text.is_empty() => serde_json::from_str(text).expect("JSON body"),
            _ => Value::Null,
        };
        Ok(TestResponse { status, body, headers })
    }

    /// A frontend (JWT) route with a body and extra headers (API Gateway
    /// passes the request's own `Authorization` header on).
    pub async fn frontend_with(
        &self,
        user: &User,
        (method, path): (&str, &str),
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let body = body.map(Value::to_string);
        let mut all = vec![("content-type", "application/json"), ("origin", FRONTEND)];
        all.extend_from_slice(headers);
        let auth = Auth::Jwt(user.claims());
        self.send(event(method, path, &all, body.as_deref().map(str::as_bytes), &auth))
            .await
    }

    /// An internal (IAM) route of token-vending.
    pub async fn internal(&self, path: &str, body: &Value) -> TestResponse {
        self.request("POST", path, Some(body), Auth::Iam).await
    }

    /// A frontend (JWT) route.
    pub async fn frontend(&self, user: &User, method: &str, path: &str) -> TestResponse {
        self.request(method, path, None, Auth::Jwt(user.claims())).await
    }

    async fn request(&self, method: &str, path: &str, body: Option<&Value>, auth: Auth) -> TestResponse {
        let body = body.map(Value::to_string);
        let headers = [("content-type", "application/json"), ("origin", FRONTEND)];
        self.send(event(method, path, &headers, body.as_deref().map(str::as_bytes), &auth))
            .await
    }

    /// A signed webhook delivery, as GitHub sends it to the function URL.
    pub async fn webhook(&self, event_name: &str, delivery: &str, payload: &Value) -> TestResponse {
        let body = serde_json::to_vec(payload).unwrap();
        let signature = broker::crypto::signature::sign(WEBHOOK_SECRET, &body);
        let headers = [
            ("content-type", "application/json"),
            ("user-agent", "GitHub-Hookshot/0e1f2a3"),
            ("x-github-event", event_name),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", signature.as_str()),
        ];
        self.send(event("POST", "/", &headers, Some(&body), &Auth::None)).await
    }
}

impl Drop for ProcessContainer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` containers of `function`, started together.
pub async fn start_many(
    app: &TestApp,
    aws_endpoint: &str,
    function: Function,
    n: usize,
    label: &str,
) -> Vec<ProcessContainer> {
    let labels: Vec<String> = (0..n).map(|i| format!("{label}-{i}")).collect();
    futures::future::join_all(
        labels
            .iter()
            .map(|l| ProcessContainer::start(app, aws_endpoint, function, l)),
    )
    .await
}
