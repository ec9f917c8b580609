//! How long each store keeps what it no longer needs: DynamoDB's TTL
//! (`expire_at`) and the embedded store's purge remove items after these
//! times. Correctness never depends on it: every expiry is checked by time.

use crate::domain::UnixTime;

/// OAuth states and cached tokens stay this long after they expire: a late
/// OAuth callback is told "expired" rather than "unknown", and a request
/// that read a token just before still finds its item.
pub const KEEP_AFTER_EXPIRY: i64 = 3600;

/// A delivery id is remembered this long: longer than GitHub keeps
/// deliveries to redeliver (three days), so a redelivery is always known.
pub const DELIVERY_MEMORY: i64 = 30 * 24 * 3600;

/// When an item that expires at `expires_at` may be removed.
pub fn removable_after(expires_at: UnixTime) -> UnixTime {
    expires_at + KEEP_AFTER_EXPIRY
}

/// When a delivery recorded at `now` may be forgotten.
pub fn delivery_forgotten_after(now: UnixTime) -> UnixTime {
    now + DELIVERY_MEMORY
}

/// A pass's listings of installations stay this long: longer than any pass
/// takes, even one the rate limit spreads over a day.
pub const LISTING_MEMORY: i64 = 7 * 24 * 3600;

/// A redelivery asked is remembered past GitHub's three days, so each
/// delivery is asked for at most once.
pub const REDELIVERY_MEMORY: i64 = 4 * 24 * 3600;
