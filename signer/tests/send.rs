//! `send` against a one-request HTTP server: what reaches the wire is what `sign` describes, and
//! the exit status follows the answer. (tests/e2e/test_send.py sends to the real function.)

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::thread::JoinHandle;

use alert_relay::providers::{Provider, SignedForm};
use common::*;

/// What the server received.
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers one request with `status` and `body`, and hands back what it received.
fn serve_once(status: &'static str, body: &'static str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut received = vec![0; length];
        reader.read_exact(&mut received).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        Received {
            request_line: request_line.trim_end().to_owned(),
            headers,
            body: received,
        }
    });
    (base, server)
}

#[test]
fn sends_the_signed_request_and_prints_the_answer() {
    let (base, server) = serve_once("202 Accepted", r#"{"status":"queued"}"#);
    let dir = scratch("send");
    let body = payload("atlas/atlas-disk-space-alert.json");
    std::fs::write(dir.join("body.json"), &body).unwrap();
    let url = format!("{base}/prod/webhooks/atlas?stage=1");
    let run = signer(
        &[
            "send",
            "--provider",
            "atlas",
            "--secret-env",
            "ATLAS_SECRET",
            "--event",
            "alert.open",
            "--header",
            "X-Trace: t-1",
            "--query",
            "token=a b",
            "--url",
            &url,
            "--body",
            &dir.join("body.json").display().to_string(),
        ],
        &[("ATLAS_SECRET", OLD_SECRET)],
        b"",
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "HTTP 202 Accepted\n{\"status\":\"queued\"}\n");

    let received = server.join().unwrap();
    assert_eq!(
        received.request_line,
        "POST /prod/webhooks/atlas?stage=1&token=a%20b HTTP/1.1"
    );
    let signed = Provider::Atlas
        .sign_body(OLD_SECRET.as_bytes(), &body, SignedForm::Raw)
        .unwrap();
    let [(name, signature)] = &signed[..] else {
        panic!("atlas signs with one header: {signed:?}")
    };
    assert_eq!(received.header(name), Some(signature.as_str()));
    assert_eq!(received.header("X-MMS-Event"), Some("alert.open"));
    assert_eq!(received.header("X-Trace"), Some("t-1"));
    assert_eq!(received.header("Content-Type"), Some("application/json"));
    assert_eq!(received.body, body, "the body goes byte for byte");
}

#[test]
fn a_refusal_exits_1_with_the_answer_printed() {
    let (base, server) = serve_once("401 Unauthorized", r#"{"error":"invalid_signature"}"#);
    let run = signer(
        &[
            "send",
            "--provider",
            "monte-carlo",
            "--secret",
            "test-wrong-secret",
            "--body",
            "-",
            "--url",
            &format!("{base}/webhooks/monte-carlo"),
        ],
        &[],
        b"{\"type\":\"open_anomaly_incident\"}",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "HTTP 401 Unauthorized\n{\"error\":\"invalid_signature\"}\n"
    );
    let received = server.join().unwrap();
    assert_eq!(received.body, b"{\"type\":\"open_anomaly_incident\"}");
}

#[test]
fn a_redirect_is_an_answer_not_followed() {
    let (base, server) = serve_once("307 Temporary Redirect", "");
    let run = signer(
        &[
            "send",
            "--provider",
            "atlas",
            "--unsigned",
            "--body",
            "-",
            "--url",
            &base,
        ],
        &[],
        b"{}",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "HTTP 307 Temporary Redirect\n");
    server.join().unwrap();
}

#[test]
fn no_answer_exits_1_and_says_where() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/webhooks/atlas");
    let run = signer(
        &[
            "send",
            "--provider",
            "atlas",
            "--unsigned",
            "--body",
            "-",
            "--url",
            &url,
        ],
        &[],
        b"{}",
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains(&format!("no answer from {url}")),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unset_secret_variable_is_a_usage_error() {
    let run = signer(
        &[
            "send",
            "--provider",
            "atlas",
            "--secret-env",
            "NOT_SET_ANYWHERE",
            "--body",
            "-",
        ],
        &[],
        b"{}",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("NOT_SET_ANYWHERE"), "{}", run.stderr);
}
