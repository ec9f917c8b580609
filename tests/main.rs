//! Integration tests: the real handlers, reached through the Lambda entry's
//! own event decoding, against a real DynamoDB-compatible server (moto) and the
//! GitHub simulator, both over HTTP on free ports.

mod helpers;

mod audit;
mod authorization;
mod concurrency;
mod faults;
mod forwarding;
mod github_client;
mod hostile;
mod hygiene;
mod iam;
mod installations;
mod link_authority;
mod link_policies;
mod oauth;
mod openapi;
mod out_of_order;
mod races;
mod reconcile;
mod refresh;
mod release_trace;
mod repos;
mod revocations;
mod roundtrips;
mod startup;
mod store_conformance;
mod template;
mod token_revocation;
mod unreadable;
mod user_tokens;
mod vending;
mod webhooks;
