//! Conformance scenarios: webhook deliveries.

use super::*;

pub(super) async fn a_delivery_is_claimed_once_and_is_a_duplicate_once_finished(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_delivery("d", 1001, 1061).await.unwrap(), Claim::Duplicate);

    store.finish_delivery("d", 1002).await.unwrap();

    assert_eq!(store.claim_delivery("d", 2000, 2060).await.unwrap(), Claim::Duplicate);
    store.release_delivery("d").await.unwrap();
    assert_eq!(
        store.claim_delivery("d", 2001, 2061).await.unwrap(),
        Claim::Duplicate,
        "done stays done"
    );
}

pub(super) async fn of_ten_concurrent_claims_of_a_delivery_exactly_one_wins(store: &dyn Store) {
    let claims = join_all((0..10).map(|_| store.claim_delivery("d", 1000, 1060))).await;

    let won = claims
        .into_iter()
        .filter(|c| *c.as_ref().unwrap() == Claim::Claimed)
        .count();
    assert_eq!(won, 1);
}

pub(super) async fn a_released_delivery_can_be_claimed_again(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);

    store.release_delivery("d").await.unwrap();

    assert_eq!(store.claim_delivery("d", 1001, 1061).await.unwrap(), Claim::Claimed);
    store.release_delivery("unknown").await.unwrap();
}

pub(super) async fn a_delivery_whose_claim_ran_out_can_be_claimed_again(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);

    assert_eq!(
        store.claim_delivery("d", 1060, 1120).await.unwrap(),
        Claim::Duplicate,
        "held at its last second"
    );
    assert_eq!(store.claim_delivery("d", 1061, 1121).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_delivery("d", 1062, 1122).await.unwrap(), Claim::Duplicate);
}
