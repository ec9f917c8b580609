//! The secrets port: the app's credentials (SPEC section 2), fetched once
//! per container from a [`SecretSource`] (Secrets Manager on AWS,
//! [`aws::SecretsManagerSource`]; a value given directly in the local
//! runner, [`StaticSecret`]), parsed into ready-to-use keys, and re-read
//! after a bounded time so a rotation takes effect without a deploy.
//!
//! Errors name the field at fault and never quote a value: the raw JSON is
//! walked by hand rather than deserialised, because serde's messages can
//! echo the offending input.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::EncodingKey;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, SecretLocation};
use crate::crypto::{TokenSealer, WebhookVerifier};

pub mod aws;
mod given;

pub use given::StaticSecret;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("app secret is missing the field `{0}`")]
    Missing(&'static str),
    #[error("app secret field `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
    #[error("app secret is not a JSON object")]
    NotAnObject,
    #[error("could not read the app secret: {0}")]
    Fetch(String),
    #[error("configuration: APP_SECRET_ID is required")]
    NotConfigured,
}

/// Everything the broker derives from the secret, parsed once per fetch.
pub struct AppCredentials {
    pub app_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub jwt_key: EncodingKey,
    pub webhook: WebhookVerifier,
    pub sealer: TokenSealer,
    pub app_slug: Option<String>,
    /// Names the signing identity (client id and private key) without
    /// revealing it: a JWT signed before is reused only under the same one.
    pub jwt_identity: [u8; 32],
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl AppCredentials {
    pub fn parse(raw: &SecretString) -> Result<Self, SecretError> {
        let value: Value = serde_json::from_str(raw.expose_secret()).map_err(|_| SecretError::NotAnObject)?;
        let obj = value.as_object().ok_or(SecretError::NotAnObject)?;

        let private_key = required(obj, "private_key")?;
        // Keys pasted into a single-line JSON value often keep literal "\n".
        let pem = if private_key.contains('\n') {
            private_key
        } else {
            private_key.replace("\\n", "\n")
        };
        let client_id = required(obj, "client_id")?;
        let jwt_identity = Sha256::new()
            .chain_update(client_id.as_bytes())
            .chain_update([0])
            .chain_update(pem.as_bytes())
            .finalize()
            .into();
        let jwt_key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| SecretError::Invalid {
            field: "private_key",
            reason: "not an RSA private key in PEM (PKCS#1 or PKCS#8)",
        })?;
        let sealer = TokenSealer::from_base64_key(&required(obj, "token_encryption_key")?).map_err(|_| {
            SecretError::Invalid {
                field: "token_encryption_key",
                reason: "must be base64 of exactly 32 bytes",
            }
        })?;
        let webhook = WebhookVerifier::new(
            SecretString::from(required(obj, "webhook_secret")?),
            optional(obj, "webhook_secret_previous")?.map(SecretString::from),
        );
        Ok(Self {
            app_id: required(obj, "app_id")?,
            client_id,
            client_secret: SecretString::from(required(obj, "client_secret")?),
            jwt_key,
            webhook,
            sealer,
            app_slug: optional(obj, "app_slug")?,
            jwt_identity,
        })
    }
}

fn optional(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, SecretError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        // app_id is commonly written as a number.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(SecretError::Invalid {
            field,
            reason: "must be a string",
        }),
    }
}

fn required(obj: &Map<String, Value>, field: &'static str) -> Result<String, SecretError> {
    optional(obj, field)?.ok_or(SecretError::Missing(field))
}

/// Where the secret's JSON comes from.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn fetch(&self) -> Result<SecretString, SecretError>;
}

/// The credentials the configuration names: from Secrets Manager through
/// `sdk`, or the value given, re-read every `SECRET_REFRESH_SECONDS`. A
/// container that cannot read and parse them must not start.
pub async fn open(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
) -> Result<SecretCache, SecretError> {
    let location = config.app_secret.as_ref().ok_or(SecretError::NotConfigured)?;
    let source: Arc<dyn SecretSource> = match location {
        SecretLocation::SecretsManager { id } => Arc::new(aws::SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            id.clone(),
        )),
        SecretLocation::Value(value) => Arc::new(StaticSecret(value.clone())),
    };
    SecretCache::load(source, clock, config.secret_refresh).await
}

struct Loaded {
    creds: Arc<AppCredentials>,
    fetched_at: UnixTime,
}

/// The longest a re-read may hold up the request that triggers it.
pub(crate) const REREAD_TIMEOUT: Duration = Duration::from_secs(2);

/// The current credentials, re-read from the source once they are older than
/// `max_age`. A failed or slow re-read keeps serving the last good
/// credentials: it gets at most [`REREAD_TIMEOUT`], and never more than half
/// of what is left of the request's deadline, so a Secrets Manager that
/// hangs cannot make the request that happened to trigger it run out of time.
pub struct SecretCache {
    source: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    max_age: Duration,
    loaded: RwLock<Loaded>,
    refreshing: tokio::sync::Mutex<()>,
}

