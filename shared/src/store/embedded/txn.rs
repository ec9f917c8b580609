//! Typed access to the redb tables inside one transaction.
//!
//! Two tables: `items`, keyed by `(pk, sk)` like the DynamoDB table, holding
//! serde_json values; and `gsi1`, keyed by `(gsi1pk, gsi1sk)` with no value,
//! the counterpart of the keys-only index. DynamoDB maintains its index by
//! itself; here the writer of a connection updates both in one transaction.
//!
//! Tuple keys order by `pk` first, then `sk`, so a partition (or a sort-key
//! prefix within it) is one contiguous range, like a DynamoDB `Query`.

use std::cell::Cell;

use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::keys::Key;
use crate::store::{StoreError, StoreResult};

pub(super) const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
pub(super) const GSI1: TableDefinition<(&str, &str), ()> = TableDefinition::new("gsi1");

/// Any redb failure is the backend failing: redb has no throttling.
pub(super) fn backend(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(format!("embedded store: {}", e.into()))
}

fn decode<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{}|{}: {e}", key.pk, key.sk)))
}

fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    key: &Key,
) -> StoreResult<Option<T>> {
    match table.get((key.pk.as_str(), key.sk.as_str())).map_err(backend)? {
        Some(bytes) => decode(key, bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// The sort keys of one partition that start with `sk_prefix`, in order.
fn sort_keys<V: redb::Value + 'static>(
    table: &impl ReadableTable<(&'static str, &'static str), V>,
    pk: &str,
    sk_prefix: &str,
) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    for entry in table.range((pk, sk_prefix)..).map_err(backend)? {
        let (key, _) = entry.map_err(backend)?;
        let (item_pk, sk) = key.value();
        if item_pk != pk || !sk.starts_with(sk_prefix) {
            break;
        }
        found.push(sk.to_owned());
    }
    Ok(found)
}

/// A read-only snapshot: every read in it sees the same committed state.
pub(super) struct Reader(ReadTransaction);

impl Reader {
    pub fn begin(db: &Database) -> StoreResult<Self> {
        db.begin_read().map(Self).map_err(backend)
    }

    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> StoreResult<Option<T>> {
        get(&self.0.open_table(ITEMS).map_err(backend)?, key)
    }

    #[cfg(test)]
    pub fn exists(&self, key: &Key) -> StoreResult<bool> {
        Ok(self.get::<serde::de::IgnoredAny>(key)?.is_some())
    }

    pub fn sort_keys(&self, pk: &str, sk_prefix: &str) -> StoreResult<Vec<String>> {
        sort_keys(&self.0.open_table(ITEMS).map_err(backend)?, pk, sk_prefix)
    }

    /// The items keyed `(pk, sk)` whose `pk` starts with `pk_prefix`, in
    /// order from the first `pk` after `after`, at most `limit`: a filtered
    /// Scan's page. The second value: whether more may follow.
    pub fn scan<T: DeserializeOwned>(
        &self,
        pk_prefix: &str,
        sk: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, T)>, bool)> {
        let table = self.0.open_table(ITEMS).map_err(backend)?;
        let start = after.unwrap_or(pk_prefix);
        let mut found = Vec::new();
        for entry in table.range((start, "")..).map_err(backend)? {
            let (key, value) = entry.map_err(backend)?;
            let (pk, item_sk) = key.value();
            if !pk.starts_with(pk_prefix) {
                return Ok((found, false));
            }
            if after == Some(pk) || item_sk != sk {
                continue;
            }
            if found.len() == limit {
                return Ok((found, true));
            }
            let key = Key::new(pk.to_owned(), item_sk.to_owned());
            found.push((key.pk.clone(), decode(&key, value.value())?));
        }
        Ok((found, false))
    }

    /// The `gsi1sk` values under one `gsi1pk`, in order.
    pub fn index(&self, gsi1pk: &str) -> StoreResult<Vec<String>> {
        sort_keys(&self.0.open_table(GSI1).map_err(backend)?, gsi1pk, "")
    }
}

