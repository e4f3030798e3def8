//! Where alert state lives: a key-value table with conditional writes (DynamoDB in Lambda,
//! `publish::StateTable`; an in-memory one in tests), behind the four calls the stage makes.

use std::future::Future;
use std::pin::Pin;

use super::item::{BadItem, Item};

pub type TableFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TableError>> + Send + 'a>>;

/// The condition a write holds to: the item is absent, or still at the version that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Version(i64),
}

/// Why a table call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The condition failed: another delivery wrote first.
    #[error("the item changed since it was read")]
    Conflict,
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("no answer within the state budget")]
    Timeout,
    /// Access denied, no such table, a request the service refused.
    #[error("refused: {0}")]
    Refused(String),
    /// A 5xx, a broken connection, an answer that could not be read.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Bad(#[from] BadItem),
}

impl TableError {
    /// The fixed label the log line and the `state_fallback` metric carry.
    pub fn reason(&self) -> &'static str {
        match self {
            TableError::Conflict => "conflict",
            TableError::Throttled(_) => "throttled",
            TableError::Timeout => "timeout",
            TableError::Refused(_) => "refused",
            TableError::Unavailable(_) => "unavailable",
            TableError::Bad(_) => "bad_item",
        }
    }
}

/// The table, as the state stage uses it.
pub trait Table: Send + Sync {
    /// A strongly consistent read of one item.
    fn get<'a>(&'a self, pk: &'a str, sk: &'a str) -> TableFuture<'a, Option<Item>>;
    /// Writes `item` whole, if `expect` holds ([`TableError::Conflict`] otherwise).
    fn put(&self, item: Item, expect: Expect) -> TableFuture<'_, ()>;
    /// Deletes one item, if `expect` holds.
    fn delete<'a>(&'a self, pk: &'a str, sk: &'a str, expect: Expect) -> TableFuture<'a, ()>;
    /// Every item of a partition.
    fn query<'a>(&'a self, pk: &'a str) -> TableFuture<'a, Vec<Item>>;
}
