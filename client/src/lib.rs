//! A typed async client for gh-app-broker's HTTP API (`openapi.yaml`).
//!
//! It covers every route a platform service or an operator calls:
//!
//! - the **internal** routes (`/internal/...`: installation and user tokens,
//!   repositories, commits, revocation, reconcile), signed with AWS SigV4
//!   for the service `execute-api`, with credentials from `aws-config`'s
//!   default chain ([`ClientBuilder::default_credentials`]) or given
//!   explicitly ([`ClientBuilder::static_credentials`], e.g. the local
//!   runner's pair);
//! - the **frontend** routes (`/github/...`, `/accounts/...`), sent with
//!   `Authorization: Bearer <JWT>` ([`ClientBuilder::jwt`]).
//!
//! Two routes are left out on purpose: `POST /webhook` (GitHub calls it,
//! signed with the app's webhook secret) and `POST /github/oauth/callback`
//! (the browser's leg of the OAuth dance, carrying GitHub's code back).
//!
//! Errors are typed ([`Error`]): the broker's refusals carry their
//! [`ErrorCode`], API Gateway's IAM refusal is [`Error::Forbidden`], and
//! [`Error::class`] gives a coarse [`ErrorClass`]. Calls are retried only
//! where that cannot do a thing twice (see [`retry`], and each method's
//! documentation).
//!
//! # Example
//!
//! ```no_run
//! use broker_client::types::VendRequest;
//! use broker_client::{Client, Error, ErrorCode};
//!
//! # async fn example() -> Result<(), Error> {
//! // Credentials and region from the default chain (environment, profile,
//! // SSO, container or instance role).
//! let client = Client::builder("https://abc123.execute-api.eu-west-1.amazonaws.com")
//!     .default_credentials()
//!     .await
//!     .build()?;
//!
//! let scope = VendRequest {
//!     repositories: Some(vec!["web".into()]),
//!     ..Default::default()
//! };
//! match client.installation_token("team-a", 42, &scope).await {
//!     Ok(vended) => println!("token valid until {}", vended.expires_at),
//!     Err(Error::Api { code: ErrorCode::InstallationNotLinked, .. }) => {
//!         eprintln!("link the installation to team-a first");
//!     }
//!     Err(Error::Forbidden { .. }) => eprintln!("not allowed to call the internal routes"),
//!     Err(e) => eprintln!("{} ({})", e, e.class()),
//! }
//! # Ok(())
//! # }
//! ```

mod builder;
mod client;
pub mod error;
pub mod retry;
mod routes;
pub mod types;

pub use builder::ClientBuilder;
pub use client::Client;
pub use error::{Error, ErrorClass, ErrorCode};
pub use retry::{Idempotency, RetryPolicy};

/// The SigV4 service name of API Gateway.
pub const SIGNING_SERVICE: &str = "execute-api";
