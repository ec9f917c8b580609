//! The handlers the route tables name, one file per audience. Each is thin:
//! parse the path and body into the domain's values, call one use case, map
//! its result to a response body. Who is calling was checked before.

pub mod oauth;
pub mod reconcile;
pub mod user;
pub mod vending;
pub mod webhook;
