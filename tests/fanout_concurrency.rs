//! An alert's publishes run concurrently, shown without timing anything: a stand-in SNS endpoint
//! answers no `Publish` until all the publishes of one alert have arrived (or a bounded wait
//! ends, and then it refuses them all). Publishing one topic after another cannot pass.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use alert_relay::{Publisher, SnsPublisher};
use common::*;
use serde_json::json;

/// How long the endpoint holds a publish waiting for the others: a bound, not a measurement.
const HOLD: Duration = Duration::from_millis(1500);

struct Gate {
    expected: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Gate {
    /// Counts this publish in; true once all expected publishes are in, false if the wait ended.
    fn arrive(&self) -> bool {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all_here.notify_all();
        let deadline = Instant::now() + HOLD;
        while *arrived < self.expected {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            arrived = self.all_here.wait_timeout(arrived, left).unwrap().0;
        }
        true
    }
}

/// Serves SNS `Publish` on 127.0.0.1, each connection on its own thread.
fn gated_sns(expected: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let gate = Arc::new(Gate {
        expected,
        arrived: Mutex::new(0),
        all_here: Condvar::new(),
    });
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let gate = gate.clone();
            std::thread::spawn(move || serve(stream, &gate));
        }
    });
    address
}

fn serve(stream: TcpStream, gate: &Gate) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut served = 0;
    loop {
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return; // connection closed
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        served += 1;
        let response = if gate.arrive() {
            let body = format!(
                "<PublishResponse><PublishResult><MessageId>m-{served}</MessageId></PublishResult></PublishResponse>"
            );
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        } else {
            let body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>\
                        <Message>publishes arrived one after another</Message></Error></ErrorResponse>";
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

async fn sns(endpoint: &str) -> SnsPublisher {
    SnsPublisher::new(aws_sdk_sns::Client::new(&local_sdk(endpoint).await))
}

/// Three routes that all match a SEV-1 Monte Carlo alert: four topics in all.
fn four_topics<P: Publisher>(publisher: P) -> alert_relay::Relay<P> {
    let mut vars = config_vars();
    let routes = json!([
        {"topic": "arn:aws:sns:us-east-1:123456789012:paging", "filter": {"severity": ["critical"]}},
        {"topic": "arn:aws:sns:us-east-1:123456789012:data.fifo", "filter": {"provider": ["monte-carlo"]}},
        {"topic": "arn:aws:sns:us-east-1:123456789012:chat", "format": "chatbot"},
    ]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    quiet(config_from(&vars), publisher)
}

#[tokio::test]
async fn an_alerts_publishes_are_all_in_flight_at_once() {
    let relay = four_topics(sns(&gated_sns(4)).await);
    let (status, body) = send(&relay, &sev1_monte_carlo().v2()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["topics"], 4);
}

/// The control: the same endpoint refuses a publisher that sends one publish after another,
/// so the test above cannot pass by accident.
#[tokio::test]
async fn the_gate_refuses_publishes_sent_one_after_another() {
    struct OneAtATime(SnsPublisher, tokio::sync::Mutex<()>);
    impl Publisher for OneAtATime {
        async fn publish(
            &self,
            request: alert_relay::publish::PublishRequest<'_>,
        ) -> Result<String, alert_relay::PublishError> {
            let _turn = self.1.lock().await;
            self.0.publish(request).await
        }
    }
    let relay = four_topics(OneAtATime(sns(&gated_sns(4)).await, Default::default()));
    let (status, body) = send(&relay, &sev1_monte_carlo().v2()).await;
    assert_eq!((status, body), (502, json!({"error": "publish_failed"})));
}
