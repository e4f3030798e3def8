//! The real SNS client against SNS endpoints that fail: refused connections, 500s, throttling and
//! a server that never answers. Every one must end in 502 `publish_failed`, never a 200, within the
//! budget set by `publish::sdk_loader`: 3 attempts, ≤ 4.5 s in all, so the provider retries well
//! inside a 10 s function timeout. The fallback queue's write (`publish::sqs_timeouts`): 2
//! attempts, ≤ 3 s. The attempts are counted by the fault server; the seconds are read on tokio's
//! paused clock (the SDK sleeps and times out on tokio's timers), so no bound depends on how fast
//! the machine is.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alert_relay::providers::{Provider, SignedForm};
use alert_relay::publish::Fallback as _;
use alert_relay::{SnsPublisher, publish};
use common::*;
use serde_json::json;
use tokio::time::Instant;

/// `publish::sdk_loader`'s documented bounds (docs/configuration.md, docs/delivery.md).
const SNS_ATTEMPTS: usize = 3;
const SNS_BUDGET: Duration = Duration::from_millis(4500);
/// `publish::sqs_timeouts`' documented bounds.
const SQS_ATTEMPTS: usize = 2;
const SQS_BUDGET: Duration = Duration::from_millis(3000);

async fn publisher(endpoint: &str) -> SnsPublisher {
    SnsPublisher::new(aws_sdk_sns::Client::new(&local_sdk(endpoint).await))
}

/// A local HTTP server that answers every request with `response`, or never answers at all,
/// counting the requests it reads: one per SDK attempt.
struct FaultServer {
    address: String,
    requests: Arc<AtomicUsize>,
}

impl FaultServer {
    fn start(response: Option<String>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 65536];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                if stream.read(&mut buf).is_ok_and(|n| n > 0) {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                match &response {
                    Some(response) => drop(stream.write_all(response.as_bytes())),
                    None => held.push(stream),
                }
            }
        });
        FaultServer { address, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A local HTTP server that answers every request with `response`, or never answers at all.
fn serve(response: Option<String>) -> String {
    FaultServer::start(response).address
}

fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    address
}

fn reply(status: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn sns_error(status: &str, kind: &str, code: &str) -> Option<String> {
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>no</Message></Error>\
         <RequestId>x</RequestId></ErrorResponse>"
    );
    reply(status, &body)
}

