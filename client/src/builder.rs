//! Building a [`Client`]: where its credentials, region, JWT and retry
//! policy come from.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use secrecy::SecretString;
use url::Url;

use crate::client::{Client, CredentialSource, Inner};
use crate::{Error, RetryPolicy};

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<CredentialSource>,
    region: Option<String>,
    chain_region: Option<String>,
    jwt: Option<SecretString>,
    retry: RetryPolicy,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// Credentials (and, if none is set, the region) from `aws-config`'s
    /// default chain: `aws_config::defaults(BehaviorVersion::latest())`.
    pub async fn default_credentials(self) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        self.sdk_config(&config)
    }

    /// Credentials and region of an SDK configuration already loaded.
    pub fn sdk_config(mut self, config: &aws_config::SdkConfig) -> Self {
        if let Some(provider) = config.credentials_provider() {
            self.credentials = Some(CredentialSource::Provider(provider));
        }
        self.chain_region = config.region().map(|r| r.to_string());
        self
    }

    /// Fixed credentials (an access key pair, and a session token for
    /// temporary ones): the local runner's pair, say.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.credentials = Some(CredentialSource::Static(Credentials::new(
            access_key_id,
            secret_access_key,
            session_token,
            None,
            "broker-client-static",
        )));
        self
    }

    /// The region to sign for. Without it: the region in an
    /// `execute-api.{region}.amazonaws.com` base URL, else the chain's.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The platform JWT the frontend routes are sent with.
    pub fn jwt(mut self, jwt: impl Into<String>) -> Self {
        self.jwt = Some(SecretString::from(jwt.into()));
        self
    }

    /// Retries (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The time one attempt may take, answer included (default 35 s: the
    /// HTTP API's own limit is 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A `reqwest` client of your own (its timeout then applies).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base =
            Url::parse(&self.base_url).map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL {:?} is not an http(s) URL",
                self.base_url
            )));
        }
        let region = self.region.or_else(|| region_of_url(&base)).or(self.chain_region);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .user_agent(concat!("broker-client/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credentials: self.credentials,
                region,
                jwt: self.jwt,
                retry: self.retry,
            }),
        })
    }
}

impl Client {
    /// A builder for a broker at `base_url` (the stack's `ApiUrl`, or
    /// `http://localhost:3000` for the local runner).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: None,
            region: None,
            chain_region: None,
            jwt: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(35),
            http: None,
        }
    }
}

/// The region of an API Gateway URL (`{id}.execute-api.{region}.amazonaws.com`).
fn region_of_url(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let mut labels = host.split('.');
    labels.next()?;
    (labels.next()? == "execute-api").then_some(())?;
    labels.next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_an_api_gateway_url() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            region_of_url(&url("https://abc.execute-api.eu-west-1.amazonaws.com")).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_url(&url("http://localhost:3000")), None);
        let client = Client::builder("https://abc.execute-api.us-east-2.amazonaws.com")
            .build()
            .unwrap();
        assert_eq!(client.inner.region.as_deref(), Some("us-east-2"));
        let client = Client::builder("https://abc.execute-api.us-east-2.amazonaws.com")
            .region("eu-central-1")
            .build()
            .unwrap();
        assert_eq!(client.inner.region.as_deref(), Some("eu-central-1"));
    }
}
