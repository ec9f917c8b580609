//! gh-app-broker's library crate: everything the three Lambda binaries share.
//!
//! The layers, from the outside in:
//! - [`api`]: turns an HTTP event into a call of the right service and maps the
//!   result (or error) back to JSON; this is the only layer that knows about
//!   Lambda's event shapes.
//! - [`service`]: the use cases (OAuth, linking, token vending, webhooks) as
//!   pipelines over the ports.
//! - [`domain`]: values and rules with no I/O at all.
//! - ports with one real adapter each: [`store`] (DynamoDB), [`github`]
//!   (reqwest), [`secret`] (Secrets Manager), [`clock`].
//!
//! [`app::App`] holds one instance of each, built once per container.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod github;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use error::Error;
