//! The state one container builds once and every request borrows: config,
//! credentials, store, GitHub client and clock.

use std::sync::Arc;

use aws_config::SdkConfig;

pub use crate::store::dynamo::{DYNAMO_ATTEMPT_TIMEOUT, DYNAMO_OPERATION_TIMEOUT};

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
        let store = Arc::new(DynamoStore::connect(sdk, table, sealer));
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
