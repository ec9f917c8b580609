//! Store conformance: one set of scenarios over the `Store` port, run against
//! every implementation (DynamoDB through moto, the embedded redb store in a
//! temporary folder), so that both keep the guarantees the traits promise.
//!
//! Each scenario is written once, over `&dyn Store`; `conformance!` makes one
//! test per scenario and implementation: `store_conformance::dynamo::…` and
//! `store_conformance::embedded::…`. Times are explicit numbers (leases carry
//! their own `now`), so nothing sleeps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use broker::config::{Config, StoreBackend};
use broker::crypto::random::token_urlsafe;
use broker::crypto::TokenSealer;
use broker::domain::oauth::OAuthState;
use broker::domain::tokens::{InstallationToken, RepositoryRef, UserTokens};
use broker::domain::{AccountId, GitHubUserId, Installation, InstallationId, InstallationStatus, LinkPolicy, UserId};
use broker::store::{
    Applied, Connections, Deliveries, Installations, Lease, LinkedInstallation, NewConnection, OAuthStates, Store,
    TokenCache, TokenFence, Upsert, WritePlan,
};
use futures::future::join_all;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{app::sdk_config_at, moto, table};

/// A store under test, and where to look at what it keeps at rest.
struct Subject {
    store: std::sync::Arc<dyn Store>,
    at_rest: AtRest,
}

enum AtRest {
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
    Embedded {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
}

/// The scenarios' times are small explicit numbers: on this clock, the
/// embedded store's purge at opening finds nothing expired yet.
struct ScenarioEpoch;

impl broker::clock::Clock for ScenarioEpoch {
    fn now(&self) -> broker::clock::UnixTime {
        0
    }
}

/// The store `backend` names, through the composition root's own factory.
fn open(backend: StoreBackend, sdk: &aws_config::SdkConfig) -> std::sync::Arc<dyn Store> {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.store = Some(backend);
    broker::store::open(&config, sdk, sealer(), std::sync::Arc::new(ScenarioEpoch)).unwrap()
}

impl Subject {
    async fn dynamo() -> Self {
        let sdk = sdk_config_at(&moto::endpoint()).await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("conformance-{}", &token_urlsafe()[..12]);
        table::create(&client, &table).await;
        Self {
            store: open(StoreBackend::DynamoDb { table: table.clone() }, &sdk),
            at_rest: AtRest::Dynamo { client, table },
        }
    }

    async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.redb");
        Self {
            store: open(
                StoreBackend::Embedded { path: path.clone() },
                &sdk_config_at(&moto::endpoint()).await,
            ),
            at_rest: AtRest::Embedded { path, _dir: dir },
        }
    }

    /// Everything the backend holds, to search for secrets: the raw database
    /// file, or every item of the table as the SDK prints it.
    async fn raw(&self) -> Vec<u8> {
        match &self.at_rest {
            AtRest::Embedded { path, .. } => std::fs::read(path).unwrap(),
            AtRest::Dynamo { client, table, .. } => {
                let mut items = Vec::new();
                let mut start = None;
                loop {
                    let scan = client.scan().table_name(table).set_exclusive_start_key(start);
                    let out = scan.send().await.unwrap();
                    items.extend(out.items.unwrap_or_default());
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        return format!("{items:?}").into_bytes();
                    }
                }
            }
        }
    }
}

