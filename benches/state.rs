//! Alert state's cost per webhook (issue "Alert state"): the same Atlas webhooks through the relay
//! stateless, and with state on against moto's DynamoDB on 127.0.0.1 through the real SDK client
//! (`publish::StateTable`), warm. For each case: this process's CPU per webhook (the thread's own
//! schedstat: moto's work is another process's), the wall time, and the DynamoDB calls per
//! webhook, counted by a wrapper around the table. SNS is a no-op publisher: its cost is the same
//! with state on and off (`benches/request_path.rs` measures it).
//!
//! `cargo bench --bench state` (needs `make venv`: moto from `.venv`); writes
//! `target/bench/state.md`, the table of BENCHMARKS.md's "Alert state" section. `STATE_BENCH_N`
//! webhooks per case (default 300).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alert_relay::pipeline::{Memory, MetricsSink};
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::publish::{PublishRequest, StateTable, state_timeouts};
use alert_relay::state::item::Item;
use alert_relay::state::{Expect, Table, TableFuture};
use alert_relay::{Config, PublishError, Publisher, Relay};
use serde_json::{Value, json};

#[path = "../tests/common/moto.rs"]
mod moto;

#[path = "common/apigw.rs"]
mod apigw;
use moto::{Moto, create_state_table};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const SECRET: &str = "bench-atlas-secret";
const TABLE: &str = "alert-relay-bench";
const SEED: &str = include_str!("../tests/data/seeds/atlas-disk-space-alert.json");
const ROUTES: &str = r#"[
    {"topic": "arn:aws:sns:us-east-1:123456789012:paging", "filter": {"severity": ["critical", "error"]}, "repeat_after": "1h"},
    {"topic": "arn:aws:sns:us-east-1:123456789012:chat", "format": "chatbot"}
]"#;

struct Discard;

impl Publisher for Discard {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        std::hint::black_box(request);
        Ok("00000000-0000-0000-0000-000000000000".into())
    }
}

/// Counts the calls made through it, by kind.
struct Counted<T> {
    inner: Arc<T>,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl<T> Clone for Counted<T> {
    fn clone(&self) -> Self {
        Counted {
            inner: self.inner.clone(),
            calls: self.calls.clone(),
        }
    }
}

impl<T> Counted<T> {
    fn count(&self, call: &'static str) {
        *self.calls.lock().unwrap().entry(call).or_default() += 1;
    }

    fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl<T: Table> Table for Counted<T> {
    fn get<'a>(&'a self, pk: &'a str, sk: &'a str) -> TableFuture<'a, Option<Item>> {
        self.count("GetItem");
        self.inner.get(pk, sk)
    }
    fn put(&self, item: Item, expect: Expect) -> TableFuture<'_, ()> {
        self.count("PutItem");
        self.inner.put(item, expect)
    }
    fn delete<'a>(&'a self, pk: &'a str, sk: &'a str, expect: Expect) -> TableFuture<'a, ()> {
        self.count("DeleteItem");
        self.inner.delete(pk, sk, expect)
    }
    fn query<'a>(&'a self, pk: &'a str) -> TableFuture<'a, Vec<Item>> {
        self.count("Query");
        self.inner.query(pk)
    }
}

/// This thread's CPU time so far (the relay and the SDK run on this one thread).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn config() -> Config {
    Config::from_lookup(|name| match name {
        "ALERT_TOPIC_ARN" => Some(TOPIC.into()),
        "ALERT_ROUTES" => Some(ROUTES.into()),
        "ATLAS_WEBHOOK_SECRETS" => Some(SECRET.into()),
        _ => None,
    })
    .unwrap()
}

fn quiet() -> MetricsSink {
    Box::new(|line| {
        std::hint::black_box(line);
    })
}

/// Atlas's disk alert `id`, `status` in its body and `event` in its header, updated at `minute`.
fn webhook(id: &str, event: &str, minute: u64) -> lambda_http::Request {
    let mut body: Value = serde_json::from_str(SEED).unwrap();
    body["id"] = json!(id);
    body["updated"] = json!(format!(
        "2024-01-{:02}T{:02}:{:02}:00Z",
        15 + minute / 1440,
        minute / 60 % 24,
        minute % 60
    ));
    let body = body.to_string();
    let mut headers = Provider::Atlas
        .sign_body(SECRET.as_bytes(), body.as_bytes(), SignedForm::Raw)
        .unwrap();
    headers.push(("X-MMS-Event", event.to_owned()));
    apigw::request("atlas", headers, body)
}

