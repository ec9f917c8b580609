//! The state one container builds once and every request borrows: config,
//! credentials, store, GitHub client and clock.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::github::rest::RestClient;
use crate::github::Client;
use crate::secret::{SecretCache, SecretError, SecretSource, SecretsManagerSource};
use crate::store::dynamo::DynamoStore;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub secrets: SecretCache,
    pub store: Arc<dyn Store>,
    pub github: Arc<dyn Client>,
    pub clock: Arc<dyn Clock>,
    /// The app's slug, from the secret or `GET /app` once per container.
    app_slug: tokio::sync::OnceCell<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("configuration: {0} is required on AWS")]
    Missing(&'static str),
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

/// One DynamoDB request attempt may take this long. The SDK sets no read
/// timeout by default: a request that never answers would hold the
/// invocation until Lambda kills it, with no error for the caller.
pub const DYNAMO_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// One DynamoDB operation, the SDK's retries (3 attempts, backoff of up to
/// 1 s then 2 s) included, takes at most this long.
pub const DYNAMO_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses to start a DynamoDB attempt (the first or a retry) whose whole
/// attempt timeout does not fit in the request's budget ([`crate::deadline`]).
/// So no attempt is ever cut by Lambda's kill, a multi-operation path (the
/// webhook's cleanup) stops between operations with a clear error, and a
/// write's outcome is never left unknown by the broker's own deadline.
#[derive(Debug)]
struct RequestDeadline;

impl aws_sdk_dynamodb::config::Intercept for RequestDeadline {
    fn name(&self) -> &'static str {
        "RequestDeadline"
    }

    fn read_before_attempt(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        Ok(crate::deadline::check(DYNAMO_ATTEMPT_TIMEOUT)?)
    }
}

/// The SDK's sleeps (its backoff before a retry, and the operation timeout)
/// end at the request's deadline at the latest: a backoff never outlives the
/// budget, the attempt after it is then refused by [`RequestDeadline`], and
/// an operation is cut at the deadline rather than by Lambda's kill.
#[derive(Debug)]
struct DeadlineSleep;

impl aws_sdk_dynamodb::config::AsyncSleep for DeadlineSleep {
    fn sleep(&self, duration: Duration) -> aws_sdk_dynamodb::config::Sleep {
        let capped = crate::deadline::remaining().map_or(duration, |left| duration.min(left));
        aws_sdk_dynamodb::config::Sleep::new(tokio::time::sleep(capped))
    }
}

/// The DynamoDB client of `sdk` (its retries: throttling and 5xx are retried
/// three times in all), with every request bounded in time, and attempts
/// started only inside the request's deadline.
fn dynamo_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(DYNAMO_ATTEMPT_TIMEOUT)
        .operation_timeout(DYNAMO_OPERATION_TIMEOUT)
        .build();
    // The SDK's connect timeout (and anything else the caller set) stays.
    if let Some(defaults) = sdk.timeout_config() {
        timeouts.take_defaults_from(defaults);
    }
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .interceptor(RequestDeadline)
            .sleep_impl(DeadlineSleep)
            .build(),
    )
}

impl App {
    pub fn new(
        config: Config,
        secrets: SecretCache,
        store: Arc<dyn Store>,
        github: Arc<dyn Client>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            secrets,
            store,
            github,
            clock,
            app_slug: tokio::sync::OnceCell::new(),
        }
    }

    /// What a Lambda container does at init: read the environment, then
    /// build everything on AWS (the SDK honours `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::on_aws(config, &sdk, Arc::new(SystemClock)).await
    }

    /// DynamoDB for state, Secrets Manager for credentials, GitHub over HTTPS.
    pub async fn on_aws(config: Config, sdk: &SdkConfig, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let table = config.table_name.clone().ok_or(StartupError::Missing("TABLE_NAME"))?;
        let secret_id = config
            .app_secret_id
            .clone()
            .ok_or(StartupError::Missing("APP_SECRET_ID"))?;
        let source: Arc<dyn SecretSource> = Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            secret_id,
        ));
        let secrets = SecretCache::load(source, clock.clone(), config.secret_refresh).await?;
        // The encryption key is taken once per container: see the README on rotating it.
        let sealer = secrets.current().await.sealer.clone();
        let store = Arc::new(DynamoStore::new(dynamo_client(sdk), table, sealer));
        let github = RestClient::new(
            config.github_api_url.clone(),
            config.github_web_url.clone(),
            config.github_timeout,
            clock.clone(),
        )
        .map_err(|e| StartupError::Http(e.to_string()))?;
        Ok(Self::new(config, secrets, store, Arc::new(github), clock))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub async fn app_slug(&self) -> crate::error::Result<String> {
        let creds = self.secrets.current().await;
        if let Some(slug) = &creds.app_slug {
            return Ok(slug.clone());
        }
        let slug = self
            .app_slug
            .get_or_try_init(|| async { self.github.app_slug(&creds).await })
            .await?;
        Ok(slug.clone())
    }
}