/// One `#[tokio::test]` per scenario and implementation. Scenarios listed
/// under `store` take `&dyn Store`; those under `subject` look at rest too.
macro_rules! conformance {
    (store: [$($(#[$attr:meta])* $scenario:ident),* $(,)?], subject: [$($at_rest:ident),* $(,)?] $(,)?) => {
        conformance!(@implementation dynamo, [$($(#[$attr])* $scenario),*], [$($at_rest),*]);
        conformance!(@implementation embedded, [$($(#[$attr])* $scenario),*], [$($at_rest),*]);
    };
    (@implementation $implementation:ident, [$($(#[$attr:meta])* $scenario:ident),*], [$($at_rest:ident),*]) => {
        mod $implementation {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let subject = super::Subject::$implementation().await;
                    super::$scenario(&*subject.store).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $at_rest() {
                    super::$at_rest(&super::Subject::$implementation().await).await;
                }
            )*
        }
    };
}

conformance! {
    store: [
        an_oauth_state_is_taken_once,
        of_sixteen_concurrent_takes_of_an_oauth_state_exactly_one_gets_it,
        an_oauth_state_id_cannot_be_put_twice,
        an_expired_oauth_state_is_still_handed_back_for_the_caller_to_refuse,
        a_connection_reads_back_as_it_was_stored,
        put_connection_bumps_the_version_so_a_refresh_of_the_old_grant_is_refused,
        the_refresh_lease_is_exclusive_until_it_runs_out,
        only_the_owner_releases_a_refresh_lease,
        completing_a_refresh_releases_the_lease,
        require_reauthorization_drops_the_tokens_and_keeps_the_login,
        users_of_a_github_user_are_every_platform_user_connected_to_it,
        a_refresh_in_flight_across_a_disconnect_and_reconnect_does_not_land,
        an_upserted_installation_reads_back,
        a_read_older_than_the_one_applied_keeps_the_record_and_still_invalidates,
        a_link_writes_only_what_the_record_lacks,
        a_deleted_installation_is_gone_with_its_links_and_tokens,
        linking_is_idempotent_and_stores_the_installation,
        unlink_says_whether_it_removed_a_link,
        linked_installations_lists_an_accounts_installations_by_id,
        links_among_finds_which_of_the_accounts_link_which_installations,
        vend_snapshot_sees_the_link_the_installation_and_the_token_in_one_call,
        a_mint_lease_is_refused_while_another_runs_or_a_fresh_token_is_stored,
        a_mint_lease_that_ran_out_can_be_taken_and_its_old_holder_stores_nothing,
        only_the_owner_releases_a_mint_lease,
        a_token_minted_under_a_lease_taken_after_the_installation_was_deleted_is_not_kept,
        invalidating_tokens_hides_every_scope_of_that_installation_only,
        an_update_that_does_not_invalidate_keeps_the_cached_tokens,
        a_delivery_is_applied_once_and_a_redelivery_changes_nothing,
        a_forwarded_deliverys_accounts_and_publication_are_recorded,
        of_ten_concurrent_copies_of_a_delivery_exactly_one_applies,
        a_delivery_for_a_deleted_installation_is_gone_and_not_recorded,
        a_revocation_disconnects_every_user_at_once_and_skips_unknown_ones,
        a_links_policy_reads_back_wherever_the_link_is_read,
        a_new_policy_hides_the_tokens_minted_under_the_old_one,
        a_mint_is_not_recorded_once_its_link_is_gone_or_changed,
        taking_an_accounts_tokens_moves_only_them_to_pending_revocation,
        a_deleted_installations_tokens_await_revocation,
        a_writes_audit_record_lands_with_it_or_not_at_all,
        the_audit_trail_pages_and_filters_newest_first,
        account_snapshots_show_every_live_linked_installation_with_its_token,
        the_reconcile_lease_is_exclusive_and_guards_the_state,
        a_pass_remembers_what_each_page_listed,
        held_installations_are_the_live_records_page_after_page,
        a_redelivery_is_claimed_once_unless_given_up,
    ],
    subject: [nothing_secret_is_kept_in_plaintext],
}

mod at_rest;
mod connections;
mod embedded_only;
mod installations;
mod links;
mod oauth;
mod reconciliation;
mod token_cache;
mod values;
mod webhook_deliveries;

use at_rest::*;
use connections::*;
use installations::*;
use links::*;
use oauth::*;
use reconciliation::*;
use token_cache::*;
use values::*;
use webhook_deliveries::*;
