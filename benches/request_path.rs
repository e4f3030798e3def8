//! The request path, measured against its floor.
//!
//! For every provider (Monte Carlo in both signed forms) and payloads of 1 KiB, 16 KiB and
//! 256 KiB, each group `<case>-<size>` times:
//! - `floor`: one HMAC of the body with the provider's hash plus one `serde_json` parse of it;
//! - `handle`: `Relay::handle` on a `lambda_http::Request` built outside the timed region, with a
//!   publisher that discards the message: route, verify, parse, normalize, build the message, and
//!   format the log line and the EMF metrics line (written to a sink, not a terminal);
//! - `from_event`: the same, starting from the API Gateway event's bytes as `main` receives them
//!   from the runtime: deserialize `LambdaRequest`, `guard_body`, convert to a `Request`, handle;
//! - `sdk_publish`: what the AWS SDK adds for this message: serializing and SigV4-signing the SNS
//!   `Publish` request, stopped by an interceptor just before it would be sent.
//!
//! Besides: `forged` (the same request signed with an unknown secret) in each group, forged Monte
//! Carlo bodies that cannot be JSON (`monte-carlo-not-json-*`) and the worst JSON shapes at 256 KiB
//! (`monte-carlo-forged-shapes-256KiB`), Standard Webhooks headers of 1, 2 and 16 forged tags
//! (`standard-webhooks-tags-*`), Atlas enrichment with a warm cache and the cost per routed topic.
//!
//! The payloads are generated here, deterministically, and written with their signed API Gateway
//! events to `target/bench/payloads/` so that `bench/reference.py` times Python on the same bytes.

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use alert_relay::Secret;
use alert_relay::event::Attributes;
use alert_relay::format::Message;
use alert_relay::providers::{Provider, SignedForm, Signing};
use alert_relay::publish::{Fifo, PublishRequest};
use alert_relay::signature::Hash;
use alert_relay::{
    Config, PublishError, Publisher, Relay, SnsPublisher, handler, logging, pipeline,
};
use aws_sdk_sns::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sns::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::Request;
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

#[path = "../tests/common/atlas_standin.rs"]
mod atlas_standin;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const SIZES: [(&str, usize); 3] = [("1KiB", 1024), ("16KiB", 16 * 1024), ("256KiB", 256 * 1024)];

/// One signed form of one provider.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    provider: Provider,
    form: SignedForm,
}

/// Every signed form of every provider, named by the slug (and the form, where there are several).
fn all_cases() -> Vec<Case> {
    Provider::ALL
        .into_iter()
        .flat_map(|provider| {
            let forms = provider.spec().forms;
            forms.iter().map(move |&form| Case {
                name: match forms.len() {
                    1 => provider.slug(),
                    _ => format!("{}-{}", provider.slug(), form.as_str()).leak(),
                },
                provider,
                form,
            })
        })
        .collect()
}

/// Fake, like the ones in `events/README.md`; one per provider so the floor is one HMAC.
fn secret(provider: Provider) -> String {
    format!("bench-{}-secret", provider.slug())
}

// ---------------------------------------------------------------------------------------------
// Payloads: realistic shapes, grown item by item to the size, then padded to the exact byte.

/// The compact JSON of `build(items, pad)` with the most items that fit in `target` bytes,
/// padded (`pad` adds exactly that many ASCII bytes to a string) to exactly `target`.
fn sized(target: usize, build: impl Fn(usize, usize) -> Value) -> Vec<u8> {
    let len = |n| serde_json::to_vec(&build(n, 0)).expect("JSON").len();
    assert!(
        len(0) <= target,
        "the empty payload is larger than {target}"
    );
    let (mut fits, mut over) = (0, 1);
    while len(over) <= target {
        fits = over;
        over *= 2;
    }
    while over - fits > 1 {
        let mid = (fits + over) / 2;
        if len(mid) <= target {
            fits = mid;
        } else {
            over = mid;
        }
    }
    let body = serde_json::to_vec(&build(fits, target - len(fits))).expect("JSON");
    assert_eq!(body.len(), target);
    body
}

