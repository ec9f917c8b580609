//! Conformance scenarios: values.

use super::*;

/// A fresh random key, as `token_encryption_key` would hold it.
pub(super) fn sealer() -> TokenSealer {
    let key = URL_SAFE_NO_PAD.decode(token_urlsafe()).unwrap();
    TokenSealer::from_base64_key(&STANDARD.encode(key)).unwrap()
}

pub(super) fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub(super) fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// A secret nobody could find in the store by chance.
pub(super) fn secret(prefix: &str) -> String {
    format!("{prefix}_{}", token_urlsafe())
}

pub(super) fn oauth_state(id: &str, by: &str, expires_at: i64) -> OAuthState {
    OAuthState {
        id: id.into(),
        user: user(by),
        account: Some(account("team-a")),
        pkce_verifier: SecretString::from(secret("verifier")),
        expires_at,
        return_to: Some("https://platform.example/done".into()),
    }
}

pub(super) fn user_tokens() -> UserTokens {
    UserTokens {
        access_token: SecretString::from(secret("ghu")),
        access_expires_at: Some(28_800),
        refresh_token: Some(SecretString::from(secret("ghr"))),
        refresh_expires_at: Some(15_897_600),
    }
}

pub(super) fn connection(sub: &str, github_user: u64, tokens: &UserTokens) -> NewConnection {
    NewConnection {
        user: user(sub),
        github_user_id: GitHubUserId(github_user),
        login: format!("octocat-{github_user}"),
        tokens: tokens.clone(),
    }
}

pub(super) fn installation(id: u64) -> Installation {
    Installation {
        id: InstallationId(id),
        account_id: 1000 + id,
        account_login: format!("org-{id}"),
        account_type: "Organization".into(),
        repository_selection: "all".into(),
        permissions: BTreeMap::from([("contents".into(), "write".into())]),
        status: InstallationStatus::Active,
    }
}

pub(super) fn installation_token(expires_at: i64, repositories: Option<Vec<RepositoryRef>>) -> InstallationToken {
    InstallationToken {
        token: SecretString::from(secret("ghs")),
        expires_at,
        permissions: BTreeMap::from([("contents".into(), "read".into())]),
        repository_selection: if repositories.is_some() { "selected" } else { "all" }.into(),
        repositories,
    }
}

pub(super) fn repositories() -> Option<Vec<RepositoryRef>> {
    Some(vec![RepositoryRef {
        id: 7,
        name: "hello".into(),
        full_name: "org-1/hello".into(),
    }])
}

pub(super) fn lease(owner: &str, now: i64, until: i64) -> Lease {
    Lease {
        owner: owner.into(),
        now,
        until,
    }
}

pub(super) fn assert_same_user_tokens(actual: &UserTokens, expected: &UserTokens) {
    assert_eq!(
        actual.access_token.expose_secret(),
        expected.access_token.expose_secret()
    );
    assert_eq!(actual.access_expires_at, expected.access_expires_at);
    let refresh = |t: &UserTokens| t.refresh_token.as_ref().map(|r| r.expose_secret().to_owned());
    assert_eq!(refresh(actual), refresh(expected));
    assert_eq!(actual.refresh_expires_at, expected.refresh_expires_at);
}

pub(super) fn assert_same_installation_token(actual: &InstallationToken, expected: &InstallationToken) {
    assert_eq!(actual.token.expose_secret(), expected.token.expose_secret());
    assert_eq!(actual.expires_at, expected.expires_at);
    assert_eq!(actual.permissions, expected.permissions);
    assert_eq!(actual.repository_selection, expected.repository_selection);
    assert_eq!(actual.repositories, expected.repositories);
}

/// Leases and stores a token for team-a (linked to the installation), at
/// the installation's current epoch and link version.
pub(super) async fn mint(store: &dyn Store, id: u64, scope: &str, expires_at: i64) -> InstallationToken {
    let id = InstallationId(id);
    let owner = lease(&format!("minter-{scope}"), 1000, 1030);
    let fence = fence(store, id, epoch(store, id).await).await;
    assert!(store.lease_mint(id, scope, &owner, 1600, &fence).await.unwrap());
    let token = installation_token(expires_at, repositories());
    assert!(store
        .store_minted(id, scope, &owner, &token, &fence, &audit())
        .await
        .unwrap());
    token
}

/// What a vend of team-a would bind a token to: `epoch`, and team-a's link
/// to the installation as it is now (none: the empty version).
pub(super) async fn fence(store: &dyn Store, id: InstallationId, epoch: u64) -> TokenFence {
    let team = account("team-a");
    let link = store.get_link(&team, id).await.unwrap();
    TokenFence {
        epoch,
        account: team,
        link_version: link.map(|l| l.version).unwrap_or_default(),
    }
}

pub(super) fn installations_of(linked: Vec<LinkedInstallation>) -> Vec<Installation> {
    linked.into_iter().map(|l| l.installation).collect()
}

pub(super) fn ids(linked: &[LinkedInstallation]) -> Vec<u64> {
    linked.iter().map(|l| l.installation.id.0).collect()
}

/// Applies `change` as a delivery of its own.
pub(super) async fn deliver(store: &dyn Store, change: WritePlan) -> Applied {
    store
        .apply_delivery(&token_urlsafe(), 1_000, &change, None)
        .await
        .unwrap()
}

/// The installation as a webhook read it from GitHub, each read later than
/// the one before.
pub(super) fn upsert(installation: Installation) -> WritePlan {
    read_at(installation, next_read(), false)
}

/// A time later than every read before it.
pub(super) fn next_read() -> i64 {
    static READS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_000_000);
    READS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// The installation's token epoch, as a vend would read it.
pub(super) async fn epoch(store: &dyn Store, id: InstallationId) -> u64 {
    store
        .vend_snapshot(&account("any"), id, "none")
        .await
        .unwrap()
        .token_epoch
}

/// The installation as read at `read_at` (Unix milliseconds).
pub(super) fn read_at(installation: Installation, read_at: i64, invalidate_tokens: bool) -> WritePlan {
    WritePlan::Upsert {
        installation,
        invalidate_tokens,
        read_at,
    }
}

/// Installation 1 on another login.
pub(super) fn renamed(login: &str) -> Installation {
    Installation {
        account_login: login.into(),
        ..installation(1)
    }
}

/// An audit record to write with a store write.
pub(super) fn audit() -> broker::domain::audit::AuditRecord {
    broker::domain::audit::AuditRecord::new(1_000_000, 90, "conformance", broker::domain::audit::AuditAction::Link)
        .account(&account("team-a"))
}