/// The one write transaction redb allows at a time: a read-check-write in it
/// is atomic, which is what DynamoDB's conditions and transactions give.
pub(super) struct Writer {
    txn: WriteTransaction,
    /// Whether anything was written: a refused condition commits nothing
    /// (and so costs no fsync).
    dirty: Cell<bool>,
}

impl Writer {
    pub fn begin(db: &Database) -> StoreResult<Self> {
        Ok(Self {
            txn: db.begin_write().map_err(backend)?,
            dirty: Cell::new(false),
        })
    }

    /// Commits if `outcome` is a success and something was written; any
    /// error aborts, so a failed method leaves nothing half done.
    pub fn finish<T>(self, outcome: StoreResult<T>) -> StoreResult<T> {
        match outcome {
            Ok(value) if self.dirty.get() => self.txn.commit().map_err(backend).map(|()| value),
            Ok(value) => self.txn.abort().map_err(backend).map(|()| value),
            Err(e) => {
                // The method's own error says more than a failed abort would.
                let _ = self.txn.abort();
                Err(e)
            }
        }
    }

    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> StoreResult<Option<T>> {
        get(&self.txn.open_table(ITEMS).map_err(backend)?, key)
    }

    pub fn exists(&self, key: &Key) -> StoreResult<bool> {
        let table = self.txn.open_table(ITEMS).map_err(backend)?;
        let found = table
            .get((key.pk.as_str(), key.sk.as_str()))
            .map_err(backend)?
            .is_some();
        Ok(found)
    }

    pub fn sort_keys(&self, pk: &str, sk_prefix: &str) -> StoreResult<Vec<String>> {
        sort_keys(&self.txn.open_table(ITEMS).map_err(backend)?, pk, sk_prefix)
    }

    /// Writes the whole item, replacing what was there (a `PutItem`).
    pub fn put<T: Serialize>(&self, key: &Key, value: &T) -> StoreResult<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut table = self.txn.open_table(ITEMS).map_err(backend)?;
        table
            .insert((key.pk.as_str(), key.sk.as_str()), bytes.as_slice())
            .map_err(backend)?;
        self.dirty.set(true);
        Ok(())
    }

    /// Removes the item; whether it was there.
    pub fn delete(&self, key: &Key) -> StoreResult<bool> {
        let mut table = self.txn.open_table(ITEMS).map_err(backend)?;
        let removed = table
            .remove((key.pk.as_str(), key.sk.as_str()))
            .map_err(backend)?
            .is_some();
        self.dirty.set(self.dirty.get() || removed);
        Ok(removed)
    }

    pub fn index_put(&self, key: &Key) -> StoreResult<()> {
        let mut table = self.txn.open_table(GSI1).map_err(backend)?;
        table.insert((key.pk.as_str(), key.sk.as_str()), ()).map_err(backend)?;
        self.dirty.set(true);
        Ok(())
    }

    pub fn index_delete(&self, key: &Key) -> StoreResult<()> {
        let mut table = self.txn.open_table(GSI1).map_err(backend)?;
        let removed = table
            .remove((key.pk.as_str(), key.sk.as_str()))
            .map_err(backend)?
            .is_some();
        self.dirty.set(self.dirty.get() || removed);
        Ok(())
    }

    /// Removes every item for which `doomed(value)` holds; how many.
    pub fn remove_items_where(&self, mut doomed: impl FnMut(&[u8]) -> bool) -> StoreResult<usize> {
        let mut table = self.txn.open_table(ITEMS).map_err(backend)?;
        let mut removed = 0;
        table
            .retain(|_, value| {
                let remove = doomed(value);
                removed += usize::from(remove);
                !remove
            })
            .map_err(backend)?;
        self.dirty.set(self.dirty.get() || removed > 0);
        Ok(removed)
    }

    /// Creates the tables, so that read transactions can always open them.
    pub fn create_tables(&self) -> StoreResult<()> {
        self.txn.open_table(ITEMS).map_err(backend)?;
        self.txn.open_table(GSI1).map_err(backend)?;
        self.dirty.set(true);
        Ok(())
    }
}