/// An Atlas host alert whose `humanReadable` lists many hosts.
fn atlas(lines: usize, pad: usize) -> Value {
    let mut human = String::from(
        "Disk space used on data partition is 95.2%.\nProject: MyProject Organization: MyOrganization",
    );
    for i in 0..lines {
        let _ = write!(
            human,
            "\nHost cluster0-shard-{:02}-{:02}.ab1cd.mongodb.net:27017 data partition at {}.{}% of 512 GB (threshold 90%), sampled 2024-01-15T10:{:02}:{:02}Z",
            i / 3 % 100,
            i % 3,
            90 + i % 10,
            i % 10,
            i / 60 % 60,
            i % 60
        );
    }
    human.push_str(&".".repeat(pad));
    json!({
        "id": "5d1b6f8e8c2e4e2d3c4a5b6c",
        "groupId": "5d1b6f8e8c2e4e2d3c4a5b6d",
        "orgId": "5d1b6f8e8c2e4e2d3c4a5b6e",
        "alertConfigId": "5d1b6f8e8c2e4e2d3c4a5b70",
        "eventTypeName": "OUTSIDE_METRIC_THRESHOLD",
        "typeName": "HOST_METRIC",
        "status": "OPEN",
        "created": "2024-01-15T10:30:00Z",
        "updated": "2024-01-15T10:30:00Z",
        "lastNotified": "2024-01-15T10:30:00Z",
        "humanReadable": human,
        "metricName": "DISK_PARTITION_SPACE_USED_DATA",
        "currentValue": {"number": 95.2, "units": "RAW"},
        "clusterName": "Cluster0",
        "hostnameAndPort": "cluster0-shard-00-01.ab1cd.mongodb.net:27017",
        "replicaSetName": "atlas-ab1cd-shard-0",
        "links": [{
            "href": "https://cloud.mongodb.com/api/atlas/v2/groups/5d1b6f8e8c2e4e2d3c4a5b6d/alerts/5d1b6f8e8c2e4e2d3c4a5b6c",
            "rel": "self"
        }]
    })
}

