//! Lambda events as API Gateway (HTTP API, payload 2.0) and function URLs
//! deliver them, decoded by lambda_http exactly as in the running Lambda.

pub use lambda_emulator::events::{event, Auth};
