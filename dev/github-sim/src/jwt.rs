//! Verification of app JWTs as GitHub does it: an RS256 signature by the
//! app's key, `iss` naming the app (client id or app id), and `iat`/`exp`
//! checked against the SIM clock with GitHub's error messages.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::SimConfig;

pub(crate) const UNDECODABLE: &str = "A JSON web token could not be decoded";
pub(crate) const IAT_IN_FUTURE: &str = "'Issued at' claim ('iat') must be an Integer representing a time in the past.";
pub(crate) const EXP_TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
pub(crate) const EXPIRED: &str = "'Expiration time' claim ('exp') must be a numeric value \
     representing the future time at which the assertion expires.";
pub(crate) const BAD_ISSUER: &str = "'Issuer' claim ('iss') must be an Integer";
pub(crate) const UNKNOWN_ISSUER: &str = "Integration not found";

/// The longest lifetime GitHub accepts for an app JWT.
const MAX_JWT_LIFETIME: i64 = 600;

/// A claim that should be a number: JSON numbers (integer or not) and numeric strings.
fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Checks an app JWT; `Err` carries GitHub's 401 message.
pub(crate) fn verify(token: &str, key: &DecodingKey, config: &SimConfig, now: i64) -> Result<(), &'static str> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, key, &validation)
        .map_err(|_| UNDECODABLE)?
        .claims;

    let issuer_ok = match claims.get("iss") {
        Some(Value::Number(n)) => n.as_u64() == Some(config.app_id),
        Some(Value::String(s)) => *s == config.client_id || s.parse::<u64>().ok() == Some(config.app_id),
        _ => return Err(BAD_ISSUER),
    };
    if !issuer_ok {
        return Err(UNKNOWN_ISSUER);
    }

    let iat = number(claims.get("iat")).ok_or(IAT_IN_FUTURE)?;
    let exp = number(claims.get("exp")).ok_or(EXPIRED)?;
    if iat > now {
        return Err(IAT_IN_FUTURE);
    }
    if exp > now + MAX_JWT_LIFETIME || exp - iat > MAX_JWT_LIFETIME {
        return Err(EXP_TOO_FAR);
    }
    if exp <= now {
        return Err(EXPIRED);
    }
    Ok(())
}
