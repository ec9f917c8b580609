//! Time as a port, so that expiry logic is tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::domain::UnixTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;

    /// Milliseconds since the Unix epoch, for ordering reads of GitHub that
    /// are seconds apart or less.
    fn now_millis(&self) -> i64 {
        self.now() * 1000
    }
}

fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        system_millis().div_euclid(1000)
    }

    fn now_millis(&self) -> i64 {
        system_millis()
    }
}

/// A clock that runs at the system's pace shifted by an adjustable offset:
/// tests use it to move the broker's "now" past an expiry.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }

    fn now_millis(&self) -> i64 {
        system_millis() + self.offset.load(Ordering::SeqCst) * 1000
    }
}
