//! The real SNS client against SNS endpoints that fail: refused connections, 500s, throttling and
//! a server that never answers. Every one must end in 502 `publish_failed`, never a 200, within the
//! budget set by `publish::sdk_loader` (3 attempts, ≤ 4.5 s in all), so the provider retries
//! well inside a 10 s function timeout.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use alert_relay::providers::{Provider, SignedForm};
use alert_relay::{SnsPublisher, publish};
use common::*;
use serde_json::json;

/// Generous against a slow CI machine, yet well inside a 10 s function timeout.
const BUDGET: Duration = Duration::from_secs(8);

async fn publisher(endpoint: &str) -> SnsPublisher {
    SnsPublisher::new(aws_sdk_sns::Client::new(&local_sdk(endpoint).await))
}

/// A local HTTP server that answers every request with `response`, or never answers at all.
fn serve(response: Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            match &response {
                Some(response) => {
                    let mut buf = [0u8; 65536];
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(response.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    address
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

async fn assert_fails_within_budget(endpoint: String, what: &str) {
    let relay = quiet(config(), publisher(&endpoint).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let started = Instant::now();
    let answer = send(&relay, &request.v2()).await;
    let took = started.elapsed();
    assert_eq!(answer, (502, json!({"error": "publish_failed"})), "{what}");
    assert!(
        took < BUDGET,
        "{what}: took {took:?}, over the {BUDGET:?} budget"
    );
    eprintln!("{what}: 502 after {took:?}");
}

#[tokio::test]
async fn unreachable_sns_is_502() {
    assert_fails_within_budget(closed_port(), "connection refused").await;
}

#[tokio::test]
async fn sns_answering_500_is_502() {
    assert_fails_within_budget(
        serve(sns_error(
            "500 Internal Server Error",
            "Receiver",
            "InternalError",
        )),
        "500 internal error",
    )
    .await;
}

#[tokio::test]
async fn throttled_sns_is_502() {
    assert_fails_within_budget(
        serve(sns_error("400 Bad Request", "Sender", "Throttling")),
        "throttling",
    )
    .await;
}

#[tokio::test]
async fn hanging_sns_is_502() {
    assert_fails_within_budget(serve(None), "no answer").await;
}

#[tokio::test]
async fn a_reply_without_message_id_is_502() {
    assert_fails_within_budget(
        serve(reply(
            "200 OK",
            "<PublishResponse><PublishResult></PublishResult></PublishResponse>",
        )),
        "no message id",
    )
    .await;
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

#[tokio::test]
async fn sns_and_the_queue_both_hanging_is_502_inside_the_function_timeout() {
    let relay =
        quiet(config(), publisher(&serve(None)).await).with_fallback(queue(&serve(None)).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let started = Instant::now();
    let answer = send(&relay, &request.v2()).await;
    let took = started.elapsed();
    assert_eq!(answer, (502, json!({"error": "publish_failed"})));
    assert!(took < FUNCTION_TIMEOUT, "took {took:?}");
    eprintln!("SNS and SQS hanging: 502 after {took:?}");
}

#[tokio::test]
async fn sns_hanging_and_the_queue_answering_is_202() {
    let sent = r#"{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"00000000000000000000000000000000"}"#;
    let sqs = serve(Some(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sent}",
        sent.len()
    )));
    let relay = quiet(config(), publisher(&serve(None)).await).with_fallback(queue(&sqs).await);
    let request = Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw);
    let started = Instant::now();
    let (status, body) = send(&relay, &request.v2()).await;
    let took = started.elapsed();
    assert_eq!((status, &body["status"]), (202, &json!("queued")), "{body}");
    assert!(took < FUNCTION_TIMEOUT, "took {took:?}");
    eprintln!("SNS hanging, queue up: 202 after {took:?}");
}
