//! The simulator's clock (system time plus a settable offset, in whole Unix
//! seconds) and the two timestamp formats GitHub uses: ISO 8601 in JSON bodies
//! and RFC 7231 HTTP-dates in the `Date` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::macros::format_description;
use time::OffsetDateTime;

/// Seconds since the Unix epoch on the system clock, plus `offset`.
pub(crate) fn now_unix(offset: i64) -> i64 {
    let system = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    system.saturating_add(offset)
}

/// `2026-01-02T03:04:05Z`, the format of every timestamp in GitHub's JSON.
pub(crate) fn iso8601(unix: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// `Tue, 15 Nov 1994 08:12:31 GMT`, for the `Date` header.
pub(crate) fn http_date(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(http_date(784_887_151), "Tue, 15 Nov 1994 08:12:31 GMT");
    }

    #[test]
    fn offset_applies() {
        let a = now_unix(0);
        let b = now_unix(3600);
        assert!((b - a - 3600).abs() <= 1);
    }
}
