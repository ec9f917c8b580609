//! The app's JWT (RS256, `iss` = client id). GitHub refuses an `iat` in its
//! future and an `exp` more than 10 minutes after its now, so the token is
//! issued 60 s in the past and expires 9 minutes after that: a minute of
//! margin either way. When GitHub still refuses it, its `Date` header tells
//! how far our clock is off, and the offset is applied from then on.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use jsonwebtoken::{encode, Algorithm, Header};
use serde::Serialize;

use crate::clock::UnixTime;
use crate::secrets::AppCredentials;

const BACKDATE: i64 = 60;
const LIFETIME: i64 = 9 * 60;
/// A cached JWT is used only while it has this much life left on GitHub's
/// clock, so a slow request or a retry still arrives before it expires.
const REUSE_MARGIN: i64 = 2 * 60;

/// One signed JWT with the signing identity, clock offset and expiry it was
/// made for. An RSA signature costs about a millisecond of CPU; every mint
/// and `GET /app…` call needs a JWT, and one serves for up to six minutes.
#[derive(Debug, Default)]
struct JwtCache(Mutex<Option<Cached>>);

#[derive(Debug)]
struct Cached {
    jwt: String,
    /// [`AppCredentials::jwt_identity`]: a rotated key never reuses a JWT
    /// the old one signed.
    identity: [u8; 32],
    skew: i64,
    iat: i64,
    exp: i64,
}

impl JwtCache {
    fn get(&self, identity: &[u8; 32], skew: i64, github_now: i64) -> Option<String> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            // A clock that went back would make the cached `iat` too recent.
            .filter(|c| {
                &c.identity == identity
                    && c.skew == skew
                    && c.iat <= github_now - BACKDATE / 2
                    && github_now + REUSE_MARGIN <= c.exp
            })
            .map(|c| c.jwt.clone())
    }

    fn put(&self, cached: Cached) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(cached);
    }
}

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
    /// The last JWT signed, reused while it has life left.
    cache: JwtCache,
}

impl AppJwt {
    /// The app's JWT: the one signed before while it has enough life left
    /// (and the clock offset has not changed), else a new one.
    pub fn sign(&self, app: &AppCredentials, now: UnixTime) -> Result<String, jsonwebtoken::errors::Error> {
        let skew = self.skew.load(Ordering::Relaxed);
        let github_now = now + skew;
        if let Some(jwt) = self.cache.get(&app.jwt_identity, skew, github_now) {
            return Ok(jwt);
        }
        let iat = github_now - BACKDATE;
        let exp = iat + LIFETIME;
        let claims = Claims {
            iat,
            exp,
            iss: &app.client_id,
        };
        let jwt = encode(&Header::new(Algorithm::RS256), &claims, &app.jwt_key)?;
        self.cache.put(Cached {
            jwt: jwt.clone(),
            identity: app.jwt_identity,
            skew,
            iat,
            exp,
        });
        Ok(jwt)
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn credentials() -> AppCredentials {
        let secret = serde_json::json!({
            "app_id": "1",
            "client_id": "Iv23liUnit",
            "client_secret": "cs",
            "private_key": include_str!("../../../tests/fixtures/keys/app-key.pkcs1.pem"),
            "webhook_secret": "wh",
            "token_encryption_key": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        });
        AppCredentials::parse(&SecretString::from(secret.to_string())).unwrap()
    }

    fn exp_of(jwt: &str) -> i64 {
        use base64::Engine;
        let payload = jwt.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["exp"].as_i64().unwrap()
    }

    #[test]
    fn a_jwt_is_reused_while_it_has_two_minutes_left_then_signed_anew() {
        let (app, jwt) = (credentials(), AppJwt::default());
        let t0 = 1_795_100_400;
        let first = jwt.sign(&app, t0).unwrap();
        let last_reuse = exp_of(&first) - REUSE_MARGIN;
        assert_eq!(jwt.sign(&app, t0 + 1).unwrap(), first);
        assert_eq!(jwt.sign(&app, last_reuse).unwrap(), first);
        let next = jwt.sign(&app, last_reuse + 1).unwrap();
        assert_ne!(next, first);
        assert!(exp_of(&next) - (last_reuse + 1) > REUSE_MARGIN);
    }

    #[test]
    fn another_signing_key_never_reuses_the_jwt_the_first_one_signed() {
        let jwt = AppJwt::default();
        let t0 = 1_795_100_400;
        let first = jwt.sign(&credentials(), t0).unwrap();
        assert_eq!(jwt.sign(&credentials(), t0 + 1).unwrap(), first, "the same key");
        let mut rotated = credentials();
        rotated.jwt_identity[0] ^= 1;
        assert_ne!(jwt.sign(&rotated, t0 + 1).unwrap(), first);
    }

    #[test]
    fn a_new_clock_offset_or_a_clock_gone_back_gets_a_new_jwt() {
        let (app, jwt) = (credentials(), AppJwt::default());
        let t0 = 1_795_100_400;
        let first = jwt.sign(&app, t0).unwrap();
        assert_ne!(jwt.sign(&app, t0 - 60).unwrap(), first, "its iat would be ahead");
        let again = jwt.sign(&app, t0).unwrap();
        let date = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs((t0 + 90) as u64));
        assert!(jwt.learn_skew(Some(&date), t0));
        assert_ne!(jwt.sign(&app, t0).unwrap(), again);
    }
}