/// A generic signed alert (an Atlas Function forwarding a trigger) with a list of samples.
fn app_services(samples: usize, pad: usize) -> Value {
    let samples: Vec<Value> = (0..samples)
        .map(|i| {
            json!({
                "host": format!("cluster0-shard-{:02}-{:02}.ab1cd.mongodb.net", i / 3 % 100, i % 3),
                "lag_seconds": 60.0 + (i % 40) as f64 * 0.25,
                "at": format!("2024-01-15T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
                "healthy": i % 4 != 0,
                "oplog_window_hours": null
            })
        })
        .collect();
    json!({
        "id": "65a4f1c2e13d8b0a9c7e5f31",
        "type": "replication.lag",
        "status": "firing",
        "severity": "high",
        "title": "Replication lag above 60 s on Cluster0",
        "description": format!("Secondaries are falling behind the primary.{}", ".".repeat(pad)),
        "url": "https://cloud.mongodb.com/v2/5d1b6f8e8c2e4e2d3c4a5b6d#/clusters/detail/Cluster0",
        "timestamp": "2024-01-15T10:30:00Z",
        "source": {"app": "alerts-app", "function": "notifyOnLag"},
        "samples": samples
    })
}

/// A Monte Carlo incident with a long `event_list`, mixing the documentation's two event shapes,
/// floats, nulls, quotes and non-ASCII names (which Python's repr escapes or keeps).
fn monte_carlo(events: usize, pad: usize) -> Value {
    let events: Vec<Value> = (0..events)
        .map(|i| {
            let table = if i % 7 == 3 {
                format!("analytics:prod.café_ventes_{i:04}")
            } else {
                format!("analytics:prod.orders_{i:04}")
            };
            if i % 3 == 2 {
                json!({
                    "data": {
                        "hits": [{
                            "field": null,
                            "measurement_timestamp": "Jan 15, 06:10PM",
                            "timestamp": "",
                            "value": format!("{}.0", 50 + i % 50),
                            "value_rounded": format!("{}", 50 + i % 50)
                        }],
                        "metric_display_name": format!("custom_metric_{i}"),
                        "rule_comparisons": [{"metric": format!("custom_metric_{i}"), "operator": ">", "threshold": "49.0"}]
                    },
                    "rule": {
                        "comparisons": [{
                            "field": null, "full_table_id": null, "metric": format!("custom_metric_{i}"),
                            "operator": "GT", "threshold": 49.0 + (i % 10) as f64 * 0.5, "warehouse_uuid": "custom_metric_1234"
                        }],
                        "creator_id": null,
                        "description": if i % 5 == 0 { "row count isn't what we'd expect".to_owned() } else { format!("rule {i}") },
                        "execution_time": null,
                        "rule_type": "custom_sql",
                        "uuid": "0c8e06aa-a44b-4f2d-8a37-5ed3f394431d"
                    },
                    "table_name": table
                })
            } else {
                json!({
                    "event_details": format!("Has {} rows vs. {} expected", 42 + i, 101 + 3 * i),
                    "table_name": table
                })
            }
        })
        .collect();
    json!({
        "account": {"id": "9a59c6f1-203a-4c72-8cd7-132db7f21b92"},
        "action": "incident",
        "payload": {
            "event_list": events,
            "group_id": "zeus:ares",
            "incident_id": "f83867b6-8f25-428b-807c-08518f63384c",
            "url": format!("https://getmontecarlo.com/incidents/f83867b6-8f25-428b-807c-08518f63384c{}", "_".repeat(pad))
        },
        "type": "open_anomaly_incident",
        "version": "v0.1"
    })
}

/// Bodies of at most `target` bytes that are one top-level key holding a list of the tiniest
/// values: each is parsed into its own `Value` and written into the documented form.
fn forged_shapes(target: usize) -> Vec<(&'static str, Vec<u8>)> {
    let nested = format!("{}{}", "[".repeat(120), "]".repeat(120));
    [
        ("array-of-zeros", "0"),
        ("empty-strings", "\"\""),
        ("empty-objects", "{}"),
        ("deep-nesting", nested.as_str()),
    ]
    .into_iter()
    .map(|(name, item)| {
        let frame = r#"{"a":[]}"#.len();
        let count = (target - frame + 1) / (item.len() + 1);
        let body = format!(r#"{{"a":[{}]}}"#, vec![item; count].join(","));
        assert!(body.len() <= target, "{name}");
        serde_json::from_str::<Value>(&body).expect("a shape serde_json accepts");
        (name, body.into_bytes())
    })
    .collect()
}

/// The Standard Webhooks event `event` with its signature header holding `count` tags: its own
/// tag, then copies with one digit changed (each a well-formed tag, so each is checked).
fn with_tags(event: &str, count: usize) -> String {
    let mut event: Value = serde_json::from_str(event).expect("event");
    let header = &mut event["headers"]["webhook-signature"];
    let own = header.as_str().expect("signature").to_owned();
    let tags: Vec<String> = (0..count)
        .map(|i| {
            const DIGITS: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut tag = own.clone().into_bytes();
            // a digit inside the base64 (after `v1,`) made another: still a well-formed tag
            let at = 8;
            let digit = DIGITS.iter().position(|d| *d == tag[at]).expect("base64");
            tag[at] = DIGITS[(digit + i) % DIGITS.len()];
            String::from_utf8(tag).expect("ASCII")
        })
        .collect();
    *header = tags.join(" ").into();
    event.to_string()
}

/// A provider's own shape where it has one; a generic sender's alert otherwise.
fn payload(provider: Provider, size: usize) -> Vec<u8> {
    match provider {
        Provider::Atlas => sized(size, atlas),
        Provider::MonteCarlo => sized(size, monte_carlo),
        _ => sized(size, app_services),
    }
}

/// When the bench's events were received (`requestContext.timeEpoch`): 2024-01-15T10:30:00Z.
const EVENT_TIME_MS: i64 = 1_705_314_600_000;

/// The HTTP API (payload 2.0) event API Gateway hands the function for this webhook.
fn event(case: Case, body: &[u8]) -> String {
    event_signed_with(case, body, &secret(case.provider))
}

/// The same request signed with a secret the relay does not know: a forgery of the right shape.
fn forged(case: Case, body: &[u8]) -> String {
    event_signed_with(case, body, "forged-not-the-configured-secret")
}

fn event_signed_with(case: Case, body: &[u8], key: &str) -> String {
    // Signed at the event's own time (below), so that a scheme that signs a time accepts the
    // event however long the benchmark replays it.
    let signing = Signing {
        body,
        form: case.form,
        timestamp: EVENT_TIME_MS / 1000,
        id: &case.provider.message_id(body),
    };
    let signing = case
        .provider
        .sign(&Secret::new(key.to_owned()), &signing)
        .expect("sign");
    let path = format!("/webhooks/{}", case.provider.slug());
    let mut headers = json!({
        "accept": "*/*",
        "content-length": body.len().to_string(),
        "content-type": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "python-requests/2.31.0",
        "x-amzn-trace-id": "Root=1-65a4f1c2-0123456789abcdef01234567",
        "x-forwarded-for": "192.0.2.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https"
    });
    for (name, value) in signing {
        headers[name.to_ascii_lowercase()] = value.into();
    }
    if let Some(header) = case.provider.spec().event_header {
        headers[header.to_ascii_lowercase()] = "alert.open".into();
    }
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{provider}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abcdef1234",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "python-requests/2.31.0"},
            "requestId": "Rk3zUgYhoAMEbVg=", "routeKey": "POST /webhooks/{provider}", "stage": "$default",
            "time": "15/Jan/2024:10:30:00 +0000", "timeEpoch": EVENT_TIME_MS
        },
        "body": std::str::from_utf8(body).expect("UTF-8 body"),
        "isBase64Encoded": false
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// The function under test, and its floor.

/// The no-op publisher: the message is built, then dropped.
struct Discard;

impl Publisher for Discard {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        black_box(request);
        Ok(String::from("00000000-0000-0000-0000-000000000000"))
    }
}

/// Stops the SDK after it has serialized and signed the request, before any network.
#[derive(Debug)]
struct StopBeforeTransmit;

impl Intercept for StopBeforeTransmit {
    fn name(&self) -> &'static str {
        "StopBeforeTransmit"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        black_box(context.request().body().bytes());
        Err("benchmark: stop before transmit".into())
    }
}

