//! Structured JSON logs for CloudWatch. `RUST_LOG` sets the level (default
//! `info`); nothing the broker logs ever holds a token or secret.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Lambda adds its own timestamps; a second try (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}
