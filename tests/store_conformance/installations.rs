//! Conformance scenarios: installations and links.

use super::*;

pub(super) async fn an_upserted_installation_reads_back(store: &dyn Store) {
    assert_eq!(store.get_installation(InstallationId(1)).await.unwrap(), None);

    assert_eq!(deliver(store, upsert(installation(1))).await, Applied::Done);
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1))
    );

    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;
    suspended.repository_selection = "selected".into();
    suspended.permissions.insert("issues".into(), "read".into());
    assert_eq!(deliver(store, upsert(suspended.clone())).await, Applied::Done);
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(suspended)
    );
}

pub(super) async fn a_read_older_than_the_one_applied_keeps_the_record_and_still_invalidates(store: &dyn Store) {
    let id = InstallationId(1);
    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;
    assert_eq!(
        deliver(store, read_at(suspended.clone(), 2_000, false)).await,
        Applied::Done
    );
    store
        .link(&account("team-a"), &suspended, &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let token = mint(store, 1, "s", 5_000).await;

    // An older read, from a delivery that came late: it may not unsuspend,
    // rename back, or change permissions.
    let older = read_at(renamed("old-login"), 1_999, false);
    assert_eq!(deliver(store, older).await, Applied::Stale);
    assert_eq!(store.get_installation(id).await.unwrap(), Some(suspended.clone()));
    let cached = store
        .cached_token(id, "s", &fence(store, id, epoch(store, id).await).await)
        .await
        .unwrap();
    assert_same_installation_token(cached.unwrap().token.as_ref().unwrap(), &token);
    // The same read again changes nothing either: equal is not newer.
    assert_eq!(
        deliver(store, read_at(installation(1), 2_000, false)).await,
        Applied::Stale
    );

    // A stale delivery that invalidates still invalidates.
    assert_eq!(
        deliver(store, read_at(installation(1), 1_500, true)).await,
        Applied::Stale
    );
    assert_eq!(store.get_installation(id).await.unwrap(), Some(suspended));
    let after = store
        .cached_token(id, "s", &fence(store, id, epoch(store, id).await).await)
        .await
        .unwrap();
    assert!(
        after.and_then(|c| c.token).is_none(),
        "no token cached before is served"
    );

    assert_eq!(
        deliver(store, read_at(installation(1), 2_001, false)).await,
        Applied::Done
    );
    assert_eq!(store.get_installation(id).await.unwrap(), Some(installation(1)));
}

pub(super) async fn a_link_writes_only_what_the_record_lacks(store: &dyn Store) {
    let id = InstallationId(1);
    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;
    deliver(store, upsert(suspended.clone())).await;

    // The linking user's view, older than the webhook's: still active.
    assert_eq!(
        store
            .link(&account("team-a"), &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap(),
        Upsert::Written
    );

    assert_eq!(store.get_installation(id).await.unwrap(), Some(suspended));
    assert_eq!(ids(&store.linked_installations(&account("team-a")).await.unwrap()), [1]);
    // With no record yet, the link's view is what there is; any webhook's
    // read replaces it.
    store
        .link(&account("team-a"), &installation(2), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    assert_eq!(
        store.get_installation(InstallationId(2)).await.unwrap(),
        Some(installation(2))
    );
    let webhook = Installation {
        account_login: "x".into(),
        ..installation(2)
    };
    assert_eq!(deliver(store, read_at(webhook.clone(), 1, false)).await, Applied::Done);
    assert_eq!(store.get_installation(InstallationId(2)).await.unwrap(), Some(webhook));
}

pub(super) async fn a_deleted_installation_is_gone_with_its_links_and_tokens(store: &dyn Store) {
    let (a, b, c) = (account("team-a"), account("team-b"), account("team-c"));
    for (team, id) in [(&a, 1), (&b, 1), (&a, 2)] {
        store
            .link(team, &installation(id), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
    }
    for (id, scope) in [(1, "s1"), (1, "s2"), (2, "s1")] {
        mint(store, id, scope, 5_000).await;
    }
    let id = InstallationId(1);

    deliver(store, WritePlan::Delete { id }).await;

    assert_eq!(store.get_installation(id).await.unwrap(), None);
    assert_eq!(deliver(store, upsert(installation(1))).await, Applied::Gone);
    assert_eq!(
        store
            .link(&c, &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap(),
        Upsert::Gone
    );
    assert_eq!(store.get_installation(id).await.unwrap(), None, "still a tombstone");
    assert_eq!(ids(&store.linked_installations(&a).await.unwrap()), [2]);
    assert_eq!(ids(&store.linked_installations(&b).await.unwrap()), [0u64; 0]);
    assert_eq!(
        store
            .links_among(&[a.clone(), b.clone(), c.clone()], &[id])
            .await
            .unwrap(),
        []
    );
    assert!(!store.unlink(&a, id, &audit()).await.unwrap(), "no link left to remove");
    for scope in ["s1", "s2"] {
        assert!(store
            .cached_token(id, scope, &fence(store, id, 0).await)
            .await
            .unwrap()
            .is_none());
    }
    assert!(store
        .cached_token(InstallationId(2), "s1", &fence(store, InstallationId(2), 0).await)
        .await
        .unwrap()
        .is_some());
    let snapshot = store.vend_snapshot(&a, id, "s1").await.unwrap();
    assert!(!snapshot.linked() && snapshot.installation.is_none() && snapshot.cached.is_none());
}

pub(super) async fn linking_is_idempotent_and_stores_the_installation(store: &dyn Store) {
    let a = account("team-a");

    assert_eq!(
        store
            .link(&a, &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap(),
        Upsert::Written
    );
    assert_eq!(
        store
            .link(&a, &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap(),
        Upsert::Written
    );

    assert_eq!(
        installations_of(store.linked_installations(&a).await.unwrap()),
        [installation(1)]
    );
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1))
    );
    assert_eq!(
        store
            .links_among(std::slice::from_ref(&a), &[InstallationId(1)])
            .await
            .unwrap(),
        [(a.clone(), InstallationId(1))]
    );
    // A relink keeps the record: webhooks, not links, bring it up to date.
    assert_eq!(
        store
            .link(&a, &renamed("renamed"), &LinkPolicy::default(), &audit())
            .await
            .unwrap(),
        Upsert::Written
    );
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1))
    );
}

pub(super) async fn unlink_says_whether_it_removed_a_link(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    assert!(!store.unlink(&a, id, &audit()).await.unwrap());
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();

    assert!(store.unlink(&a, id, &audit()).await.unwrap());
    assert!(!store.unlink(&a, id, &audit()).await.unwrap());

    assert!(store.linked_installations(&a).await.unwrap().is_empty());
    assert!(!store.vend_snapshot(&a, id, "s").await.unwrap().linked());
    assert!(
        store.get_installation(id).await.unwrap().is_some(),
        "the installation stays"
    );
}

pub(super) async fn linked_installations_lists_an_accounts_installations_by_id(store: &dyn Store) {
    let (a, b) = (account("team-a"), account("team-b"));
    for id in [30, 4, 100] {
        store
            .link(&a, &installation(id), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
    }
    store
        .link(&b, &installation(4), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    deliver(store, upsert(installation(7))).await;

    assert_eq!(ids(&store.linked_installations(&a).await.unwrap()), [4, 30, 100]);
    assert_eq!(ids(&store.linked_installations(&b).await.unwrap()), [4]);
    assert_eq!(
        ids(&store.linked_installations(&account("team-c")).await.unwrap()),
        [0u64; 0]
    );
}

pub(super) async fn links_among_finds_which_of_the_accounts_link_which_installations(store: &dyn Store) {
    let (a, b, c, d) = (
        account("team-a"),
        account("team-b"),
        account("team-c"),
        account("team-d"),
    );
    for (team, id) in [(&a, 1), (&a, 2), (&b, 2), (&c, 3)] {
        store
            .link(team, &installation(id), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
    }
    let (two, three) = (InstallationId(2), InstallationId(3));

    let mut found = store
        .links_among(&[a.clone(), b.clone(), d.clone()], &[two, three])
        .await
        .unwrap();
    found.sort();

    assert_eq!(found, [(a.clone(), two), (b.clone(), two)]);
    assert_eq!(store.links_among(&[a.clone(), b, c], &[]).await.unwrap(), []);
    assert_eq!(store.links_among(&[], &[two]).await.unwrap(), []);
}
