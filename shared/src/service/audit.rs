//! The audit trail as the use cases write it. A record of a store write
//! goes in that write's transaction (the store's methods take it); the
//! others (refusals, a cached vend, an action done at GitHub, a user token)
//! are written here. Every record is also one structured log line
//! (`target: audit`), for CloudWatch Logs Insights.

use crate::crypto::digest::token_sha256;
use crate::domain::audit::{AuditAction, AuditRecord, AuditScope};
use crate::domain::tokens::InstallationToken;
use crate::domain::AccountId;
use crate::error::{Error, Result};
use crate::store::{AuditPage, AuditQuery};
use crate::App;

/// Webhooks act for GitHub: their records name it as the caller.
pub const GITHUB: &str = "github";

/// A record of `action` by `caller`, now, kept `AUDIT_RETENTION_DAYS`.
pub fn record(app: &App, caller: &str, action: AuditAction) -> AuditRecord {
    AuditRecord::new(app.clock.now_millis(), app.config.audit_retention_days, caller, action)
}

/// `record`, granted with `token`: what it reaches, and its hash.
pub fn granted_token(record: AuditRecord, token: &InstallationToken) -> AuditRecord {
    let scope = AuditScope {
        repositories: token
            .repositories
            .as_ref()
            .map(|r| r.iter().map(|r| r.name.to_ascii_lowercase()).collect()),
        repository_ids: None,
        permissions: Some(token.permissions.clone()),
    };
    record
        .granted(scope)
        .token(token_sha256(&token.token), Some(token.expires_at))
}

/// The structured log line of a record: never a token, only its hash.
pub fn log(record: &AuditRecord) {
    tracing::info!(
        target: "audit",
        action = record.action.as_str(),
        outcome = ?record.outcome,
        account_id = record.account_id.as_ref().map(AccountId::as_str),
        user_id = record.user_id.as_ref().map(|u| u.as_str()),
        caller = %record.caller,
        installation_id = record.installation_id.map(|i| i.0),
        error_code = record.error_code.as_deref(),
        token_sha256 = record.token_sha256.as_deref(),
        scope_asked = %serde_json::to_string(&record.scope_asked).unwrap_or_default(),
        scope_granted = %serde_json::to_string(&record.scope_granted).unwrap_or_default(),
        "audit"
    );
}

/// Writes a record of something that changed nothing in the table (a
/// refusal, an action at GitHub): a store failing here is logged, and does
/// not change the action's own answer.
pub async fn write(app: &App, record: AuditRecord) {
    log(&record);
    if let Err(e) = app.store.put_audit(&record).await {
        tracing::error!(error = %e, action = record.action.as_str(), "an audit record could not be written");
    }
}

/// Writes the record of a grant that must not happen unrecorded (a token
/// handed out): the store failing fails the request.
pub async fn write_required(app: &App, record: AuditRecord) -> Result<()> {
    app.store.put_audit(&record).await?;
    log(&record);
    Ok(())
}

/// Writes the refusal of `record` for `error`, then hands the error back.
pub async fn refused<T>(app: &App, record: AuditRecord, error: Error) -> Result<T> {
    write(app, record.refused(error.code())).await;
    Err(error)
}

/// An account's trail, newest first; only its members may read it.
pub async fn trail(
    app: &App,
    caller: &crate::domain::Caller,
    account: &AccountId,
    query: &AuditQuery,
) -> Result<AuditPage> {
    crate::domain::policy::require_member(caller, account)?;
    Ok(app.store.audit_trail(account, query).await?)
}
