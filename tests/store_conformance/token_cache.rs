//! Conformance scenarios: the token cache.

use super::*;

pub(super) async fn vend_snapshot_sees_the_link_the_installation_and_the_token_in_one_call(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    let empty = store.vend_snapshot(&a, id, "s").await.unwrap();
    assert!(!empty.linked() && empty.installation.is_none() && empty.cached.is_none());
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let token = mint(store, 1, "s", 5_000).await;

    let snapshot = store.vend_snapshot(&a, id, "s").await.unwrap();

    assert!(snapshot.linked());
    assert_eq!(snapshot.installation, Some(installation(1)));
    let cached = snapshot.cached.unwrap();
    assert_eq!(cached.lease_until, None);
    assert_same_installation_token(cached.token.as_ref().unwrap(), &token);
    let other_account = store.vend_snapshot(&account("team-b"), id, "s").await.unwrap();
    assert!(!other_account.linked() && other_account.installation.is_some() && other_account.cached.is_some());
    assert!(store
        .vend_snapshot(&a, id, "other-scope")
        .await
        .unwrap()
        .cached
        .is_none());
}

pub(super) async fn a_mint_lease_is_refused_while_another_runs_or_a_fresh_token_is_stored(store: &dyn Store) {
    let id = InstallationId(1);
    store
        .link(&account("team-a"), &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let first = lease("a", 1000, 1030);
    assert!(store
        .lease_mint(id, "s", &first, 1600, &fence(store, id, 0).await)
        .await
        .unwrap());
    let leased = store
        .cached_token(id, "s", &fence(store, id, 0).await)
        .await
        .unwrap()
        .unwrap();
    assert!(leased.token.is_none());
    assert_eq!(leased.lease_until, Some(1030));

    let other = lease("b", 1010, 1040);
    assert!(!store
        .lease_mint(id, "s", &other, 1600, &fence(store, id, 0).await)
        .await
        .unwrap());
    assert!(
        !store
            .lease_mint(id, "s", &lease("b", 1030, 1060), 1600, &fence(store, id, 0).await)
            .await
            .unwrap(),
        "held at its last second"
    );
    assert!(!store
        .store_minted(
            id,
            "s",
            &other,
            &installation_token(5_000, None),
            &fence(store, id, 0).await,
            &audit()
        )
        .await
        .unwrap());
    let token = installation_token(5_000, repositories());
    assert!(store
        .store_minted(id, "s", &first, &token, &fence(store, id, 0).await, &audit())
        .await
        .unwrap());
    let stored = store
        .cached_token(id, "s", &fence(store, id, 0).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lease_until, None);
    assert_same_installation_token(stored.token.as_ref().unwrap(), &token);

    // The stored token expires at 5000: fresh enough for anyone needing it until then.
    let third = lease("c", 1040, 1070);
    assert!(!store
        .lease_mint(id, "s", &third, 4_000, &fence(store, id, 0).await)
        .await
        .unwrap());
    assert!(!store
        .lease_mint(id, "s", &third, 5_000, &fence(store, id, 0).await)
        .await
        .unwrap());
    assert!(store
        .lease_mint(id, "s", &third, 5_001, &fence(store, id, 0).await)
        .await
        .unwrap());
    let releasing = store
        .cached_token(id, "s", &fence(store, id, 0).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(releasing.lease_until, Some(1070));
    assert!(
        releasing.token.is_some(),
        "the old token stays readable while a new one is minted"
    );
    let next = installation_token(8_600, None);
    assert!(store
        .store_minted(id, "s", &third, &next, &fence(store, id, 0).await, &audit())
        .await
        .unwrap());
    assert_same_installation_token(
        store
            .cached_token(id, "s", &fence(store, id, 0).await)
            .await
            .unwrap()
            .unwrap()
            .token
            .as_ref()
            .unwrap(),
        &next,
    );
}

pub(super) async fn a_mint_lease_that_ran_out_can_be_taken_and_its_old_holder_stores_nothing(store: &dyn Store) {
    let id = InstallationId(1);
    store
        .link(&account("team-a"), &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let (first, second) = (lease("a", 1000, 1030), lease("b", 1031, 1061));
    assert!(store
        .lease_mint(id, "s", &first, 1600, &fence(store, id, 0).await)
        .await
        .unwrap());

    assert!(store
        .lease_mint(id, "s", &second, 1600, &fence(store, id, 0).await)
        .await
        .unwrap());

    assert!(!store
        .store_minted(
            id,
            "s",
            &first,
            &installation_token(5_000, None),
            &fence(store, id, 0).await,
            &audit()
        )
        .await
        .unwrap());
    let token = installation_token(5_001, None);
    assert!(store
        .store_minted(id, "s", &second, &token, &fence(store, id, 0).await, &audit())
        .await
        .unwrap());
    assert_same_installation_token(
        store
            .cached_token(id, "s", &fence(store, id, 0).await)
            .await
            .unwrap()
            .unwrap()
            .token
            .as_ref()
            .unwrap(),
        &token,
    );
}

pub(super) async fn only_the_owner_releases_a_mint_lease(store: &dyn Store) {
    let id = InstallationId(1);
    let held = lease("a", 1000, 1030);
    assert!(store
        .lease_mint(id, "s", &held, 1600, &fence(store, id, 0).await)
        .await
        .unwrap());

    store
        .release_mint_lease(id, "s", &lease("b", 1000, 1030))
        .await
        .unwrap();
    assert!(!store
        .lease_mint(id, "s", &lease("c", 1010, 1040), 1600, &fence(store, id, 0).await)
        .await
        .unwrap());

    store.release_mint_lease(id, "s", &held).await.unwrap();
    assert!(
        store
            .cached_token(id, "s", &fence(store, id, 0).await)
            .await
            .unwrap()
            .is_none(),
        "a released lease that minted nothing leaves no item behind"
    );
    assert!(store
        .lease_mint(id, "s", &lease("c", 1010, 1040), 1600, &fence(store, id, 0).await)
        .await
        .unwrap());
}

pub(super) async fn invalidating_tokens_hides_every_scope_of_that_installation_only(store: &dyn Store) {
    let a = account("team-a");
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    store
        .link(&a, &installation(2), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    for (id, scope) in [(1, "s1"), (1, "s2"), (2, "s1")] {
        mint(store, id, scope, 5_000).await;
    }
    let in_flight = lease("d", 1000, 1030);
    assert!(store
        .lease_mint(
            InstallationId(1),
            "s3",
            &in_flight,
            1600,
            &fence(store, InstallationId(1), 0).await
        )
        .await
        .unwrap());
    let mut changed = installation(1);
    changed.repository_selection = "selected".into();

    let invalidate = read_at(changed.clone(), next_read(), true);
    assert_eq!(deliver(store, invalidate).await, Applied::Done);

    let epoch = store
        .vend_snapshot(&a, InstallationId(1), "s1")
        .await
        .unwrap()
        .token_epoch;
    for scope in ["s1", "s2", "s3"] {
        let snapshot = store.vend_snapshot(&a, InstallationId(1), scope).await.unwrap();
        assert!(snapshot.cached.and_then(|c| c.token).is_none(), "{scope}");
        let cached = store
            .cached_token(InstallationId(1), scope, &fence(store, InstallationId(1), epoch).await)
            .await
            .unwrap();
        assert!(cached.and_then(|c| c.token).is_none(), "{scope}");
    }
    let other = store.vend_snapshot(&a, InstallationId(2), "s1").await.unwrap();
    assert!(
        other.cached.and_then(|c| c.token).is_some(),
        "another installation keeps its tokens"
    );
    let late = installation_token(5_000, None);
    assert!(
        !store
            .store_minted(
                InstallationId(1),
                "s3",
                &in_flight,
                &late,
                &fence(store, InstallationId(1), 0).await,
                &audit()
            )
            .await
            .unwrap(),
        "a mint from before the invalidation is not kept"
    );
    // A new mint at the current epoch is not blocked by the hidden token.
    let fresh = lease("e", 1_001, 1_031);
    assert!(store
        .lease_mint(
            InstallationId(1),
            "s1",
            &fresh,
            1_600,
            &fence(store, InstallationId(1), epoch).await
        )
        .await
        .unwrap());
    let next = installation_token(6_000, None);
    assert!(store
        .store_minted(
            InstallationId(1),
            "s1",
            &fresh,
            &next,
            &fence(store, InstallationId(1), epoch).await,
            &audit()
        )
        .await
        .unwrap());
    let served = store.vend_snapshot(&a, InstallationId(1), "s1").await.unwrap();
    assert_same_installation_token(served.cached.unwrap().token.as_ref().unwrap(), &next);
    assert_eq!(served.installation, Some(changed));
    assert_eq!(store.linked_installations(&a).await.unwrap().len(), 2);
}

pub(super) async fn an_update_that_does_not_invalidate_keeps_the_cached_tokens(store: &dyn Store) {
    let a = account("team-a");
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let token = mint(store, 1, "s", 5_000).await;
    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;
    deliver(store, upsert(suspended)).await;
    // Linking writes the record again: that must not bring back tokens an
    // invalidation hid, nor hide current ones.
    store
        .link(&account("team-b"), &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();

    let snapshot = store.vend_snapshot(&a, InstallationId(1), "s").await.unwrap();

    assert_same_installation_token(snapshot.cached.unwrap().token.as_ref().unwrap(), &token);
    let invalidate = read_at(installation(1), next_read(), true);
    deliver(store, invalidate).await;
    store
        .link(&account("team-c"), &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let snapshot = store.vend_snapshot(&a, InstallationId(1), "s").await.unwrap();
    assert!(
        snapshot.cached.and_then(|c| c.token).is_none(),
        "a relink does not undo an invalidation"
    );
}

pub(super) async fn a_token_minted_under_a_lease_taken_after_the_installation_was_deleted_is_not_kept(
    store: &dyn Store,
) {
    let id = InstallationId(1);
    deliver(store, upsert(installation(1))).await;
    deliver(store, WritePlan::Delete { id }).await;
    // The lease lands after the deletion swept the partition.
    let late = lease("late", 1_001, 1_031);
    assert!(store
        .lease_mint(id, "s", &late, 1_600, &fence(store, id, 0).await)
        .await
        .unwrap());

    let kept = store
        .store_minted(
            id,
            "s",
            &late,
            &installation_token(5_000, None),
            &fence(store, id, 0).await,
            &audit(),
        )
        .await
        .unwrap();

    assert!(!kept);
    let cached = store.cached_token(id, "s", &fence(store, id, 0).await).await.unwrap();
    assert!(
        cached.and_then(|c| c.token).is_none(),
        "no token in a deleted installation's partition"
    );
}
