//! A transport-neutral request: what a handler may look at.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// What the API Gateway (or the local runner standing in for it) vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorizer {
    None,
    /// Claims of a JWT the authorizer verified.
    Jwt(HashMap<String, String>),
    /// A SigV4-signed request IAM authorized, and who signed it (the
    /// caller's ARN as API Gateway reports it): the audit trail's caller.
    Iam {
        principal: String,
    },
}

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub auth: Authorizer,
    /// The raw query string, without `?` (empty: none).
    pub query: String,
}

/// Frontend and internal bodies are small; anything larger is refused unread.
pub const MAX_API_BODY: usize = 64 * 1024;

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the JSON body; an empty body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.json_up_to(MAX_API_BODY)
    }

    /// [`Self::json`] for the few routes that take larger bodies.
    pub fn json_up_to<T: DeserializeOwned>(&self, limit: usize) -> Result<T, Error> {
        if self.body.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| Error::bad_request("invalid_body", describe_json_error(&e)))
    }
}

/// serde's message, with any quoted input value removed: field names (in
/// backticks) are kept to help the caller, values are never echoed.
fn describe_json_error(e: &serde_json::Error) -> String {
    let mut out = String::new();
    let mut in_quotes = false;
    for c in e.to_string().chars() {
        match c {
            '"' if !in_quotes => {
                in_quotes = true;
                out.push_str("\"…");
            }
            '"' => {
                in_quotes = false;
                out.push('"');
            }
            _ if in_quotes => {}
            c => out.push(c),
        }
    }
    format!("invalid JSON body: {out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        count: u32,
    }

    fn request(body: &str) -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            path: "/".into(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            auth: Authorizer::None,
            query: String::new(),
        }
    }

    #[test]
    fn json_errors_name_fields_but_never_echo_values() {
        let err = request(r#"{"count": "ghs_secretvalue"}"#).json::<Body>().unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        assert!(!err.to_string().contains("ghs_secretvalue"), "{err}");
        let err = request(r#"{"count": 1, "ghs_secretfield": 2}"#)
            .json::<Body>()
            .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        #[derive(serde::Deserialize)]
        struct Optional {
            #[allow(dead_code)]
            x: Option<u32>,
        }
        assert!(request("").json::<Optional>().is_ok());
        assert!(request("  \n").json::<Optional>().is_ok());
    }
}
