//! What API Gateway's JWT authorizer does in front of the frontend routes,
//! done locally: the runner signs its own development tokens (HS256 with a
//! key made at start) and hands the functions their claims. IAM for the
//! internal routes is `crate::sigv4`.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use broker::api::Authorizer;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Development sessions last a working day.
const SESSION_SECONDS: u64 = 12 * 3600;

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    accounts: Vec<String>,
    iss: String,
    exp: u64,
}

pub struct LocalAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl LocalAuth {
    pub fn new() -> Self {
        let key = random();
        Self {
            encoding: EncodingKey::from_secret(key.as_bytes()),
            decoding: DecodingKey::from_secret(key.as_bytes()),
        }
    }

    pub fn sign_in(&self, sub: &str, accounts: &[String], now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: sub.into(),
            accounts: accounts.to_vec(),
            iss: "broker-local".into(),
            exp: now + SESSION_SECONDS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The authorizer context API Gateway would hand the function: claims
    /// as strings (arrays rendered `[a b]`, as API Gateway does), or none.
    pub fn authorize(&self, authorization: Option<&str>) -> Authorizer {
        let Some(token) = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
            return Authorizer::None;
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&["broker-local"]);
        match decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Authorizer::Jwt(HashMap::from([
                ("sub".to_owned(), data.claims.sub),
                ("accounts".to_owned(), format!("[{}]", data.claims.accounts.join(" "))),
            ])),
            Err(_) => Authorizer::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_in_session_reaches_the_functions_as_api_gateway_claims() {
        let auth = LocalAuth::new();
        let jwt = auth
            .sign_in("alice", &["team-a".into(), "team-b".into()], 1_900_000_000)
            .unwrap();
        let Authorizer::Jwt(claims) = auth.authorize(Some(&format!("Bearer {jwt}"))) else {
            panic!("not a JWT")
        };
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["accounts"], "[team-a team-b]");
    }

    #[test]
    fn forged_expired_or_foreign_tokens_are_nobody() {
        let auth = LocalAuth::new();
        let other = LocalAuth::new();
        let foreign = other.sign_in("alice", &[], 1_900_000_000).unwrap();
        let expired = auth.sign_in("alice", &[], 1_000).unwrap();
        for header in [None, Some("Basic x"), Some("Bearer garbage")] {
            assert_eq!(auth.authorize(header), Authorizer::None);
        }
        assert_eq!(auth.authorize(Some(&format!("Bearer {foreign}"))), Authorizer::None);
        assert_eq!(auth.authorize(Some(&format!("Bearer {expired}"))), Authorizer::None);
    }
}
