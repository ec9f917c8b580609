//! The composition root: the one place that builds every port's adapter
//! from the configuration, for the Lambda functions, the local runner, the
//! fuzz targets and the tests alike. [`App`] holds what one container
//! builds once and every request borrows.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, EventsBackend, StoreBackend};
use crate::events::EventBus;
use crate::github::Client;
use crate::secrets::{SecretCache, SecretError};
use crate::store::{Store, StoreError};

pub struct App {
    pub config: Config,
    pub secrets: SecretCache,
    pub store: Arc<dyn Store>,
    pub github: Arc<dyn Client>,
    pub clock: Arc<dyn Clock>,
    /// Where verified deliveries are published; `None`: not forwarded.
    pub events: Option<Arc<dyn EventBus>>,
    /// The app's slug, from the secret or `GET /app` once per container.
    app_slug: tokio::sync::OnceCell<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

impl App {
    /// What a Lambda container does at init: read the environment, then
    /// build everything on AWS (the SDK honours `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::build(config, Some(&sdk), Arc::new(SystemClock)).await
    }

    /// Every port as the configuration names it: the secret first (the
    /// store seals tokens with its key), then the store and GitHub. `sdk`
    /// reaches AWS; `None` loads the default chain, only if a port needs it.
    pub async fn build(config: Config, sdk: Option<&SdkConfig>, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let loaded;
        let sdk = match sdk {
            Some(sdk) => sdk,
            None => {
                loaded = aws_for(&config).await;
                &loaded
            }
        };
        let secrets = crate::secrets::open(&config, sdk, clock.clone()).await?;
        // The encryption key is taken once per container: see the README on rotating it.
        let sealer = secrets.current().await.sealer.clone();
        let store = crate::store::open(&config, sdk, sealer, clock.clone())?;
        let github = crate::github::open(&config, crate::store::RECORD_RESERVE, clock.clone())
            .map_err(|e| StartupError::Http(e.to_string()))?;
        let events = crate::events::open(&config, sdk);
        Ok(Self {
            config,
            secrets,
            store,
            github,
            clock,
            events,
            app_slug: tokio::sync::OnceCell::new(),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub async fn app_slug(&self) -> crate::github::GitHubResult<String> {
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

/// The AWS configuration a port of `config` needs: the default chain when
/// DynamoDB, Secrets Manager or EventBridge is named, and otherwise one that never looks for credentials
/// or a region (nothing will call AWS).
async fn aws_for(config: &Config) -> SdkConfig {
    let on_aws = matches!(config.store, Some(StoreBackend::DynamoDb { .. }))
        || matches!(
            config.app_secret,
            Some(crate::config::SecretLocation::SecretsManager { .. })
        )
        || matches!(config.events, Some(EventsBackend::EventBridge { .. }));
    if on_aws {
        aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
    } else {
        SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }
}
