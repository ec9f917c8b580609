//! Conformance scenarios: webhook deliveries.

use super::*;

pub(super) async fn a_delivery_is_claimed_once_and_is_a_duplicate_once_finished(store: &dyn Store) {
    let first = lease("first", 1000, 1060);
    assert_eq!(store.claim_delivery("d", &first).await.unwrap(), Claim::Claimed);
    assert_eq!(
        store.claim_delivery("d", &lease("second", 1001, 1061)).await.unwrap(),
        Claim::Duplicate
    );

    assert!(store.finish_delivery("d", &first, 1002).await.unwrap());

    assert_eq!(
        store.claim_delivery("d", &lease("third", 2000, 2060)).await.unwrap(),
        Claim::Duplicate
    );
    store.release_delivery("d", &first).await.unwrap();
    assert_eq!(
        store.claim_delivery("d", &lease("fourth", 2001, 2061)).await.unwrap(),
        Claim::Duplicate,
        "done stays done"
    );
}

pub(super) async fn of_ten_concurrent_claims_of_a_delivery_exactly_one_wins(store: &dyn Store) {
    let leases: Vec<_> = (0..10).map(|i| lease(&format!("c{i}"), 1000, 1060)).collect();
    let claims = join_all(leases.iter().map(|l| store.claim_delivery("d", l))).await;

    let won = claims
        .into_iter()
        .filter(|c| *c.as_ref().unwrap() == Claim::Claimed)
        .count();
    assert_eq!(won, 1);
}

pub(super) async fn a_released_delivery_can_be_claimed_again(store: &dyn Store) {
    let first = lease("first", 1000, 1060);
    assert_eq!(store.claim_delivery("d", &first).await.unwrap(), Claim::Claimed);

    store.release_delivery("d", &first).await.unwrap();

    assert_eq!(
        store.claim_delivery("d", &lease("second", 1001, 1061)).await.unwrap(),
        Claim::Claimed
    );
    store.release_delivery("unknown", &first).await.unwrap();
}

pub(super) async fn a_delivery_whose_claim_ran_out_can_be_claimed_again(store: &dyn Store) {
    assert_eq!(
        store.claim_delivery("d", &lease("first", 1000, 1060)).await.unwrap(),
        Claim::Claimed
    );

    assert_eq!(
        store.claim_delivery("d", &lease("second", 1060, 1120)).await.unwrap(),
        Claim::Duplicate,
        "held at its last second"
    );
    assert_eq!(
        store.claim_delivery("d", &lease("third", 1061, 1121)).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim_delivery("d", &lease("fourth", 1062, 1122)).await.unwrap(),
        Claim::Duplicate
    );
}

pub(super) async fn a_claim_taken_over_cannot_be_finished_or_released_by_its_old_holder(store: &dyn Store) {
    let stale = lease("stale", 1000, 1060);
    let current = lease("current", 1061, 1121);
    store.claim_delivery("d", &stale).await.unwrap();
    assert_eq!(store.claim_delivery("d", &current).await.unwrap(), Claim::Claimed);

    assert!(!store.finish_delivery("d", &stale, 1062).await.unwrap());
    store.release_delivery("d", &stale).await.unwrap();

    assert_eq!(
        store.claim_delivery("d", &lease("other", 1063, 1123)).await.unwrap(),
        Claim::Duplicate,
        "the current claim still holds"
    );
    assert!(store.finish_delivery("d", &current, 1064).await.unwrap());
    assert_eq!(
        store.claim_delivery("d", &lease("later", 9_000, 9_060)).await.unwrap(),
        Claim::Duplicate,
        "and is done"
    );
}

pub(super) async fn finishing_a_delivery_never_claimed_writes_nothing(store: &dyn Store) {
    assert!(!store
        .finish_delivery("never-claimed", &lease("x", 1000, 1060), 1001)
        .await
        .unwrap());

    assert_eq!(
        store
            .claim_delivery("never-claimed", &lease("y", 1002, 1062))
            .await
            .unwrap(),
        Claim::Claimed,
        "no record was created"
    );
}