/// The answer to a signed Atlas alert relayed to SNS at `endpoint`, and how long it took on
/// tokio's clock (paused or not).
async fn relay_to(endpoint: &str) -> ((u16, serde_json::Value), Duration) {
    let relay = quiet(config(), publisher(endpoint).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let started = Instant::now();
    let answer = send(&relay, &request.v2()).await;
    (answer, started.elapsed())
}

/// `took`, read on tokio's paused clock, is `expected` (its timers round up to the millisecond).
fn on_the_clock(took: Duration, expected: Duration) {
    assert!(
        took >= expected && took <= expected + Duration::from_millis(2),
        "took {took:?} on the clock, not {expected:?}"
    );
}

fn publish_failed() -> (u16, serde_json::Value) {
    (502, json!({"error": "publish_failed"}))
}

#[tokio::test(start_paused = true)]
async fn unreachable_sns_is_502_within_the_budget() {
    let (answer, took) = relay_to(&closed_port()).await;
    assert_eq!(answer, publish_failed());
    assert!(took <= SNS_BUDGET, "took {took:?} on the clock");
}

/// The retry count, pinned: SNS answering 500 (retryable) is asked exactly 3 times.
#[tokio::test]
async fn sns_answering_500_is_502_after_exactly_three_attempts() {
    let sns = FaultServer::start(sns_error(
        "500 Internal Server Error",
        "Receiver",
        "InternalError",
    ));
    let (answer, _) = relay_to(&sns.address).await;
    assert_eq!(answer, publish_failed());
    assert_eq!(sns.requests(), SNS_ATTEMPTS, "SNS attempts");
}

#[tokio::test]
async fn throttled_sns_is_502_after_exactly_three_attempts() {
    let sns = FaultServer::start(sns_error("400 Bad Request", "Sender", "Throttling"));
    let (answer, _) = relay_to(&sns.address).await;
    assert_eq!(answer, publish_failed());
    assert_eq!(sns.requests(), SNS_ATTEMPTS, "SNS attempts");
}

/// The whole budget, pinned: every attempt of a hanging SNS times out, and the operation ends
/// at 4.5 s on the clock (attempts of 2 s would otherwise reach 6 s).
#[tokio::test(start_paused = true)]
async fn hanging_sns_is_502_at_four_and_a_half_seconds() {
    let (answer, took) = relay_to(&serve(None)).await;
    assert_eq!(answer, publish_failed());
    on_the_clock(took, SNS_BUDGET);
}

#[tokio::test]
async fn a_reply_without_message_id_is_502_and_not_retried() {
    let sns = FaultServer::start(reply(
        "200 OK",
        "<PublishResponse><PublishResult></PublishResult></PublishResponse>",
    ));
    let (answer, _) = relay_to(&sns.address).await;
    assert_eq!(answer, publish_failed());
    assert_eq!(sns.requests(), 1, "a 200 is not retried");
}

/// The fallback queue on the real SQS client, at `endpoint`.
async fn queue(endpoint: &str) -> alert_relay::publish::SqsQueue {
    let sdk = local_sdk(endpoint).await;
    let config = publish::sqs_timeouts(aws_sdk_sqs::config::Builder::from(&sdk)).build();
    alert_relay::publish::SqsQueue::new(
        aws_sdk_sqs::Client::from_conf(config),
        "https://sqs.us-east-1.amazonaws.com/123456789012/fallback",
    )
}

/// Lambda's timeout in the template: SNS's budget and the queue's together must end before it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

fn sqs_error() -> Option<String> {
    let body = r#"{"__type":"InternalError","message":"no"}"#;
    Some(format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// The queue's retry count, pinned: SQS answering 500 is asked exactly twice.
#[tokio::test]
async fn the_queue_write_gets_exactly_two_attempts() {
    let sqs = FaultServer::start(sqs_error());
    let refused = queue(&sqs.address).await.enqueue("{}".into()).await;
    assert!(refused.is_err(), "a 500 is not a write");
    assert_eq!(sqs.requests(), SQS_ATTEMPTS, "SQS attempts");
}

/// The queue's budget, pinned: a hanging SQS is given up at 3 s on the clock.
#[tokio::test(start_paused = true)]
async fn a_hanging_queue_is_given_up_at_three_seconds() {
    let queue = queue(&serve(None)).await;
    let started = Instant::now();
    assert!(queue.enqueue("{}".into()).await.is_err());
    on_the_clock(started.elapsed(), SQS_BUDGET);
}

#[tokio::test(start_paused = true)]
async fn sns_and_the_queue_both_hanging_is_502_inside_the_function_timeout() {
    let relay =
        quiet(config(), publisher(&serve(None)).await).with_fallback(queue(&serve(None)).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let started = Instant::now();
    let answer = send(&relay, &request.v2()).await;
    let took = started.elapsed();
    assert_eq!(answer, publish_failed());
    on_the_clock(took, SNS_BUDGET + SQS_BUDGET);
    assert!(took < FUNCTION_TIMEOUT);
}

/// On the real clock: a paused one would time the queue's answer out before it arrives. The
/// time this takes is SNS's budget, pinned above.
#[tokio::test]
async fn sns_hanging_and_the_queue_answering_is_202() {
    let sent = r#"{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"00000000000000000000000000000000"}"#;
    let sqs = FaultServer::start(Some(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sent}",
        sent.len()
    )));
    let relay =
        quiet(config(), publisher(&serve(None)).await).with_fallback(queue(&sqs.address).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let (status, body) = send(&relay, &request.v2()).await;
    assert_eq!((status, &body["status"]), (202, &json!("queued")), "{body}");
    assert_eq!(sqs.requests(), 1, "one queue write");
}
