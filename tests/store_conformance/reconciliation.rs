//! Conformance scenarios: the reconciler's memory.

use std::collections::HashSet;

use broker::domain::reconcile::ReconcileState;

use super::*;

pub(super) async fn the_reconcile_lease_is_exclusive_and_guards_the_state(store: &dyn Store) {
    let first = lease("run-1", 1_000, 1_300);
    let state = store.begin_reconcile(&first).await.unwrap();
    assert_eq!(
        state,
        Some(ReconcileState::default()),
        "a first run starts from nothing"
    );
    assert_eq!(
        store.begin_reconcile(&lease("run-2", 1_100, 1_400)).await.unwrap(),
        None,
        "held until it runs out"
    );
    let mut saved = ReconcileState::default();
    saved.sweep.floor = Some(42);
    saved.pass.next_page = Some(3);
    assert!(store.save_reconcile(&saved, &first, false).await.unwrap());
    // The lease runs out: another run takes over and the first saves nothing.
    let second = lease("run-2", 1_301, 1_600);
    assert_eq!(store.begin_reconcile(&second).await.unwrap(), Some(saved.clone()));
    let mut stale = saved.clone();
    stale.sweep.floor = Some(1);
    assert!(!store.save_reconcile(&stale, &first, true).await.unwrap());
    // Released, the next run takes it at once and reads what was saved.
    assert!(store.save_reconcile(&saved, &second, true).await.unwrap());
    assert_eq!(
        store.begin_reconcile(&lease("run-3", 1_302, 1_700)).await.unwrap(),
        Some(saved)
    );
}

pub(super) async fn a_pass_remembers_what_each_page_listed(store: &dyn Store) {
    let ids = |range: std::ops::Range<u64>| range.map(InstallationId).collect::<Vec<_>>();
    store.record_listed(7, 1, &ids(1..101), 1_000).await.unwrap();
    store.record_listed(7, 2, &ids(101..150), 1_000).await.unwrap();
    store.record_listed(8, 1, &ids(500..501), 1_000).await.unwrap();
    // A page read again (a run that stopped after it) replaces itself.
    store.record_listed(7, 2, &ids(101..150), 1_001).await.unwrap();
    let listed = store.listed(7).await.unwrap();
    assert_eq!(listed, ids(1..150).into_iter().collect::<HashSet<_>>());
    assert!(store.listed(9).await.unwrap().is_empty());
}

pub(super) async fn held_installations_are_the_live_records_page_after_page(store: &dyn Store) {
    for id in 1..=5 {
        deliver(store, upsert(installation(id))).await;
    }
    store
        .apply_delivery("gone", 1_000, &WritePlan::Delete { id: InstallationId(3) }, None)
        .await
        .unwrap();
    let mut held = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = store.held_installations(after.as_deref()).await.unwrap();
        held.extend(page);
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    held.sort();
    assert_eq!(held, [1, 2, 4, 5].map(InstallationId));
    let among = store.installations_among(&[1, 3, 9].map(InstallationId)).await.unwrap();
    assert_eq!(among.len(), 2, "never recorded is absent: {among:?}");
    assert_eq!(among[&InstallationId(1)], Some(installation(1)));
    assert_eq!(among[&InstallationId(3)], None, "a tombstone");
}

pub(super) async fn a_redelivery_is_claimed_once_unless_given_up(store: &dyn Store) {
    let claims = join_all((0..8).map(|_| store.claim_redelivery("guid-1", 1_000))).await;
    assert_eq!(claims.iter().filter(|c| *c.as_ref().unwrap()).count(), 1, "{claims:?}");
    assert!(!store.claim_redelivery("guid-1", 2_000).await.unwrap());
    store.release_redelivery("guid-1").await.unwrap();
    assert!(store.claim_redelivery("guid-1", 3_000).await.unwrap());
    let state = store.delivery_state("guid-1").await.unwrap();
    assert!(!state.recorded, "a claim is not a record of the delivery");
}
