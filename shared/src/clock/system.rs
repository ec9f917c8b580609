//! The clocks: the system's, and the system's shifted by an offset that
//! tests move.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Clock, UnixTime};

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