struct Row {
    case: &'static str,
    cpu_us: f64,
    wall_us: f64,
    calls: String,
    answer: String,
}

/// Sends `n` webhooks made by `make` through `relay`, after `warm` of them untimed.
async fn measure<P: Publisher, F: Fn(usize) -> lambda_http::Request>(
    case: &'static str,
    relay: &Relay<P>,
    counter: Option<&Counted<StateTable>>,
    n: usize,
    make: F,
) -> Row {
    let mut answer = String::new();
    for i in 0..3 {
        let response = relay.handle(make(i)).await;
        std::hint::black_box(response);
    }
    if let Some(counter) = counter {
        counter.take();
    }
    let requests: Vec<_> = (3..n + 3).map(&make).collect();
    let (cpu, wall) = (thread_cpu(), Instant::now());
    for request in requests {
        let response = relay.handle(request).await;
        let body: &[u8] = response.body().as_ref();
        let status = response.status().as_u16();
        let parsed: Value = serde_json::from_slice(body).unwrap_or_default();
        answer = format!("{status} {}", parsed["status"].as_str().unwrap_or_default())
            + &parsed["reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
    }
    let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
    let calls = counter.map_or_else(
        || "0".to_owned(),
        |counter| {
            counter
                .take()
                .into_iter()
                .map(|(call, count)| format!("{:.2} {call}", count as f64 / n as f64))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    Row {
        case,
        cpu_us: cpu.as_secs_f64() * 1e6 / n as f64,
        wall_us: wall.as_secs_f64() * 1e6 / n as f64,
        calls,
        answer,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: run either way.
    let n: usize = std::env::var("STATE_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = Moto::start();
    let rows = runtime.block_on(async {
        // moto is slower than DynamoDB: the bench measures the client, not the budget.
        let client = moto.dynamodb(|config| {
            state_timeouts(config)
                .timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled())
        });
        create_state_table(&client, TABLE).await;
        let counted = Counted {
            inner: Arc::new(StateTable::new(client, TABLE)),
            calls: Arc::default(),
        };
        let stateless = Relay::new(config(), Discard).with_metrics(quiet());
        let stateful = Relay::new(config(), Discard)
            .with_metrics(quiet())
            .with_memory(
                Memory::new(counted.clone(), 30 * 86_400_000).with_budget(Duration::from_secs(10)),
            );
        let mut rows = Vec::new();
        rows.push(
            measure("state off", &stateless, None, n, |i| {
                webhook(&format!("{i:024x}"), "alert.open", 0)
            })
            .await,
        );
        rows.push(
            measure(
                "state on: a new alert (told)",
                &stateful,
                Some(&counted),
                n,
                |i| webhook(&format!("{:024x}", 1_000_000 + i), "alert.open", 0),
            )
            .await,
        );
        let open = format!("{:024x}", 7);
        rows.push(
            measure(
                "state on: Atlas's re-notification (unchanged)",
                &stateful,
                Some(&counted),
                n,
                |i| webhook(&open, "alert.update", i as u64 + 1),
            )
            .await,
        );
        rows.push(
            measure(
                "state on: a retry (duplicate)",
                &stateful,
                Some(&counted),
                n,
                |_| webhook(&open, "alert.update", 1),
            )
            .await,
        );
        rows
    });
    drop(moto);

    let mut table = String::from(
        "| case | CPU per webhook (µs) | wall per webhook (µs) | DynamoDB calls per webhook | answer |\n| --- | ---: | ---: | --- | --- |\n",
    );
    for row in &rows {
        table.push_str(&format!(
            "| {} | {:.0} | {:.0} | {} | {} |\n",
            row.case, row.cpu_us, row.wall_us, row.calls, row.answer
        ));
    }
    println!("{table}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("state.md"), &table);
}
