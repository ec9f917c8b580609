//! Conformance scenarios: links' policies and versions, and tokens taken
//! out of the cache for revocation.

use super::*;

fn policy(repos: &[&str], perms: &[(&str, &str)]) -> LinkPolicy {
    LinkPolicy::new(
        Some(repos.iter().map(|r| r.to_string()).collect()),
        Some(perms.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()),
    )
    .unwrap()
}

/// A token of `team` under `scope` (its cache key starts with the team).
async fn mint_for(store: &dyn Store, team: &AccountId, id: InstallationId, scope: &str, sha_seed: &str) -> String {
    let fence = TokenFence {
        epoch: epoch(store, id).await,
        account: team.clone(),
        link_version: store.get_link(team, id).await.unwrap().unwrap().version,
    };
    let key = format!("{team}#{scope}");
    let owner = lease(sha_seed, 1000, 1030);
    assert!(store.lease_mint(id, &key, &owner, 1600, &fence).await.unwrap());
    let mut token = installation_token(5_000, None);
    token.token = SecretString::from(format!("ghs_{sha_seed}"));
    assert!(store
        .store_minted(id, &key, &owner, &token, &fence, &audit())
        .await
        .unwrap());
    broker::crypto::digest::token_sha256(&token.token)
}

pub(super) async fn a_links_policy_reads_back_wherever_the_link_is_read(store: &dyn Store) {
    let (a, b, id) = (account("team-a"), account("team-b"), InstallationId(1));
    let narrow = policy(&["API", "web"], &[("contents", "read")]);
    store.link(&a, &installation(1), &narrow, &audit()).await.unwrap();
    store
        .link(&b, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();

    let listed = store.linked_installations(&a).await.unwrap();
    assert_eq!(listed[0].policy, narrow);
    assert_eq!(listed[0].policy.repositories.as_ref().unwrap().len(), 2);
    let snapshot = store.vend_snapshot(&a, id, "any").await.unwrap();
    assert_eq!(snapshot.link.as_ref().unwrap().policy, narrow);
    assert_eq!(store.get_link(&a, id).await.unwrap().unwrap().policy, narrow);
    let mut of_installation = store.links_of_installation(id).await.unwrap();
    of_installation.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
    assert_eq!(
        of_installation
            .iter()
            .map(|(acct, link)| (acct.as_str(), link.policy.clone()))
            .collect::<Vec<_>>(),
        [("team-a", narrow.clone()), ("team-b", LinkPolicy::default())]
    );
    assert!(store.get_link(&account("team-c"), id).await.unwrap().is_none());
}

pub(super) async fn a_new_policy_hides_the_tokens_minted_under_the_old_one(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    mint_for(store, &a, id, "s", "one").await;
    let read = store.get_link(&a, id).await.unwrap().unwrap();
    let narrow = policy(&["api"], &[("contents", "read")]);

    assert!(store
        .set_policy(&a, id, &narrow, &read.version, &audit())
        .await
        .unwrap());

    let now = store.get_link(&a, id).await.unwrap().unwrap();
    assert_eq!(now.policy, narrow);
    assert_ne!(now.version, read.version);
    let snapshot = store.vend_snapshot(&a, id, "team-a#s").await.unwrap();
    assert!(
        snapshot.cached.and_then(|c| c.token).is_none(),
        "minted under the old policy"
    );
    assert!(
        !store
            .set_policy(&a, id, &LinkPolicy::default(), &read.version, &audit())
            .await
            .unwrap(),
        "a change from a version no longer current does not land"
    );
    assert!(
        !store
            .set_policy(&account("team-z"), id, &narrow, "", &audit())
            .await
            .unwrap(),
        "no link"
    );
    // A relink is a new version too.
    mint_for(store, &a, id, "s", "two").await;
    store.link(&a, &installation(1), &narrow, &audit()).await.unwrap();
    let snapshot = store.vend_snapshot(&a, id, "team-a#s").await.unwrap();
    assert!(snapshot.cached.and_then(|c| c.token).is_none());
}

pub(super) async fn a_mint_is_not_recorded_once_its_link_is_gone_or_changed(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let fence = fence(store, id, 0).await;
    let unlinked = lease("u", 1000, 1030);
    assert!(store.lease_mint(id, "team-a#s", &unlinked, 1600, &fence).await.unwrap());
    store.unlink(&a, id, &audit()).await.unwrap();

    let kept = store
        .store_minted(
            id,
            "team-a#s",
            &unlinked,
            &installation_token(5_000, None),
            &fence,
            &audit(),
        )
        .await
        .unwrap();

    assert!(!kept, "the link went away during the mint");
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let relinked = lease("r", 1000, 1030);
    assert!(store.lease_mint(id, "team-a#t", &relinked, 1600, &fence).await.unwrap());
    assert!(
        !store
            .store_minted(
                id,
                "team-a#t",
                &relinked,
                &installation_token(5_000, None),
                &fence,
                &audit()
            )
            .await
            .unwrap(),
        "a relink is not the link the mint began under"
    );
}

pub(super) async fn taking_an_accounts_tokens_moves_only_them_to_pending_revocation(store: &dyn Store) {
    let (a, b, id) = (account("team-a"), account("team-b"), InstallationId(1));
    // team-ab's keys start like team-a's: the prefix must not reach them.
    let ab = account("team-ab");
    for team in [&a, &b, &ab] {
        store
            .link(team, &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
    }
    let a1 = mint_for(store, &a, id, "s1", "a1").await;
    let a2 = mint_for(store, &a, id, "s2", "a2").await;
    mint_for(store, &b, id, "s1", "b1").await;
    mint_for(store, &ab, id, "s1", "ab1").await;

    let pending = store.take_tokens(id, Some(&a)).await.unwrap();

    let mut shas: Vec<&str> = pending.iter().map(|p| p.token_sha256.as_str()).collect();
    shas.sort();
    let mut expected = vec![a1.as_str(), a2.as_str()];
    expected.sort();
    assert_eq!(shas, expected);
    assert!(pending
        .iter()
        .all(|p| p.account.as_ref() == Some(&a) && p.expires_at == 5_000));
    assert!(pending.iter().any(|p| p.token.expose_secret() == "ghs_a1"));
    for scope in ["team-a#s1", "team-a#s2"] {
        let snapshot = store.vend_snapshot(&a, id, scope).await.unwrap();
        assert!(
            snapshot.cached.and_then(|c| c.token).is_none(),
            "{scope} is not vendable"
        );
    }
    for (team, scope) in [(&b, "team-b#s1"), (&ab, "team-ab#s1")] {
        let snapshot = store.vend_snapshot(team, id, scope).await.unwrap();
        assert!(snapshot.cached.and_then(|c| c.token).is_some(), "{scope} is kept");
    }
    // Still pending until GitHub confirms; then forgotten.
    assert_eq!(store.take_tokens(id, Some(&b)).await.unwrap().len(), 3);
    for p in store.take_tokens(id, None).await.unwrap() {
        store.revocation_done(id, &p.token_sha256, None).await.unwrap();
    }
    assert!(store.take_tokens(id, None).await.unwrap().is_empty());
}

pub(super) async fn a_deleted_installations_tokens_await_revocation(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let sha = mint_for(store, &a, id, "s", "doomed").await;

    deliver(store, WritePlan::Delete { id }).await;

    let pending = store.take_tokens(id, None).await.unwrap();
    assert_eq!(
        pending.iter().map(|p| p.token_sha256.as_str()).collect::<Vec<_>>(),
        [sha.as_str()]
    );
    assert_eq!(pending[0].token.expose_secret(), "ghs_doomed");
}

fn record(action: broker::domain::audit::AuditAction, time_ms: i64) -> broker::domain::audit::AuditRecord {
    broker::domain::audit::AuditRecord::new(time_ms, 90, "conformance", action).account(&account("team-a"))
}

async fn trail(store: &dyn Store, query: broker::store::AuditQuery) -> broker::store::AuditPage {
    store.audit_trail(&account("team-a"), &query).await.unwrap()
}

pub(super) async fn a_writes_audit_record_lands_with_it_or_not_at_all(store: &dyn Store) {
    use broker::domain::audit::AuditAction::{Link, Policy, Unlink};
    let (a, id) = (account("team-a"), InstallationId(1));
    let all = || broker::store::AuditQuery {
        limit: 100,
        ..Default::default()
    };
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &record(Link, 1_000))
        .await
        .unwrap();
    let version = store.get_link(&a, id).await.unwrap().unwrap().version;
    assert!(!store
        .set_policy(
            &a,
            id,
            &policy(&["api"], &[("contents", "read")]),
            "stale",
            &record(Policy, 2_000)
        )
        .await
        .unwrap());
    assert!(store
        .set_policy(
            &a,
            id,
            &policy(&["api"], &[("contents", "read")]),
            &version,
            &record(Policy, 3_000)
        )
        .await
        .unwrap());
    assert!(store.unlink(&a, id, &record(Unlink, 4_000)).await.unwrap());
    assert!(!store.unlink(&a, id, &record(Unlink, 5_000)).await.unwrap());

    let page = trail(store, all()).await;

    let times: Vec<i64> = page.records.iter().map(|r| r.time_ms).collect();
    assert_eq!(
        times,
        [4_000, 3_000, 1_000],
        "newest first; the refused writes wrote no record"
    );
    assert_eq!(page.cursor, None);
}

pub(super) async fn the_audit_trail_pages_and_filters_newest_first(store: &dyn Store) {
    use broker::domain::audit::AuditAction::{InstallationToken, Link};
    for (i, action) in [Link, InstallationToken, InstallationToken, Link, InstallationToken]
        .into_iter()
        .enumerate()
    {
        store.put_audit(&record(action, 1_000 * (i as i64 + 1))).await.unwrap();
    }
    // Another account's records are not in this trail.
    let other = broker::domain::audit::AuditRecord::new(9_000, 90, "x", Link).account(&account("team-b"));
    store.put_audit(&other).await.unwrap();
    let query = |action, cursor, since_ms, until_ms| broker::store::AuditQuery {
        since_ms,
        until_ms,
        action,
        cursor,
        limit: 2,
    };

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = trail(store, query(Some(InstallationToken), cursor, None, None)).await;
        seen.extend(page.records.iter().map(|r| r.time_ms));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, [5_000, 3_000, 2_000]);
    let window = trail(store, query(None, None, Some(2_000), Some(4_000))).await;
    assert_eq!(
        window.records.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
        [4_000, 3_000]
    );
    assert!(window.cursor.is_some(), "a full page: more may follow");
    let rest = trail(store, query(None, window.cursor, Some(2_000), Some(4_000))).await;
    assert_eq!(rest.records.iter().map(|r| r.time_ms).collect::<Vec<_>>(), [2_000]);
}

pub(super) async fn account_snapshots_show_every_live_linked_installation_with_its_token(store: &dyn Store) {
    let a = account("team-a");
    let narrow = policy(&["api"], &[("contents", "read")]);
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    store.link(&a, &installation(2), &narrow, &audit()).await.unwrap();
    store
        .link(&a, &installation(3), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    mint_for(store, &a, InstallationId(2), "s", "two").await;
    deliver(store, WritePlan::Delete { id: InstallationId(3) }).await;

    let mut snapshots = store.account_snapshots(&a, "team-a#s").await.unwrap();

    snapshots.sort_by_key(|s| s.installation.as_ref().unwrap().id);
    assert_eq!(snapshots.len(), 2, "the deleted installation is left out");
    assert_eq!(snapshots[0].installation, Some(installation(1)));
    assert!(snapshots[0].cached.is_none());
    assert_eq!(snapshots[1].link.as_ref().unwrap().policy, narrow);
    let token = snapshots[1].cached.as_ref().and_then(|c| c.token.as_ref()).unwrap();
    assert_eq!(token.token.expose_secret(), "ghs_two");
    assert!(store
        .account_snapshots(&account("team-z"), "team-z#s")
        .await
        .unwrap()
        .is_empty());
}
