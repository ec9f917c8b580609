//! The operators' route (IAM): a reconcile run on demand, answered with
//! the run's summary.

use crate::api::router::{Call, Reply};
use crate::api::ApiResponse;
use crate::error::Error;
use crate::service::reconcile::{self, Ran};
use crate::App;

pub fn run<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        tracing::info!(caller = call.principal(), "reconcile asked");
        match reconcile::run(app, reconcile::ON_DEMAND_RUN_TIME).await? {
            Ran::Done(summary) => Ok(ApiResponse::ok(&summary)),
            Ran::Busy => Err(Error::conflict(
                "reconcile_in_progress",
                "another reconcile run is at work; its summary is in the log",
            )),
        }
    })
}
