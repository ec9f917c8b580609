//! The client's core: one call signed (SigV4) or carrying the JWT, sent,
//! retried as its route allows, and its answer read. The routes are in
//! `routes.rs`.

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error;
use crate::retry::Failure;
use crate::{Error, Idempotency, RetryPolicy, SIGNING_SERVICE};

/// Where AWS credentials come from.
#[derive(Clone)]
pub(crate) enum CredentialSource {
    Static(Credentials),
    Provider(SharedCredentialsProvider),
}

/// How a route is authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    Jwt,
    Iam,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) credentials: Option<CredentialSource>,
    pub(crate) region: Option<String>,
    pub(crate) jwt: Option<SecretString>,
    pub(crate) retry: RetryPolicy,
}

/// A client of one broker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("region", &self.inner.region)
            .field("iam", &self.inner.credentials.is_some())
            .field("jwt", &self.inner.jwt.is_some())
            .finish()
    }
}

/// One call: a route, its body and how it is authorized and retried.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) segments: Vec<&'a str>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) auth: Auth,
    pub(crate) kind: Idempotency,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, segments: &[&'a str], auth: Auth, kind: Idempotency) -> Self {
        Self {
            method,
            segments: segments.to_vec(),
            query: Vec::new(),
            body: None,
            auth,
            kind,
        }
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| Error::Config(format!("request body: {e}")))?);
        Ok(self)
    }
}

impl Client {
    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The same client with another JWT for the frontend routes.
    pub fn with_jwt(&self, jwt: impl Into<String>) -> Client {
        let inner = &self.inner;
        Client {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                base: inner.base.clone(),
                credentials: inner.credentials.clone(),
                region: inner.region.clone(),
                jwt: Some(SecretString::from(jwt.into())),
                retry: inner.retry,
            }),
        }
    }

    fn url(&self, call: &Call<'_>) -> Url {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().expect("checked by build");
            path.pop_if_empty();
            path.extend(&call.segments);
        }
        url.set_query(None);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    async fn credentials(&self) -> Result<(Credentials, &str), Error> {
        let credentials = match &self.inner.credentials {
            None => {
                return Err(Error::Credentials(
                    "no AWS credentials to sign an internal route with".into(),
                ))
            }
            Some(CredentialSource::Static(c)) => c.clone(),
            Some(CredentialSource::Provider(p)) => p
                .provide_credentials()
                .await
                .map_err(|e| Error::Credentials(format!("AWS credentials: {}", error::with_sources(&e))))?,
        };
        let region = self.inner.region.as_deref().ok_or_else(|| {
            Error::Credentials("no AWS region to sign for: set one (AWS_REGION, or the client's region)".into())
        })?;
        Ok((credentials, region))
    }

    /// The request of one attempt, authorized (signed afresh each time).
    async fn request(&self, call: &Call<'_>, url: &Url) -> Result<reqwest::Request, Error> {
        let body = call.body.clone().unwrap_or_default();
        let mut request = reqwest::Request::new(call.method.clone(), url.clone());
        if call.body.is_some() {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        match call.auth {
            Auth::Jwt => {
                let jwt = self
                    .inner
                    .jwt
                    .as_ref()
                    .ok_or_else(|| Error::Credentials("no JWT: frontend routes need the platform's JWT".into()))?;
                let mut value = HeaderValue::from_str(&format!("Bearer {}", jwt.expose_secret()))
                    .map_err(|_| Error::Credentials("the JWT is not a valid header value".into()))?;
                value.set_sensitive(true);
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            Auth::Iam => {
                let (credentials, region) = self.credentials().await?;
                let identity: Identity = credentials.into();
                let params = v4::SigningParams::builder()
                    .identity(&identity)
                    .region(region)
                    .name(SIGNING_SERVICE)
                    .time(SystemTime::now())
                    .settings(SigningSettings::default())
                    .build()
                    .map_err(|e| Error::Credentials(format!("signing: {e}")))?
                    .into();
                let headers: Vec<(&str, &str)> = request
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
                    .collect();
                let signable = SignableRequest::new(
                    call.method.as_str(),
                    url.as_str(),
                    headers.into_iter(),
                    SignableBody::Bytes(&body),
                )
                .map_err(|e| Error::Credentials(format!("signing: {e}")))?;
                let (instructions, _) = sign(signable, &params)
                    .map_err(|e| Error::Credentials(format!("signing: {e}")))?
                    .into_parts();
                let (headers, params) = instructions.into_parts();
                debug_assert!(params.is_empty(), "signatures go in headers");
                for header in headers {
                    let mut value = HeaderValue::from_str(header.value())
                        .map_err(|e| Error::Credentials(format!("signing: {e}")))?;
                    value.set_sensitive(header.sensitive());
                    request.headers_mut().insert(
                        reqwest::header::HeaderName::from_bytes(header.name().as_bytes())
                            .map_err(|e| Error::Credentials(format!("signing: {e}")))?,
                        value,
                    );
                }
            }
        }
        if call.body.is_some() {
            *request.body_mut() = Some(body.into());
        }
        Ok(request)
    }

    /// Sends a call, retrying as its kind allows, and reads its answer.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let url = self.url(&call);
        let retry = self.inner.retry;
        let mut attempt = 1;
        loop {
            let request = self.request(&call, &url).await?;
            let (failure, error, retry_after) = match self.inner.http.execute(request).await {
                Err(e) => {
                    let failure = if e.is_connect() {
                        Failure::Connect
                    } else {
                        Failure::Transport
                    };
                    (failure, Error::Transport(e), None)
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| error::retry_after(v, SystemTime::now()));
                    match response.bytes().await {
                        Err(e) => (Failure::Transport, Error::Transport(e), None),
                        Ok(body) if (200..300).contains(&status) => {
                            return serde_json::from_slice(&body).map_err(|e| Error::Decode {
                                status,
                                message: e.to_string(),
                            })
                        }
                        Ok(body) => (Failure::Status(status), Error::from_body(status, &body), retry_after),
                    }
                }
            };
            match retry.delay(call.kind, failure, attempt, retry_after) {
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_the_base_and_escape_segments() {
        let client = Client::builder("http://localhost:3000/prod/").build().unwrap();
        let mut call = Call::new(
            Method::GET,
            &["accounts", "team a/b", "audit"],
            Auth::Jwt,
            Idempotency::Idempotent,
        );
        call.query = vec![("limit", "5".into())];
        assert_eq!(
            client.url(&call).as_str(),
            "http://localhost:3000/prod/accounts/team%20a%2Fb/audit?limit=5"
        );
        assert!(matches!(Client::builder("not a url").build(), Err(Error::Config(_))));
        assert!(matches!(Client::builder("ftp://x").build(), Err(Error::Config(_))));
    }

    #[test]
    fn debug_shows_no_secret() {
        let client = Client::builder("http://localhost:3000")
            .jwt("eyJsecret")
            .static_credentials("AKIDLOCAL", "s3cret", None)
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("eyJsecret") && !shown.contains("s3cret"), "{shown}");
    }
}
