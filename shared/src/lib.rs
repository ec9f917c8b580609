//! gh-app-broker's library crate: everything the three Lambda binaries, the
//! local runner and the fuzz targets share.
//!
//! The layers, from the outside in; each imports only those below it
//! (`tests/layers.rs` holds the crate to this, and to no import cycles):
//! - [`api`]: the HTTP edge. The route tables (method, path, handler and
//!   the caller it requires), request and response bodies, id parsing, the
//!   webhook's signature check, errors to responses. The only layer that
//!   knows Lambda's event shapes.
//! - [`service`]: the use cases (OAuth, linking, token vending, repository
//!   operations, webhooks) as pipelines over the ports.
//! - [`app`]: the composition root. [`App::build`] opens every port from
//!   the [`config`], for the functions, the local runner, the fuzz targets
//!   and the tests alike.
//! - [`error`]: the use cases' error, and its status and code.
//! - the ports, each a trait module with its adapters in sub-modules:
//!   [`store`] (DynamoDB, an embedded file), [`github`] (REST over reqwest),
//!   [`secrets`] (Secrets Manager, a given value), [`events`] (EventBridge
//!   and S3, an in-process bus), [`clock`]; below them [`aws_bounds`], the
//!   time bounds of every AWS SDK client.
//! - [`domain`]: values and rules, with its own error type; no I/O.
//! - below all: [`crypto`], [`deadline`], [`telemetry`].

pub mod api;
pub mod app;
pub mod aws_bounds;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod events;
pub mod github;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use error::Error;
