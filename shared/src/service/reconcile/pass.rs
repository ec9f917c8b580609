//! The installation pass: every page of `GET /app/installations` against
//! the broker's records, each page's ids recorded under the pass's number;
//! then the installations the broker holds that no page listed, each
//! confirmed with GitHub (it may have been created since its page was
//! read) before it is handled as deleted.

use crate::domain::reconcile::{drift, invalidates_tokens, ChangeKind, Stop};
use crate::domain::{Installation, InstallationId};
use crate::error::Result;
use crate::secrets::AppCredentials;
use crate::store::WritePlan;

use super::repair::{repair, Repair};
use super::Run;

/// `None`: the pass was finished (and the next one begun); otherwise why
/// it stopped.
pub(super) async fn pass(run: &mut Run<'_>, creds: &AppCredentials) -> Result<Option<Stop>> {
    if !run.state.pass.begin(run.app.now()) {
        return Ok(None);
    }
    while let Some(page) = run.state.pass.next_page {
        if let Some(stop) = run.budget.check(1) {
            return Ok(Some(stop));
        }
        // The read's start orders the repairs it makes against the
        // webhooks' writes, as a webhook's own read does.
        let read_at = run.app.clock.now_millis();
        let (listed, more) = run.app.github.installations_page(creds, page).await?;
        let ids: Vec<InstallationId> = listed.iter().map(|i| i.id).collect();
        let held = run.app.store.installations_among(&ids).await?;
        for github in listed {
            run.summary.installations_checked += 1;
            match held.get(&github.id) {
                // Deleted for good: GitHub's list may lag its deletion.
                Some(None) => {}
                Some(Some(record)) => compare(run, Some(record.clone()), github, read_at).await?,
                None => compare(run, None, github, read_at).await?,
            }
        }
        let pass = run.state.pass.number;
        run.app.store.record_listed(pass, page, &ids, run.app.now()).await?;
        run.state.pass.next_page = more.then_some(page + 1);
        run.save().await?;
    }
    deletions(run, creds).await
}

/// Repairs `held` (`None`: never recorded) to `github`, if they differ.
async fn compare(run: &mut Run<'_>, held: Option<Installation>, github: Installation, read_at: i64) -> Result<()> {
    let kinds = drift(held.as_ref(), &github);
    if kinds.is_empty() {
        return Ok(());
    }
    let plan = WritePlan::Upsert {
        invalidate_tokens: invalidates_tokens(&kinds),
        installation: github.clone(),
        read_at,
    };
    repair(
        run,
        Repair {
            installation: github.id,
            kinds,
            previous: held,
            current: Some(github),
            plan,
            read_at,
        },
    )
    .await
}

/// The installations held and not listed, a store page at a time.
async fn deletions(run: &mut Run<'_>, creds: &AppCredentials) -> Result<Option<Stop>> {
    let listed = run.app.store.listed(run.state.pass.number).await?;
    loop {
        let after = run.state.pass.held_after.clone();
        let (held, next) = run.app.store.held_installations(after.as_deref()).await?;
        for id in held.into_iter().filter(|id| !listed.contains(id)) {
            if let Some(stop) = run.budget.check(1) {
                // This store page is read again next run: what was
                // repaired is found in order.
                return Ok(Some(stop));
            }
            let read_at = run.app.clock.now_millis();
            match run.app.github.installation(creds, id).await? {
                Some(github) => {
                    let held = run.app.store.get_installation(id).await?;
                    compare(run, held, github, read_at).await?;
                }
                None => {
                    let previous = run.app.store.get_installation(id).await?;
                    let repair_of = Repair {
                        installation: id,
                        kinds: vec![ChangeKind::Deleted],
                        previous,
                        current: None,
                        plan: WritePlan::Delete { id },
                        read_at,
                    };
                    repair(run, repair_of).await?;
                }
            }
        }
        run.state.pass.held_after = next;
        if run.state.pass.held_after.is_none() {
            run.summary.pass_finished = true;
            run.state.pass = run.state.pass.next();
            run.save().await?;
            return Ok(None);
        }
        run.save().await?;
    }
}
