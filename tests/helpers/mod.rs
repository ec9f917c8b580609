//! The test harness: moto, the GitHub simulator, the real broker, events.

pub mod app;
pub mod consistency;
pub mod containers;
pub mod events;
pub mod fixtures;
pub mod logs;
pub mod moto;
pub mod platform;
pub mod receiver;
pub mod reconcile;
pub mod reliability;
pub mod secret_sweep;
pub mod table;

pub use app::{TestApp, User};
