//! IAM authorization as the HTTP API does it in front of the internal
//! routes, done locally: a request must be SigV4-signed (service
//! `execute-api`, any region) with the runner's one key pair.
//!
//! The signature is checked by signing the request again with the
//! `aws-sigv4` crate (what the AWS SDK for Rust signs with): the request's
//! own `X-Amz-Date`, region and exactly the headers its `SignedHeaders`
//! lists, the body's SHA-256; then the two signatures are compared in
//! constant time. What is refused gets what API Gateway answers,
//! `403 {"message":"Forbidden"}`, and never reaches the function.
//!
//! The key pair comes from `LOCAL_IAM_ACCESS_KEY_ID` and
//! `LOCAL_IAM_SECRET_ACCESS_KEY` or, when they are not set, from
//! `<data-dir>/local-iam.env`, made on the first start (mode 0600) and kept.
//!
//! `pair.rs` keeps the pair; this file checks requests against it.

mod pair;

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use pair::{LocalIam, Origin};

pub const ACCESS_KEY_VAR: &str = "LOCAL_IAM_ACCESS_KEY_ID";
pub const SECRET_KEY_VAR: &str = "LOCAL_IAM_SECRET_ACCESS_KEY";
/// The file the generated pair is kept in, in the data folder.
pub const FILE_NAME: &str = "local-iam.env";
/// The service internal routes are signed for (API Gateway's).
pub const SERVICE: &str = "execute-api";
/// The caller the functions see (the audit trail's `caller`), as API
/// Gateway reports an IAM user's ARN; account 000000000000 is no one's.
pub const PRINCIPAL: &str = "arn:aws:iam::000000000000:user/local-iam";
/// How far `X-Amz-Date` may be from now, either way: AWS's SigV4 services,
/// API Gateway included, refuse a request more than 5 minutes from their
/// clock ("Signature expired: … is now earlier than … (… - 5 min.)" and
/// "Signature not yet current: … is still later than … (… + 5 min.)").
pub const ALLOWED_SKEW: Duration = Duration::from_secs(5 * 60);
/// What an HTTP API with IAM authorization answers a request it refuses.
pub const FORBIDDEN_BODY: &str = r#"{"message":"Forbidden"}"#;

/// Why a request was refused (logged; the caller only sees 403 Forbidden,
/// as from API Gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization`, or not `AWS4-HMAC-SHA256` (a bearer token).
    Unsigned,
    /// An `Authorization` that is not a well-formed SigV4 one.
    Malformed,
    /// No or an unreadable `X-Amz-Date`.
    BadDate,
    /// `X-Amz-Date` more than [`ALLOWED_SKEW`] from now.
    OutsideWindow,
    /// The credential scope's date is not `X-Amz-Date`'s day.
    ScopeDate,
    /// Signed for another service than `execute-api`.
    WrongService,
    /// Another access key id than the runner's.
    UnknownKey,
    /// `host` (or `x-amz-date`) is not among the signed headers, or a
    /// signed header is missing.
    HeadersNotSigned,
    /// A session token: the local pair is a long-term key, it has none.
    SessionToken,
    /// `x-amz-content-sha256` is not the body's hash.
    BodyHash,
    /// The signature is not the one the request should have (tampered,
    /// or signed with another secret).
    SignatureMismatch,
}

