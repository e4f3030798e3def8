//! `publish::StateTable`, the DynamoDB adapter, against moto's DynamoDB (the `oracles` tier):
//! conditional writes refuse what DynamoDB refuses, reads are what was written, a partition is
//! queried whole, and DynamoDB's errors are sorted into the reasons the log carries.

mod common;

use alert_relay::publish::StateTable;
use alert_relay::state::item::{Attr, Item, PK, SK, VERSION};
use alert_relay::state::{Expect, Table, TableError};
use common::moto::{Moto, create_state_table, dynamodb_at};

fn item(pk: &str, sk: &str, version: i64) -> Item {
    Item::from([
        (PK.to_owned(), Attr::s(pk)),
        (SK.to_owned(), Attr::s(sk)),
        (VERSION.to_owned(), Attr::n(version)),
        (
            "told".to_owned(),
            Attr::M(Item::from([(
                "default".to_owned(),
                Attr::L(vec![Attr::s("x")]),
            )])),
        ),
    ])
}

#[tokio::test]
async fn conditional_writes_reads_and_queries_behave_as_dynamodb_says() {
    let moto = Moto::start();
    let client = moto.dynamodb(|c| c);
    create_state_table(&client, "state").await;
    let table = StateTable::new(client, "state");

    assert_eq!(table.get("alert#a", "state").await, Ok(None));
    table
        .put(item("alert#a", "state", 1), Expect::Absent)
        .await
        .unwrap();
    assert_eq!(
        table.put(item("alert#a", "state", 1), Expect::Absent).await,
        Err(TableError::Conflict),
        "a second first write loses"
    );
    assert_eq!(
        table
            .put(item("alert#a", "state", 3), Expect::Version(2))
            .await,
        Err(TableError::Conflict),
        "a write from a stale read loses"
    );
    table
        .put(item("alert#a", "state", 2), Expect::Version(1))
        .await
        .unwrap();
    assert_eq!(
        table.get("alert#a", "state").await,
        Ok(Some(item("alert#a", "state", 2)))
    );
    assert_eq!(
        table.delete("alert#a", "state", Expect::Version(1)).await,
        Err(TableError::Conflict)
    );
    table
        .delete("alert#a", "state", Expect::Version(2))
        .await
        .unwrap();
    assert_eq!(table.get("alert#a", "state").await, Ok(None));

    for id in ["s-1", "s-2", "s-3"] {
        table
            .put(item("silence", id, 1), Expect::Absent)
            .await
            .unwrap();
    }
    table
        .put(item("alert#b", "state", 1), Expect::Absent)
        .await
        .unwrap();
    let silences = table.query("silence").await.unwrap();
    assert_eq!(silences.len(), 3);
    assert!(silences.iter().all(|i| i[PK] == Attr::s("silence")));
}

#[tokio::test]
async fn a_missing_table_is_refused_and_a_dead_endpoint_unavailable() {
    let moto = Moto::start();
    let table = StateTable::new(moto.dynamodb(|c| c), "no-such-table");
    let error = table.get("alert#a", "state").await.unwrap_err();
    assert_eq!(error.reason(), "refused", "{error}");
    assert!(
        error.to_string().contains("ResourceNotFoundException"),
        "{error}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = dynamodb_at(&format!("http://127.0.0.1:{port}"), |c| c);
    let table = StateTable::new(dead, "state");
    let error = table.get("alert#a", "state").await.unwrap_err();
    assert_eq!(error.reason(), "unavailable", "{error}");
}
