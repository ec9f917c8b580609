//! Time as a port, so that expiry logic is tested without sleeping.

mod system;

pub use crate::domain::UnixTime;
pub use system::{OffsetClock, SystemClock};

pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;

    /// Milliseconds since the Unix epoch, for ordering reads of GitHub that
    /// are seconds apart or less.
    fn now_millis(&self) -> i64 {
        self.now() * 1000
    }
}
