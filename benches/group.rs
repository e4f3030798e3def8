//! A group's wall time (issue "Alert groups"): one Grafana group of 1, 10 and 100 alerts through
//! the relay to real SNS publishes (the SDK client against moto on 127.0.0.1, three topics: the
//! default, a route on `severity` and one on `labels`), stateless and with alert state against
//! moto's DynamoDB; and the same 100 alerts redelivered under state (every one a duplicate,
//! nothing published). moto answers slower than SNS and DynamoDB do; what matters is how far the
//! 100-alert group stays from API Gateway's 29 s.
//!
//! `cargo bench --bench group` (`make bench-group`; needs `make venv`: moto from `.venv`); writes
//! `target/bench/group.md`. `GROUP_BENCH_N` groups per case (default 10), each of new alerts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alert_relay::pipeline::{Memory, MetricsSink};
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::publish::{StateTable, state_timeouts};
use alert_relay::{Config, Publisher, Relay, SnsPublisher};
use serde_json::{Value, json};

#[path = "../tests/common/moto.rs"]
mod moto;

#[path = "common/apigw.rs"]
mod apigw;
use moto::{Moto, create_state_table};

const SECRET: &str = "bench-grafana-secret";
const TABLE: &str = "alert-relay-bench-group";

fn config(topics: &[String]) -> Config {
    let routes = json!([
        {"topic": topics[1], "filter": {"severity": ["critical"]}},
        {"topic": topics[2], "filter": {"labels": ["team=orders"]}},
    ])
    .to_string();
    Config::from_lookup(|name| match name {
        "ALERT_TOPIC_ARN" => Some(topics[0].clone()),
        "ALERT_ROUTES" => Some(routes.clone()),
        "GRAFANA_WEBHOOK_SECRETS" => Some(SECRET.into()),
        _ => None,
    })
    .unwrap()
}

fn quiet() -> MetricsSink {
    Box::new(|line| {
        std::hint::black_box(line);
    })
}

/// A Grafana group of `count` firing alerts, each its own fingerprint from `first`, half of them
/// critical, signed now over `<seconds>:<body>`.
fn group(first: usize, count: usize) -> lambda_http::Request {
    let alerts: Vec<Value> = (first..first + count)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": {"alertname": "PostgresReplicationLag", "instance": format!("db-{i}"),
                           "severity": if i % 2 == 0 { "critical" } else { "warning" },
                           "team": "orders", "cluster": "prod-eu"},
                "annotations": {"summary": format!("Replication lag on db-{i}"),
                                "runbook_url": "https://runbooks.example.com/postgres/lag"},
                "startsAt": "2024-01-15T10:20:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://grafana.example.com/alerting/grafana/bdx7k2m1/view",
                "fingerprint": format!("{i:016x}"),
                "panelURL": "https://grafana.example.com/d/pg-repl?viewPanel=4",
                "values": {"A": i, "C": 1}
            })
        })
        .collect();
    let body = json!({"receiver": "alert-relay", "status": "firing", "alerts": alerts,
                      "groupKey": "{}:{}", "truncatedAlerts": 0, "version": "1"})
    .to_string();
    let headers = Provider::Grafana
        .sign_body(SECRET.as_bytes(), body.as_bytes(), SignedForm::Timestamped)
        .unwrap();
    apigw::request("grafana", headers, body)
}

struct Row {
    case: String,
    median: Duration,
    worst: Duration,
    answer: String,
}

/// `n` groups made by `make`, each timed from the request to the answer.
async fn measure<P: Publisher>(
    case: String,
    relay: &Relay<P>,
    n: usize,
    make: impl Fn(usize) -> lambda_http::Request,
) -> Row {
    let mut times = Vec::with_capacity(n);
    let mut answer = String::new();
    for i in 0..n {
        let request = make(i);
        let started = Instant::now();
        let response = relay.handle(request).await;
        times.push(started.elapsed());
        let parsed: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
        let events = parsed["events"].as_array().map_or(0, Vec::len);
        answer = format!(
            "{} {} ({events} events)",
            response.status().as_u16(),
            parsed["status"]
                .as_str()
                .or(parsed["error"].as_str())
                .unwrap_or_default()
        );
    }
    times.sort();
    Row {
        case,
        median: times[n / 2],
        worst: times[n - 1],
        answer,
    }
}

fn main() {
    let n: usize = std::env::var("GROUP_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    // Several threads, as Lambda's runtime has: the publishes of a group overlap.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = Moto::start();
    let rows = runtime.block_on(async {
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::Config::builder()
                .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
                .region(aws_sdk_sns::config::Region::new("us-east-1"))
                .endpoint_url(&moto.endpoint)
                .credentials_provider(aws_sdk_sns::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .build(),
        );
        let mut topics = Vec::new();
        for name in ["alerts", "paging", "orders"] {
            let created = sns.create_topic().name(name).send().await.unwrap();
            topics.push(created.topic_arn().unwrap().to_owned());
        }
        let dynamodb = moto.dynamodb(|config| {
            state_timeouts(config)
                .timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled())
        });
        create_state_table(&dynamodb, TABLE).await;
        let stateless =
            Relay::new(config(&topics), SnsPublisher::new(sns.clone())).with_metrics(quiet());
        let stateful = Relay::new(config(&topics), SnsPublisher::new(sns.clone()))
            .with_metrics(quiet())
            .with_memory(
                Memory::new(StateTable::new(dynamodb, TABLE), 30 * 86_400_000)
                    .with_budget(Duration::from_secs(20)),
            );
        // Warm both clients' connections.
        stateless.handle(group(9_000_000, 2)).await;
        stateful.handle(group(9_100_000, 2)).await;
        let mut rows = Vec::new();
        let mut next = 0;
        for size in [1, 10, 100] {
            let base = next;
            rows.push(
                measure(format!("{size} alerts, state off"), &stateless, n, |i| {
                    group(base + i * size, size)
                })
                .await,
            );
            next += n * size;
            let base = next;
            rows.push(
                measure(
                    format!("{size} alerts, state on (new alerts)"),
                    &stateful,
                    n,
                    |i| group(base + i * size, size),
                )
                .await,
            );
            next += n * size;
        }
        let told = next - n * 100;
        rows.push(
            measure(
                "100 alerts, state on, redelivered (duplicates)".to_owned(),
                &stateful,
                n,
                |_| group(told, 100),
            )
            .await,
        );
        rows
    });
    drop(moto);

    let mut table =
        String::from("| group | median | slowest | answer |\n| --- | ---: | ---: | --- |\n");
    for row in &rows {
        table.push_str(&format!(
            "| {} | {:.1} ms | {:.1} ms | {} |\n",
            row.case,
            row.median.as_secs_f64() * 1e3,
            row.worst.as_secs_f64() * 1e3,
            row.answer
        ));
    }
    println!("{table}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("group.md"), &table);
}
