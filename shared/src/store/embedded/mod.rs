//! The embedded adapter: the DynamoDB table's items, under the same keys, in
//! one redb file on local disk, for running the broker without AWS (SPEC §8).
//!
//! Same guarantees as [`super::dynamo`]: whatever the DynamoDB adapter does
//! with a condition or a transaction is a read-check-write inside one redb
//! write transaction here (redb runs one writer at a time, so it is atomic
//! and isolated), and every commit is durable before the method returns.
//! Reads run in one snapshot, so `vend_snapshot` is a true point-in-time read.
//! Tokens, refresh tokens and PKCE verifiers are sealed exactly like the
//! DynamoDB adapter does, with `pk|sk|field` as associated data: the file
//! holds no plaintext secret.
//!
//! redb is synchronous, so every transaction runs on tokio's blocking pool:
//! a `write` waiting for the writer lock (or an fsync) never stalls the
//! runtime's workers. A caller's future dropped mid-way does not cancel a
//! transaction already started: it commits or aborts whole.

mod audit;
mod connections;
mod deliveries;
mod installations;
mod oauth;
mod reconcile;
mod records;
mod revocations;
#[cfg(test)]
mod tests;
mod tokens;
mod txn;

use std::path::Path;
use std::sync::Arc;

use redb::Database;
use secrecy::SecretString;

use self::txn::{backend, Reader, Writer};
use super::{StoreError, StoreResult};
use crate::clock::{Clock, UnixTime};
use crate::crypto::TokenSealer;
use crate::store::keys::Key;

/// redb keeps a page cache up to this size (its default is 1 GiB); the
/// broker's state is a few kilobytes per user and installation.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Calls [`EmbeddedStore::purge_expired`] at once and then every quarter
/// of an hour, while the store lives, to keep a long-lived file small.
pub(super) fn purge_expired_now_and_then(store: std::sync::Weak<EmbeddedStore>, clock: Arc<dyn Clock>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
        loop {
            every.tick().await;
            let Some(store) = store.upgrade() else { return };
            match store.purge_expired(clock.now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired items removed from the embedded store"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired items"),
            }
        }
    });
}

pub struct EmbeddedStore {
    db: Arc<Database>,
    sealer: TokenSealer,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore(..)")
    }
}

impl EmbeddedStore {
    /// Opens the database file at `path`, creating it (not its folder) if it
    /// does not exist. The state in it is the state a previous `open` left.
    /// One process at a time: a file already open elsewhere is an error.
    /// `sealer` must carry the same key as when the tokens were stored, or
    /// reading them is [`StoreError::Corrupt`].
    pub fn open(path: &Path, sealer: TokenSealer) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            // Files in the v3 format open unchanged in redb 3 and later.
            .create_with_file_format_v3(true)
            .create(path)
            .map_err(backend)?;
        let writer = Writer::begin(&db)?;
        let created = writer.create_tables();
        writer.finish(created)?;
        Ok(Self {
            db: Arc::new(db),
            sealer,
        })
    }

    /// Removes what DynamoDB's TTL would have removed by `now`: OAuth states
    /// and cached tokens an hour after expiry, deliveries after 30 days.
    /// Correctness never depends on it (expiry is checked by time); it only
    /// keeps a long-lived file small. Returns how many items went.
    pub async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        self.write(move |w| {
            w.remove_items_where(|bytes| {
                serde_json::from_slice::<records::Expiry>(bytes)
                    .ok()
                    .and_then(|e| e.expire_at)
                    .is_some_and(|at| at < now)
            })
        })
        .await
    }

    /// Runs `f` in one read snapshot on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || f(&Reader::begin(&db)?)).await
    }

    /// Runs `f` in one write transaction on the blocking pool: committed if
    /// it succeeds and wrote something, aborted otherwise.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Writer) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let writer = Writer::begin(&db)?;
            let outcome = f(&writer);
            writer.finish(outcome)
        })
        .await
    }

    fn seal(&self, key: &Key, field: &str, secret: &SecretString) -> String {
        self.sealer.seal(secret, &key.aad(field))
    }

    fn open_sealed(&self, key: &Key, field: &str, sealed: &str) -> StoreResult<SecretString> {
        self.sealer
            .open(sealed, &key.aad(field))
            .map_err(|_| StoreError::Corrupt(format!("{field} of {}|{} does not open", key.pk, key.sk)))
    }
}

async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(outcome) => outcome,
        // A panic in a transaction is a bug: let it surface as one.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Backend(format!("embedded store task did not run: {e}"))),
    }
}
