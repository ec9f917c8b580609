//! The broker's values and rules. Nothing here performs I/O or knows about
//! Lambda, DynamoDB or HTTP: the services feed it data and act on its answers.

pub mod audit;
pub mod caller;
pub mod error;
pub mod events;
pub mod forwarding;
pub mod ids;
pub mod installation;
pub mod link_policy;
pub mod oauth;
pub mod policy;
pub mod reconcile;
pub mod repo;
pub mod scope;
pub mod tokens;

pub use caller::Caller;
pub use error::{DomainError, DomainResult};
pub use ids::{AccountId, GitHubUserId, InstallationId, UserId};
pub use installation::{Installation, InstallationStatus, OrgMembership};
pub use link_policy::LinkPolicy;

/// Seconds since the Unix epoch; every expiry in the broker is kept in this unit.
pub type UnixTime = i64;