impl LocalIam {
    /// The signer's principal if the request is signed with this pair, as
    /// API Gateway's IAM authorization checks it; `now`: the server's clock.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<&'static str, Refusal> {
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Refusal::Unsigned)?;
        let auth = parse_authorization(authorization)?;
        if headers.contains_key("x-amz-security-token") {
            return Err(Refusal::SessionToken);
        }
        let date_text = single(headers, "x-amz-date").ok_or(Refusal::BadDate)?;
        let date = parse_amz_date(date_text).ok_or(Refusal::BadDate)?;
        let skew = match now.duration_since(date) {
            Ok(late) => late,
            Err(early) => early.duration(),
        };
        if skew > ALLOWED_SKEW {
            return Err(Refusal::OutsideWindow);
        }
        if auth.scope_date != &date_text[..8] {
            return Err(Refusal::ScopeDate);
        }
        if auth.service != SERVICE {
            return Err(Refusal::WrongService);
        }
        if !constant_time_eq(auth.access_key_id.as_bytes(), self.access_key_id().as_bytes()) {
            return Err(Refusal::UnknownKey);
        }
        let signed: Vec<&str> = auth.signed_headers.split(';').collect();
        if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
            return Err(Refusal::HeadersNotSigned);
        }
        // The body's hash; a sent x-amz-content-sha256 must be it.
        let body_hash = hex::encode(Sha256::digest(body));
        if let Some(sent) = headers.get("x-amz-content-sha256") {
            if !sent.as_bytes().eq_ignore_ascii_case(body_hash.as_bytes()) {
                return Err(Refusal::BodyHash);
            }
        }
        // Exactly the headers the request says it signed, as sent.
        let mut to_sign: Vec<(&str, &str)> = Vec::with_capacity(signed.len());
        for name in &signed {
            if *name == "x-amz-date" {
                continue; // added by the signer, from `time`
            }
            let values = headers.get_all(*name);
            if values.iter().next().is_none() {
                return Err(Refusal::HeadersNotSigned);
            }
            for value in values {
                to_sign.push((name, value.to_str().map_err(|_| Refusal::Malformed)?));
            }
        }
        let host = single(headers, "host").ok_or(Refusal::HeadersNotSigned)?;
        let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("http://{host}{path_and_query}");
        let expected = self
            .sign(method.as_str(), &url, to_sign, body, auth.region, date)
            .ok_or(Refusal::Malformed)?;
        let ours = parse_authorization(&expected).map_err(|_| Refusal::Malformed)?;
        if ours.signed_headers != auth.signed_headers {
            // A header list the signer would not have made (duplicates,
            // unsorted, or one it adds itself left out).
            return Err(Refusal::HeadersNotSigned);
        }
        if !constant_time_eq(ours.signature.as_bytes(), auth.signature.as_bytes()) {
            return Err(Refusal::SignatureMismatch);
        }
        Ok(PRINCIPAL)
    }

    /// The `Authorization` header `aws-sigv4` makes for this request with
    /// this pair: every header given signed (none left out by default).
    fn sign(
        &self,
        method: &str,
        url: &str,
        headers: Vec<(&str, &str)>,
        body: &[u8],
        region: &str,
        time: SystemTime,
    ) -> Option<String> {
        let identity = Credentials::new(
            self.access_key_id(),
            self.secret_access_key(),
            None,
            None,
            "broker-local",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = Some(Vec::<Cow<'static, str>>::new());
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(SERVICE)
            .time(time)
            .settings(settings)
            .build()
            .ok()?
            .into();
        let request = SignableRequest::new(method, url, headers.into_iter(), SignableBody::Bytes(body)).ok()?;
        let (instructions, _) = sign(request, &params).ok()?.into_parts();
        let (headers, _) = instructions.into_parts();
        headers
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case("authorization"))
            .map(|h| h.value().to_owned())
    }
}

/// The one value of a header, as text.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?.to_str().ok()?;
    values.next().is_none().then_some(first.trim())
}

