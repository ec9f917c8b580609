//! One repair: the webhooks' write path with a change id of its own, and,
//! when events are forwarded, a `reconciled` event. The event is recorded
//! in the state before the repair is written and taken out once published,
//! so a run that stops in between publishes it next time (at least once,
//! like the deliveries; consumers deduplicate by its id).

use serde_json::json;
use serde_json::value::RawValue;

use crate::domain::forwarding::{ForwardedEvent, PayloadAt};
use crate::domain::reconcile::{ChangeKind, PendingRepair};
use crate::domain::{AccountId, Installation, InstallationId};
use crate::error::{Error, Result};
use crate::service::webhooks::apply_plan;
use crate::store::{Applied, WritePlan};

use super::Run;

/// The `detail-type` (and `event`) of a repair's event.
pub const RECONCILED: &str = "reconciled";

pub(super) struct Repair {
    pub installation: InstallationId,
    pub kinds: Vec<ChangeKind>,
    /// The broker's record before; `None`: never recorded.
    pub previous: Option<Installation>,
    /// GitHub's installation; `None`: GitHub no longer knows it.
    pub current: Option<Installation>,
    pub plan: WritePlan,
    /// When GitHub was read (Unix milliseconds).
    pub read_at: i64,
}

fn forwarded(run: &Run<'_>) -> bool {
    run.app.events.is_some() && run.app.config.forward_events.forwards(RECONCILED)
}

pub(super) async fn repair(run: &mut Run<'_>, repair: Repair) -> Result<()> {
    // One id per read of GitHub: the same state read twice is one repair.
    let id = format!("reconcile-{}-{}", repair.installation, repair.read_at);
    let action = repair.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",");
    let event = match forwarded(run) {
        false => None,
        true => {
            // Read before a deletion removes the links.
            let accounts: Vec<AccountId> = run
                .app
                .store
                .links_of_installation(repair.installation)
                .await?
                .into_iter()
                .map(|(account, _)| account)
                .collect();
            let payload = json!({
                "installation_id": repair.installation.0,
                "changes": repair.kinds,
                "previous": repair.previous,
                "current": repair.current,
            });
            let pending = PendingRepair {
                id: id.clone(),
                installation: repair.installation.0,
                action: action.clone(),
                accounts: accounts.iter().map(|a| a.as_str().to_owned()).collect(),
                payload: payload.to_string(),
            };
            run.state.unpublished.push(pending.clone());
            run.save().await?;
            Some((pending, accounts))
        }
    };
    let accounts = event.as_ref().map(|(_, accounts)| accounts.as_slice());
    let applied = apply_plan(run.app, &id, &repair.plan, accounts).await?;
    let done = applied == Applied::Done;
    if done {
        run.summary.count(&repair.kinds);
        tracing::info!(installation = %repair.installation, changes = %action, "installation repaired");
    }
    if let Some((pending, _)) = event {
        // A webhook's newer write won the race: nothing was repaired, and
        // nothing is announced.
        if done {
            publish(run, &pending).await?;
        }
        run.state.unpublished.retain(|p| p.id != pending.id);
    }
    Ok(())
}

/// Publishes what an earlier run repaired and did not get to publish.
pub(super) async fn publish_unpublished(run: &mut Run<'_>) -> Result<()> {
    if run.state.unpublished.is_empty() {
        return Ok(());
    }
    for pending in run.state.unpublished.clone() {
        publish(run, &pending).await?;
        run.state.unpublished.retain(|p| p.id != pending.id);
        run.save().await?;
    }
    Ok(())
}

async fn publish(run: &mut Run<'_>, pending: &PendingRepair) -> Result<()> {
    let Some(bus) = run.app.events.as_deref() else {
        return Ok(());
    };
    let accounts = pending
        .accounts
        .iter()
        .map(|a| AccountId::parse(a).ok_or_else(|| Error::Internal("a pending repair's account".into())))
        .collect::<Result<Vec<_>>>()?;
    let payload: Box<RawValue> =
        serde_json::from_str(&pending.payload).map_err(|_| Error::Internal("a pending repair's payload".into()))?;
    let event = ForwardedEvent {
        delivery_id: &pending.id,
        event: RECONCILED,
        action: Some(&pending.action),
        installation: Some(InstallationId(pending.installation)),
        accounts: &accounts,
    };
    bus.publish(RECONCILED, &event.detail(PayloadAt::Inline(&payload)))
        .await?;
    run.summary.repairs_published += 1;
    Ok(())
}