fn sns_publisher() -> SnsPublisher {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDBENCHMARK",
            "benchmark",
            None,
            None,
            "bench",
        ))
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
        .interceptor(StopBeforeTransmit)
        .build();
    SnsPublisher::new(aws_sdk_sns::Client::from_conf(config))
}

/// Three routes that all match the App Services payload (severity "high", i.e. error): a
/// standard and a FIFO CloudEvents topic, which share one rendered message, and a chat topic.
const ROUTES: &str = r#"[
    {"topic": "arn:aws:sns:us-east-1:123456789012:paging", "filter": {"severity": ["critical", "error"]}},
    {"topic": "arn:aws:sns:us-east-1:123456789012:data-team.fifo", "filter": {"provider": [{"prefix": "app-"}]}},
    {"topic": "arn:aws:sns:us-east-1:123456789012:chat", "filter": {"status": [{"anything-but": "informational"}]}, "format": "chatbot"}
]"#;

fn relay() -> Relay<Discard> {
    routed(false)
}

/// The relay, with `ROUTES` (four topics per alert) or without (one).
fn routed(routes: bool) -> Relay<Discard> {
    let config = Config::from_lookup(|name| match name {
        "ALERT_TOPIC_ARN" => Some(TOPIC.to_owned()),
        "ALERT_ROUTES" if routes => Some(ROUTES.to_owned()),
        _ => Provider::ALL
            .into_iter()
            .find(|p| name == format!("{}_WEBHOOK_SECRETS", p.env_prefix()))
            .map(|p| p.spec().secrets.write(secret(p).as_bytes())),
    })
    .expect("bench configuration");
    Relay::new(config, Discard).with_metrics(discard_metrics())
}

