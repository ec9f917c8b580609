//! Lambda events as API Gateway (HTTP API, payload 2.0) and function URLs
//! deliver them, decoded exactly as in the running Lambda (serde_json,
//! straight into aws_lambda_events' HTTP API shape).

pub use lambda_emulator::events::{event, Auth};