impl SecretCache {
    /// Fetches and parses the secret: a container that cannot do this must not start.
    pub async fn load(
        source: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
        max_age: Duration,
    ) -> Result<Self, SecretError> {
        let creds = Arc::new(AppCredentials::parse(&source.fetch().await?)?);
        let loaded = RwLock::new(Loaded {
            creds,
            fetched_at: clock.now(),
        });
        Ok(Self {
            source,
            clock,
            max_age,
            loaded,
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    fn snapshot(&self) -> (Arc<AppCredentials>, UnixTime) {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        (loaded.creds.clone(), loaded.fetched_at)
    }

    pub async fn current(&self) -> Arc<AppCredentials> {
        let (creds, fetched_at) = self.snapshot();
        if self.clock.now() - fetched_at < self.max_age.as_secs() as i64 {
            return creds;
        }
        // One re-read per container at a time; the others keep the old value.
        let Ok(_guard) = self.refreshing.try_lock() else {
            return creds;
        };
        let allowed = crate::deadline::remaining().map_or(REREAD_TIMEOUT, |left| (left / 2).min(REREAD_TIMEOUT));
        let fetched = match tokio::time::timeout(allowed, self.source.fetch()).await {
            Ok(fetched) => fetched,
            Err(_) => Err(SecretError::Fetch(format!("no answer within {allowed:?}"))),
        };
        match fetched.and_then(|raw| AppCredentials::parse(&raw)) {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Loaded {
                    creds: fresh.clone(),
                    fetched_at: self.clock.now(),
                };
                fresh
            }
            Err(e) => {
                tracing::warn!(error = %e, "app secret re-read failed; keeping the last good one");
                creds
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS1: &str = include_str!("../../../tests/fixtures/keys/app-key.pkcs1.pem");
    const PKCS8: &str = include_str!("../../../tests/fixtures/keys/app-key.pkcs8.pem");
    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn secret(private_key: &str) -> Value {
        serde_json::json!({
            "app_id": 123456, "client_id": "Iv23liExample", "client_secret": "cs-value-123",
            "private_key": private_key, "webhook_secret": "wh-value-123",
            "token_encryption_key": KEY,
        })
    }

    fn parse(v: &Value) -> Result<AppCredentials, SecretError> {
        AppCredentials::parse(&SecretString::from(v.to_string()))
    }

    /// Answers the first fetch with `secret`, then never again.
    struct HangsAfterFirst {
        secret: Value,
        fetched: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl SecretSource for HangsAfterFirst {
        async fn fetch(&self) -> Result<SecretString, SecretError> {
            if self.fetched.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            Ok(SecretString::from(self.secret.to_string()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_re_read_keeps_the_last_good_credentials_and_fits_the_deadline() {
        let source = Arc::new(HangsAfterFirst {
            secret: secret(PKCS1),
            fetched: false.into(),
        });
        let clock = Arc::new(crate::clock::OffsetClock::default());
        let cache = SecretCache::load(source, clock.clone(), Duration::from_secs(300))
            .await
            .unwrap();
        clock.advance(301);
        let started = tokio::time::Instant::now();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);

        // Without the bound, the re-read would wait forever: fail instead.
        let bounded = tokio::time::timeout(
            Duration::from_secs(60),
            crate::deadline::within(Some(deadline), cache.current()),
        );
        let creds = bounded.await.expect("the re-read is bounded");

        // Paused time: the waits below are tokio's virtual time, exact but
        // for the real microseconds the deadline (a std Instant) lost.
        let waited = started.elapsed();
        assert_eq!(creds.app_id, "123456");
        assert!(
            waited <= Duration::from_millis(1500) && waited > Duration::from_millis(1400),
            "half of the 3 s left: {waited:?}"
        );
        let unbounded = cache.current().await;
        assert_eq!(unbounded.app_id, "123456");
        assert_eq!(
            started.elapsed() - waited,
            REREAD_TIMEOUT,
            "without a deadline, the 2 s cap"
        );
    }

    #[test]
    fn both_pkcs1_and_pkcs8_keys_are_accepted() {
        assert_eq!(parse(&secret(PKCS1)).unwrap().app_id, "123456");
        assert!(parse(&secret(PKCS8)).is_ok());
        assert!(parse(&secret(&PKCS1.replace('\n', "\\n"))).is_ok());
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in [
            "app_id",
            "client_id",
            "client_secret",
            "private_key",
            "webhook_secret",
            "token_encryption_key",
        ] {
            let mut v = secret(PKCS1);
            v.as_object_mut().unwrap().remove(field);
            let err = parse(&v).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn errors_never_quote_secret_values() {
        let mut v = secret("-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-value\n-----END RSA PRIVATE KEY-----");
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains("private_key") && !err.contains("not-a-key-value"), "{err}");
        v = secret(PKCS1);
        v["token_encryption_key"] = "short-key-value".into();
        let err = parse(&v).unwrap_err().to_string();
        assert!(
            err.contains("token_encryption_key") && !err.contains("short-key-value"),
            "{err}"
        );
        let err = AppCredentials::parse(&SecretString::from("{\"client_secret\": \"cs-value-123\"")).unwrap_err();
        assert!(!err.to_string().contains("cs-value-123"));
        assert!(!format!("{:?}", parse(&secret(PKCS1)).unwrap()).contains("cs-value-123"));
    }
}