/// The EMF line is formatted as in production, then dropped instead of written to stdout.
fn discard_metrics() -> pipeline::MetricsSink {
    Box::new(|line| {
        black_box(line);
    })
}

/// Runs a future that never waits (the publisher is a no-op) to completion on this thread.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the request path waited on something"),
    }
}

/// Times `run` on the request of `event`, built afresh for each iteration outside the timing.
fn time_requests<R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    event: &[u8],
    mut run: impl FnMut(Request) -> R,
) {
    group.bench_function(name, |b| {
        b.iter_batched(|| request(event), &mut run, BatchSize::SmallInput)
    });
}

/// The request `main` hands the relay for an event's bytes.
fn request(event: &[u8]) -> Request {
    let event: LambdaRequest = serde_json::from_slice(event).expect("API Gateway event");
    handler::guard_body(event).into()
}

fn floor(provider: Provider, secret: &[u8], body: &[u8]) -> Value {
    fn mac<M: Mac + KeyInit>(key: &[u8], body: &[u8]) {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("any key length");
        mac.update(body);
        black_box(mac.finalize());
    }
    match provider.spec().tag.hash {
        Hash::Sha1 => mac::<Hmac<Sha1>>(secret, body),
        Hash::Sha256 => mac::<Hmac<Sha256>>(secret, body),
        Hash::Sha512 => mac::<Hmac<Sha512>>(secret, body),
    }
    serde_json::from_slice(body).expect("JSON body")
}

// ---------------------------------------------------------------------------------------------

fn payload_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench").join("payloads")
}

/// Writes every payload and event, and a manifest for `bench/reference.py`.
fn write_payloads(dir: &Path, cases: &[(Case, &str, Vec<u8>, String)]) {
    std::fs::create_dir_all(dir).expect("create the payload directory");
    let mut manifest = Vec::new();
    for (case, size, body, event) in cases {
        let stem = format!("{}-{size}", case.name);
        let body_file = format!("{}-{size}.json", case.provider.slug());
        std::fs::write(dir.join(&body_file), body).expect("write payload");
        std::fs::write(dir.join(format!("{stem}.event.json")), event).expect("write event");
        manifest.push(json!({
            "case": case.name,
            "provider": case.provider.slug(),
            "form": case.form.as_str(),
            "size": size,
            "bytes": body.len(),
            "body": body_file,
            "event": format!("{stem}.event.json"),
            "secret": secret(case.provider),
            "signature_header": case.provider.signature_header().to_ascii_lowercase(),
        }));
    }
    let manifest = json!({"topic_arn": TOPIC, "cases": manifest});
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("JSON"),
    )
    .expect("write manifest");
}