/// `20261204T164000Z`, as SigV4 writes it, in UTC.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, &format).ok()?.assume_utc();
    let seconds = u64::try_from(parsed.unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

struct Authorization<'a> {
    access_key_id: &'a str,
    scope_date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=hex` (spaces after the commas or not).
fn parse_authorization(header: &str) -> Result<Authorization<'_>, Refusal> {
    let rest = header
        .trim()
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(Refusal::Unsigned)?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(Refusal::Malformed),
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) if !h.is_empty() && s.len() == 64 => (c, h, s),
        _ => return Err(Refusal::Malformed),
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, "aws4_request"] = scope[..] else {
        return Err(Refusal::Malformed);
    };
    if scope_date.len() != 8 || region.is_empty() {
        return Err(Refusal::Malformed);
    }
    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Different lengths differ at once: lengths are not secret here.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_900_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn pair() -> LocalIam {
        LocalIam::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    }

    /// A request signed as a client would sign it (with `aws-sigv4`):
    /// method, path with query, body, signed at `at` for `service` with `iam`.
    fn signed(iam: &LocalIam, service: &str, at: SystemTime, body: &[u8]) -> (Method, Uri, HeaderMap) {
        let identity = Credentials::new(iam.access_key_id(), iam.secret_access_key(), None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name(service)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let url = "http://127.0.0.1:3000/internal/accounts/team-a/token?b=2&a=1";
        let request = SignableRequest::new(
            "POST",
            url,
            [("host", "127.0.0.1:3000"), ("content-type", "application/json")].into_iter(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        for (name, value) in instructions.headers() {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        (Method::POST, url.parse().unwrap(), headers)
    }

    #[test]
    fn a_request_signed_with_the_pair_is_the_local_iam_user() {
        let iam = pair();
        let (method, uri, headers) = signed(&iam, SERVICE, now(), b"{}");
        assert_eq!(iam.verify(&method, &uri, &headers, b"{}", now()), Ok(PRINCIPAL));
        // Within the window either way.
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(
            iam.verify(&method, &uri, &headers, b"{}", now() + minutes(4)),
            Ok(PRINCIPAL)
        );
        assert_eq!(
            iam.verify(&method, &uri, &headers, b"{}", now() - minutes(4)),
            Ok(PRINCIPAL)
        );
    }

    #[test]
    fn anything_else_is_refused_for_its_reason() {
        let iam = pair();
        let (method, uri, headers) = signed(&iam, SERVICE, now(), b"{}");
        let check = |m: &Method, u: &Uri, h: &HeaderMap, body: &[u8], at: SystemTime| iam.verify(m, u, h, body, at);
        let minutes = |m: u64| Duration::from_secs(m * 60);

        let mut unsigned = headers.clone();
        unsigned.remove("authorization");
        assert_eq!(check(&method, &uri, &unsigned, b"{}", now()), Err(Refusal::Unsigned));
        let mut bearer = headers.clone();
        bearer.insert("authorization", "Bearer local-iam.x".parse().unwrap());
        assert_eq!(check(&method, &uri, &bearer, b"{}", now()), Err(Refusal::Unsigned));

        assert_eq!(
            check(&method, &uri, &headers, b"{ }", now()),
            Err(Refusal::SignatureMismatch)
        );
        assert_eq!(
            check(&Method::PUT, &uri, &headers, b"{}", now()),
            Err(Refusal::SignatureMismatch)
        );
        let other_path: Uri = "/internal/accounts/team-b/token?b=2&a=1".parse().unwrap();
        assert_eq!(
            check(&method, &other_path, &headers, b"{}", now()),
            Err(Refusal::SignatureMismatch)
        );
        let other_query: Uri = "/internal/accounts/team-a/token?b=3&a=1".parse().unwrap();
        assert_eq!(
            check(&method, &other_query, &headers, b"{}", now()),
            Err(Refusal::SignatureMismatch)
        );
        let mut changed = headers.clone();
        changed.insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(
            check(&method, &uri, &changed, b"{}", now()),
            Err(Refusal::SignatureMismatch)
        );
        let mut other_host = headers.clone();
        other_host.insert("host", "localhost:3000".parse().unwrap());
        assert_eq!(
            check(&method, &uri, &other_host, b"{}", now()),
            Err(Refusal::SignatureMismatch)
        );

        assert_eq!(
            check(&method, &uri, &headers, b"{}", now() + minutes(6)),
            Err(Refusal::OutsideWindow)
        );
        assert_eq!(
            check(&method, &uri, &headers, b"{}", now() - minutes(6)),
            Err(Refusal::OutsideWindow)
        );

        let (m, u, h) = signed(&iam, "s3", now(), b"{}");
        assert_eq!(check(&m, &u, &h, b"{}", now()), Err(Refusal::WrongService));
        let stranger = LocalIam::new("AKIAOTHEROTHEROTHER1", iam.secret_access_key());
        let (m, u, h) = signed(&stranger, SERVICE, now(), b"{}");
        assert_eq!(check(&m, &u, &h, b"{}", now()), Err(Refusal::UnknownKey));
        let wrong_secret = LocalIam::new(iam.access_key_id(), "x".repeat(40));
        let (m, u, h) = signed(&wrong_secret, SERVICE, now(), b"{}");
        assert_eq!(check(&m, &u, &h, b"{}", now()), Err(Refusal::SignatureMismatch));

        // The scope's date moved a day, the signature left as it is.
        let mut scope = headers.clone();
        let a = scope["authorization"].to_str().unwrap().to_owned();
        let day = &headers["x-amz-date"].to_str().unwrap()[..8];
        let moved = a.replace(&format!("/{day}/"), "/20000101/");
        scope.insert("authorization", moved.parse().unwrap());
        assert_eq!(check(&method, &uri, &scope, b"{}", now()), Err(Refusal::ScopeDate));

        let mut token = headers.clone();
        token.insert("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE".parse().unwrap());
        assert_eq!(check(&method, &uri, &token, b"{}", now()), Err(Refusal::SessionToken));

        let mut hash = headers.clone();
        hash.insert("x-amz-content-sha256", "0".repeat(64).parse().unwrap());
        assert_eq!(check(&method, &uri, &hash, b"{}", now()), Err(Refusal::BodyHash));

        // `host` left out of the signed headers.
        let mut no_host = headers.clone();
        let a = headers["authorization"]
            .to_str()
            .unwrap()
            .replace("content-type;host;", "content-type;");
        no_host.insert("authorization", a.parse().unwrap());
        assert_eq!(
            check(&method, &uri, &no_host, b"{}", now()),
            Err(Refusal::HeadersNotSigned)
        );
    }
}
