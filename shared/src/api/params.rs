//! Ids in paths and bodies: each parsed once, here, into the domain's type,
//! with the error the caller sees when it is not one.

use crate::domain::{AccountId, InstallationId, UserId};
use crate::error::{Error, Result};

pub fn account_id(raw: &str) -> Result<AccountId> {
    AccountId::parse(raw).ok_or_else(|| {
        Error::bad_request(
            "invalid_account_id",
            "account ids are 1-128 characters of A-Z a-z 0-9 - _ . : @ |",
        )
    })
}

pub fn user_id(raw: &str) -> Result<UserId> {
    UserId::parse(raw).ok_or_else(|| {
        Error::bad_request(
            "invalid_user_id",
            "user ids are 1-128 characters of A-Z a-z 0-9 - _ . : @ |",
        )
    })
}

pub fn installation_id(raw: &str) -> Result<InstallationId> {
    InstallationId::parse(raw).ok_or_else(invalid_installation_id)
}

/// An installation id in a JSON body: a number, or its digits as a string.
pub fn installation_id_value(raw: &serde_json::Value) -> Result<InstallationId> {
    match raw {
        serde_json::Value::Number(n) => n.as_u64().filter(|n| *n > 0).map(InstallationId),
        serde_json::Value::String(s) => InstallationId::parse(s),
        _ => None,
    }
    .ok_or_else(invalid_installation_id)
}

fn invalid_installation_id() -> Error {
    Error::bad_request("invalid_installation_id", "installation ids are positive integers")
}

/// The most records one page of the audit trail holds.
pub const MAX_AUDIT_PAGE: usize = 100;

/// `since`, `until` (RFC 3339), `action`, `cursor` and `limit` (1 to 100,
/// default 50) of `GET /accounts/{account_id}/audit`.
pub fn audit_query(call: &crate::api::router::Call<'_>) -> Result<crate::store::AuditQuery> {
    let time = |name: &str| -> Result<Option<i64>> {
        call.query(name)?
            .map(|raw| {
                time::OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339)
                    .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                    .map_err(|_| Error::bad_request("invalid_query", format!("{name} must be an RFC 3339 time")))
            })
            .transpose()
    };
    let action = call
        .query("action")?
        .map(|raw| {
            crate::domain::audit::AuditAction::parse(&raw)
                .ok_or_else(|| Error::bad_request("invalid_query", "action is not one the audit trail records"))
        })
        .transpose()?;
    let cursor = call.query("cursor")?;
    if cursor
        .as_deref()
        .is_some_and(|c| !crate::store::keys::is_audit_cursor(c))
    {
        return Err(Error::bad_request("invalid_query", "cursor is not one this route gave"));
    }
    let limit = match call.query("limit")? {
        None => 50,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_AUDIT_PAGE).contains(l))
            .ok_or_else(|| Error::bad_request("invalid_query", "limit is a number from 1 to 100"))?,
    };
    Ok(crate::store::AuditQuery {
        since_ms: time("since")?,
        until_ms: time("until")?,
        action,
        cursor,
        limit,
    })
}
