//! Structured JSON logs for CloudWatch. `RUST_LOG` sets the level (default
//! `info`); nothing the broker logs ever holds a token or secret.
//!
//! Some dependencies log whole events below INFO: at TRACE lambda_runtime
//! writes every raw invocation event, which carries the platform's JWT, OAuth
//! codes and commit contents. Their events below INFO are dropped whatever
//! `RUST_LOG` says.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Crates whose verbose events quote request or event bodies.
const BODY_LOGGERS: [&str; 2] = ["lambda_runtime", "lambda_runtime_api_client"];

/// Whether an event or span may be logged at all, whatever the level asked.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !BODY_LOGGERS.iter().any(|c| in_crate(meta.target(), c))
}

fn in_crate(target: &str, krate: &str) -> bool {
    target
        .strip_prefix(krate)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

pub fn init() {
    let level = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .with_filter(level.and(filter_fn(allowed)));
    // Lambda adds its own timestamps; a second try (tests) is harmless.
    let _ = tracing_subscriber::registry().with(json).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;

    struct Site;
    impl tracing::Callsite for Site {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unimplemented!()
        }
    }
    static SITE: Site = Site;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&SITE)),
            Kind::EVENT,
        )
    }

    #[test]
    fn lambda_runtimes_verbose_events_are_never_logged() {
        for target in [
            "lambda_runtime::layers::api_response",
            "lambda_runtime",
            "lambda_runtime_api_client::body",
        ] {
            assert!(!allowed(&meta(target, Level::TRACE)), "{target}");
            assert!(!allowed(&meta(target, Level::DEBUG)), "{target}");
            assert!(allowed(&meta(target, Level::INFO)), "{target}");
            assert!(allowed(&meta(target, Level::ERROR)), "{target}");
        }
        assert!(allowed(&meta("broker::service", Level::TRACE)));
        assert!(allowed(&meta("lambda_runtime_other_crate", Level::TRACE)));
    }
}
