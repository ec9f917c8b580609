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
