//! The app's JWT (RS256, `iss` = client id). GitHub refuses an `iat` in its
//! future and an `exp` more than 10 minutes after its now, so the token is
//! issued 60 s in the past and expires 9 minutes after that: a minute of
//! margin either way. When GitHub still refuses it, its `Date` header tells
//! how far our clock is off, and the offset is applied from then on.

use std::sync::atomic::{AtomicI64, Ordering};

use jsonwebtoken::{encode, Algorithm, Header};
use serde::Serialize;

use crate::clock::UnixTime;
use crate::secret::AppCredentials;

const BACKDATE: i64 = 60;
const LIFETIME: i64 = 9 * 60;

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

#[derive(Debug, Default)]
pub struct AppJwt {
    /// GitHub's clock minus ours, in seconds, as last observed.
    skew: AtomicI64,
}

impl AppJwt {
    pub fn sign(&self, app: &AppCredentials, now: UnixTime) -> Result<String, jsonwebtoken::errors::Error> {
        let github_now = now + self.skew.load(Ordering::Relaxed);
        let iat = github_now - BACKDATE;
        let claims = Claims {
            iat,
            exp: iat + LIFETIME,
            iss: &app.client_id,
        };
        encode(&Header::new(Algorithm::RS256), &claims, &app.jwt_key)
    }

    /// Records GitHub's clock from its `Date` header; `true` if the offset
    /// changed enough to be worth a new JWT.
    pub fn learn_skew(&self, github_date: Option<&str>, now: UnixTime) -> bool {
        let Some(date) = github_date.and_then(|d| httpdate::parse_http_date(d).ok()) else {
            return false;
        };
        let github_now = date
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(now);
        let skew = github_now - now;
        let previous = self.skew.swap(skew, Ordering::Relaxed);
        (skew - previous).abs() >= 5
    }

    pub fn skew(&self) -> i64 {
        self.skew.load(Ordering::Relaxed)
    }
}

/// GitHub's messages for a JWT refused on timing grounds.
pub fn is_clock_complaint(message: &str) -> bool {
    message.contains("'Issued at' claim") || message.contains("'Expiration time' claim")
}
