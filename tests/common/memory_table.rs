//! An in-memory alert-state table with DynamoDB's conditional writes, for the in-process tests;
//! the DynamoDB adapter itself is tested against moto (tests/e2e/test_state.py).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_relay::state::item::{Attr, Item, PK, SK, VERSION};
use alert_relay::state::{Expect, Table, TableError, TableFuture};

#[derive(Clone, Default)]
pub struct MemoryTable {
    pub items: Arc<Mutex<BTreeMap<(String, String), Item>>>,
    /// Every call, `get`/`put`/`delete`/`query`, in order.
    pub calls: Arc<Mutex<Vec<&'static str>>>,
    /// Each call fails with this, when set.
    pub failing: Arc<Mutex<Option<TableError>>>,
    /// Each call takes this long first (tokio time: pause it in tests).
    pub delay: Arc<Mutex<Duration>>,
}

fn key_of(item: &Item) -> (String, String) {
    let text = |name: &str| match item.get(name) {
        Some(Attr::S(s)) => s.clone(),
        _ => panic!("an item without {name}"),
    };
    (text(PK), text(SK))
}

fn holds(current: Option<&Item>, expect: Expect) -> bool {
    match (expect, current) {
        (Expect::Absent, None) => true,
        (Expect::Version(v), Some(item)) => item.get(VERSION) == Some(&Attr::n(v)),
        _ => false,
    }
}

impl MemoryTable {
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    pub fn fail_with(&self, error: Option<TableError>) {
        *self.failing.lock().unwrap() = error;
    }

    pub fn delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn get_item(&self, pk: &str, sk: &str) -> Option<Item> {
        self.items
            .lock()
            .unwrap()
            .get(&(pk.to_owned(), sk.to_owned()))
            .cloned()
    }

    /// Records the call, waits its delay, yields (so that concurrent requests interleave), and
    /// fails it when the table is failing.
    async fn enter(&self, call: &'static str) -> Result<(), TableError> {
        self.calls.lock().unwrap().push(call);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        tokio::task::yield_now().await;
        match self.failing.lock().unwrap().clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Table for MemoryTable {
    fn get<'a>(&'a self, pk: &'a str, sk: &'a str) -> TableFuture<'a, Option<Item>> {
        Box::pin(async move {
            self.enter("get").await?;
            Ok(self.get_item(pk, sk))
        })
    }

    fn put(&self, item: Item, expect: Expect) -> TableFuture<'_, ()> {
        Box::pin(async move {
            self.enter("put").await?;
            let key = key_of(&item);
            let mut items = self.items.lock().unwrap();
            if !holds(items.get(&key), expect) {
                return Err(TableError::Conflict);
            }
            items.insert(key, item);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, pk: &'a str, sk: &'a str, expect: Expect) -> TableFuture<'a, ()> {
        Box::pin(async move {
            self.enter("delete").await?;
            let key = (pk.to_owned(), sk.to_owned());
            let mut items = self.items.lock().unwrap();
            if !holds(items.get(&key), expect) {
                return Err(TableError::Conflict);
            }
            items.remove(&key);
            Ok(())
        })
    }

    fn query<'a>(&'a self, pk: &'a str) -> TableFuture<'a, Vec<Item>> {
        Box::pin(async move {
            self.enter("query").await?;
            Ok(self
                .items
                .lock()
                .unwrap()
                .iter()
                .filter(|((p, _), _)| p == pk)
                .map(|(_, item)| item.clone())
                .collect())
        })
    }
}