fn request_path(c: &mut Criterion) {
    // The production logger, writing into the void: its JSON line is part of every request.
    let _ = tracing::subscriber::set_global_default(logging::subscriber(std::io::sink));

    let relay = relay();
    let sdk = sns_publisher();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut cases = Vec::new();
    for (size, bytes) in SIZES {
        for case in all_cases() {
            let body = payload(case.provider, bytes);
            let event = event(case, &body);
            cases.push((case, size, body, event));
        }
    }
    write_payloads(&payload_dir(), &cases);

    for (case, size, body, event) in &cases {
        let event = event.as_bytes();
        let response = ready(relay.handle(request(event)));
        assert_eq!(
            response.status(),
            200,
            "{} {size}: {:?}",
            case.name,
            response.body()
        );
        let key = secret(case.provider);
        let message = {
            // The message the no-op publisher received, rebuilt for the SDK measurement.
            let captured = Capture::default();
            let relay = Relay::new(relay.settings().clone(), captured.clone())
                .with_metrics(discard_metrics());
            ready(relay.handle(request(event)));
            captured.take().remove(0)
        };

        let mut group = c.benchmark_group(format!("{}-{size}", case.name));
        group.throughput(Throughput::Bytes(body.len() as u64));
        if body.len() > 64 * 1024 {
            group.sampling_mode(SamplingMode::Flat);
        }
        group.bench_function("floor", |b| {
            b.iter(|| floor(case.provider, key.as_bytes(), black_box(body)))
        });
        time_requests(&mut group, "handle", event, |request| {
            ready(relay.handle(request))
        });
        group.bench_function("from_event", |b| {
            b.iter(|| ready(relay.handle(request(black_box(event)))))
        });
        group.bench_function("sdk_publish", |b| {
            b.iter(|| tokio.block_on(sdk.publish(black_box(message.request()))))
        });
        // What a forged request costs (issue 17): refused with 401 after every configured check.
        let forgery = forged(*case, body);
        let forgery = forgery.as_bytes();
        assert_eq!(
            ready(relay.handle(request(forgery))).status(),
            401,
            "{}",
            case.name
        );
        time_requests(&mut group, "forged", forgery, |request| {
            ready(relay.handle(request))
        });
        group.finish();
    }

    // A forgery whose body cannot be JSON: Monte Carlo's documented form needs the parsed body,
    // so this shows that such a body gets no more than the raw-body check.
    for (size, bytes) in SIZES {
        let case = all_cases()
            .into_iter()
            .find(|c| c.provider == Provider::MonteCarlo && c.form == SignedForm::Documented)
            .expect("monte-carlo documented form");
        let body = vec![b'x'; bytes];
        // Signed over the raw bytes (a documented-form signature of a non-object cannot exist).
        let forgery = forged(
            Case {
                form: SignedForm::Raw,
                ..case
            },
            &body,
        );
        let forgery = forgery.as_bytes();
        assert_eq!(ready(relay.handle(request(forgery))).status(), 401);
        let mut group = c.benchmark_group(format!("monte-carlo-not-json-{size}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        time_requests(&mut group, "forged", forgery, |request| {
            ready(relay.handle(request))
        });
        group.finish();
    }

    // The worst shapes of a forged Monte Carlo body (issue 21): the documented form needs the body
    // parsed, so a body of many tiny values costs the most per byte. Each fills 256 KiB.
    let documented = all_cases()
        .into_iter()
        .find(|c| c.provider == Provider::MonteCarlo && c.form == SignedForm::Documented)
        .expect("monte-carlo documented form");
    let mut group = c.benchmark_group("monte-carlo-forged-shapes-256KiB");
    group.sampling_mode(SamplingMode::Flat);
    for (name, body) in forged_shapes(256 * 1024) {
        let forgery = forged(documented, &body);
        let forgery = forgery.as_bytes();
        assert_eq!(
            ready(relay.handle(request(forgery))).status(),
            401,
            "{name}"
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        time_requests(&mut group, name, forgery, |request| {
            ready(relay.handle(request))
        });
    }
    group.finish();

    // Standard Webhooks with several `v1,` tags in one header (issue 21), none of them valid: a
    // forgery of 1, 2 (a rotation) and 16 tags (the most a header may carry).
    let standard = all_cases()
        .into_iter()
        .find(|c| c.provider == Provider::StandardWebhooks)
        .expect("standard-webhooks");
    for (size, bytes) in [SIZES[0], SIZES[2]] {
        let body = payload(standard.provider, bytes);
        let mut group = c.benchmark_group(format!("standard-webhooks-tags-{size}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        for tags in [1, 2, 16] {
            let forgery = with_tags(&forged(standard, &body), tags);
            let forgery = forgery.as_bytes();
            assert_eq!(
                ready(relay.handle(request(forgery))).status(),
                401,
                "{tags} tags"
            );
            time_requests(&mut group, &format!("forged-{tags}"), forgery, |request| {
                ready(relay.handle(request))
            });
        }
        group.finish();
    }

    // Atlas severity enrichment with a warm cache (issue 16): the same Atlas alert, its alert
    // configuration looked up once before timing (from the in-process stand-in of the tests), then
    // served from the cache. Both sides run on a tokio runtime, as in Lambda.
    let standin = atlas_standin::StandIn::start();
    let enriched = routed(false).with_severity_lookup(standin.api());
    let case = all_cases()
        .into_iter()
        .find(|c| c.provider == Provider::Atlas)
        .expect("atlas");
    for (size, bytes) in &SIZES[..2] {
        let body = payload(case.provider, *bytes);
        let event = event(case, &body);
        let event = event.as_bytes();
        let response = tokio.block_on(enriched.handle(request(event)));
        assert_eq!(response.status(), 200, "enrichment {size}");
        assert_eq!(
            standin.requests(),
            (1, 1),
            "one token and one configuration request"
        );
        let mut group = c.benchmark_group(format!("atlas-enrichment-{size}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        time_requests(&mut group, "handle", event, |request| {
            tokio.block_on(relay.handle(request))
        });
        time_requests(&mut group, "handle_enriched_warm", event, |request| {
            tokio.block_on(enriched.handle(request))
        });
        group.finish();
        assert_eq!(
            standin.requests(),
            (1, 1),
            "the cache answered every timed alert"
        );
    }

    // Per-alert CPU by number of topics: the handler (routing, rendering each format once, the
    // fan-out) and the SDK's work for every publish (serializing and signing each request).
    for (size, bytes) in &SIZES[..2] {
        // app-services: severity "high", so every route matches
        let case = all_cases()
            .into_iter()
            .find(|c| c.provider == Provider::AppServices)
            .expect("app-services");
        let body = payload(case.provider, *bytes);
        let event = event(case, &body);
        let event = event.as_bytes();
        for (topics, routes) in [(1, false), (4, true)] {
            let relay = routed(routes);
            let captured = Capture::default();
            let capturing = Relay::new(relay.settings().clone(), captured.clone())
                .with_metrics(discard_metrics());
            let response = ready(capturing.handle(request(event)));
            assert_eq!(response.status(), 200, "routes-{topics} {size}");
            let publishes = captured.take();
            assert_eq!(publishes.len(), topics);

            let mut group = c.benchmark_group(format!("routes-{topics}-{size}"));
            group.throughput(Throughput::Bytes(body.len() as u64));
            time_requests(&mut group, "handle", event, |request| {
                ready(relay.handle(request))
            });
            group.bench_function("sdk_publish", |b| {
                b.iter(|| {
                    tokio.block_on(futures_util::future::join_all(
                        publishes
                            .iter()
                            .map(|p| sdk.publish(black_box(p.request()))),
                    ))
                })
            });
            group.finish();
        }
    }
}

/// Keeps every publish, owned.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Captured>>>);

struct Captured {
    topic_arn: String,
    message: Message,
    subject: String,
    attributes: Attributes,
    fifo: Option<Fifo>,
}

impl Captured {
    fn request(&self) -> PublishRequest<'_> {
        PublishRequest {
            topic_arn: &self.topic_arn,
            message: &self.message,
            subject: &self.subject,
            attributes: &self.attributes,
            fifo: self.fifo.as_ref(),
        }
    }
}

impl Capture {
    fn take(&self) -> Vec<Captured> {
        let taken = std::mem::take(&mut *self.0.lock().expect("lock"));
        assert!(!taken.is_empty(), "a published message");
        taken
    }
}

impl Publisher for Capture {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        self.0.lock().expect("lock").push(Captured {
            topic_arn: request.topic_arn.to_owned(),
            message: request.message.clone(),
            subject: request.subject.to_owned(),
            attributes: request.attributes.clone(),
            fifo: request.fifo.cloned(),
        });
        Ok(String::from("captured"))
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    request_path(&mut criterion);
    criterion.final_summary();
}
