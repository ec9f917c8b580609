//! Conformance scenarios: webhook deliveries, each applied once.

use super::*;

pub(super) async fn a_delivery_is_applied_once_and_a_redelivery_changes_nothing(store: &dyn Store) {
    assert_eq!(
        store
            .apply_delivery("d", 1_000, &upsert(installation(1)), None)
            .await
            .unwrap(),
        Applied::Done
    );
    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;

    let again = store
        .apply_delivery("d", 1_001, &upsert(suspended), None)
        .await
        .unwrap();

    assert_eq!(again, Applied::Duplicate);
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1)),
        "the redelivery's change was not applied"
    );
}

pub(super) async fn of_ten_concurrent_copies_of_a_delivery_exactly_one_applies(store: &dyn Store) {
    deliver(store, upsert(installation(1))).await;
    let renames: Vec<_> = (0..10).map(|i| upsert(renamed(&format!("org-{i}")))).collect();

    let applied = join_all(renames.iter().map(|r| store.apply_delivery("d", 1_000, r, None))).await;

    let winners: Vec<usize> = applied
        .iter()
        .enumerate()
        .filter(|(_, a)| *a.as_ref().unwrap() == Applied::Done)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{applied:?}");
    assert!(applied
        .iter()
        .all(|a| matches!(a.as_ref().unwrap(), Applied::Done | Applied::Duplicate)));
    let login = store
        .get_installation(InstallationId(1))
        .await
        .unwrap()
        .unwrap()
        .account_login;
    assert_eq!(login, format!("org-{}", winners[0]), "only the winner's change landed");
}

pub(super) async fn a_delivery_for_a_deleted_installation_is_gone_and_not_recorded(store: &dyn Store) {
    deliver(store, WritePlan::Delete { id: InstallationId(1) }).await;

    for _ in 0..2 {
        assert_eq!(
            store
                .apply_delivery("late", 1_000, &upsert(installation(1)), None)
                .await
                .unwrap(),
            Applied::Gone,
            "not recorded, so a redelivery is Gone again rather than a Duplicate"
        );
    }
    assert_eq!(store.get_installation(InstallationId(1)).await.unwrap(), None);
}

pub(super) async fn a_revocation_disconnects_every_user_at_once_and_skips_unknown_ones(store: &dyn Store) {
    let tokens = user_tokens();
    for sub in ["alice", "bob"] {
        store.put_connection(&connection(sub, 7, &tokens)).await.unwrap();
    }
    store.put_connection(&connection("carol", 8, &tokens)).await.unwrap();
    let revoked = WritePlan::Disconnect {
        users: vec![user("alice"), user("nobody"), user("bob")],
    };

    assert_eq!(
        store.apply_delivery("d", 1_000, &revoked, None).await.unwrap(),
        Applied::Done
    );

    for sub in ["alice", "bob"] {
        assert!(store.get_connection(&user(sub)).await.unwrap().is_none(), "{sub}");
    }
    assert!(store.users_of_github_user(GitHubUserId(7)).await.unwrap().is_empty());
    assert!(
        store.get_connection(&user("nobody")).await.unwrap().is_none(),
        "not created"
    );
    assert!(store.get_connection(&user("carol")).await.unwrap().is_some());
    store.put_connection(&connection("alice", 7, &tokens)).await.unwrap();
    assert_eq!(
        store.apply_delivery("d", 1_001, &revoked, None).await.unwrap(),
        Applied::Duplicate
    );
    assert!(
        store.get_connection(&user("alice")).await.unwrap().is_some(),
        "a reconnect after the revocation survives its redelivery"
    );
}

/// A forwarded delivery: its accounts recorded with its change stay its
/// own (a redelivery after a deletion reads them back), its publication is
/// recorded once, and a delivery the broker does not act on gets a record
/// at its publication alone.
pub(super) async fn a_forwarded_deliverys_accounts_and_publication_are_recorded(store: &dyn Store) {
    let teams = [AccountId::parse("team-a").unwrap(), AccountId::parse("team-b").unwrap()];
    let state = store.delivery_state("d").await.unwrap();
    assert_eq!((state.accounts, state.published), (None, false));

    let applied = store
        .apply_delivery("d", 1_000, &upsert(installation(1)), Some(&teams))
        .await
        .unwrap();
    assert_eq!(applied, Applied::Done);
    let state = store.delivery_state("d").await.unwrap();
    assert_eq!((state.accounts.as_deref(), state.published), (Some(&teams[..]), false));

    // The publication keeps the accounts recorded first.
    store.mark_published("d", 1_001, &[]).await.unwrap();
    let state = store.delivery_state("d").await.unwrap();
    assert_eq!((state.accounts.as_deref(), state.published), (Some(&teams[..]), true));
    // Still one delivery: a redelivery is a duplicate.
    let again = store
        .apply_delivery("d", 1_002, &upsert(installation(1)), Some(&[]))
        .await
        .unwrap();
    assert_eq!(again, Applied::Duplicate);

    // A push: recorded when published, with its accounts (none here).
    store.mark_published("push", 1_003, &[]).await.unwrap();
    let state = store.delivery_state("push").await.unwrap();
    assert_eq!((state.accounts, state.published), (Some(Vec::new()), true));
}
