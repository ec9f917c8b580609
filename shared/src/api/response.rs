//! JSON responses, and the one place an [`Error`] becomes one.

use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Option<Value>,
}

impl ApiResponse {
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(body) => Self {
                status,
                headers: HeaderMap::new(),
                body: Some(body),
            },
            Err(e) => Self::error(&Error::Internal(format!("response did not serialise: {e}"))),
        }
    }

    pub fn ok(body: &impl Serialize) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// Maps an error to its status and `{"error": {"code", "message"}}`.
    /// Server-side failures are logged with their whole cause chain; the
    /// caller only ever sees the public message.
    pub fn error(error: &Error) -> Self {
        let status = error.status();
        if status.is_server_error() {
            tracing::error!(code = error.code(), error = %chain(error), "request failed");
        } else {
            tracing::info!(code = error.code(), "request refused");
        }
        let mut response = Self::json(
            status,
            &json!({"error": {"code": error.code(), "message": error.public_message()}}),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }

    pub fn preflight() -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("600"));
        Self {
            status: StatusCode::NO_CONTENT,
            headers,
            body: None,
        }
    }

    /// Lists the methods a path serves, as a 405 must.
    pub fn with_allow(mut self, methods: &[&str]) -> Self {
        if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
            self.headers.insert("allow", allow);
        }
        self
    }

    /// Adds CORS headers for an origin already checked against the configuration.
    pub fn with_cors(mut self, origin: &str) -> Self {
        if let Ok(origin) = HeaderValue::from_str(origin) {
            self.headers.insert("access-control-allow-origin", origin);
            self.headers.insert("vary", HeaderValue::from_static("origin"));
        }
        self
    }

    /// Status, headers (with the JSON content type and `no-store`:
    /// responses may carry tokens) and the JSON text of the body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Option<String>) {
        let mut headers = self.headers;
        headers.insert("cache-control", HeaderValue::from_static("no-store"));
        if self.body.is_some() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        (self.status, headers, self.body.map(|b| b.to_string()))
    }

    /// The response as an `http` response.
    pub fn into_http<B: From<Vec<u8>>>(self) -> http::Response<B> {
        let (status, headers, body) = self.into_parts();
        let mut response = http::Response::new(B::from(body.map(String::into_bytes).unwrap_or_default()));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

/// The error and its sources, outermost first, for the log.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
