//! Atlas on 127.0.0.1 for the `atlas_api` tests: the OAuth token endpoint (Basic auth checked) and
//! the alert configurations of `tests/data/atlas-alert-configs.json` (bearer token and versioned
//! `Accept` checked), counting requests and injecting faults. Plain threads and a hand-written
//! HTTP/1.1 responder, one request per connection: nothing of it runs on tokio's clock.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_relay::Secret;
use alert_relay::atlas_api::{AtlasApi, AtlasApiConfig};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "mdb_sa_id_standin";
pub const CLIENT_SECRET: &str = "mdb_sa_sk_standin-not-a-secret";
pub const TOKEN_PREFIX: &str = "standin-access-token-";
pub const GROUP: &str = "5d1b6f8e8c2e4e2d3c4a5b6d";
pub const CRITICAL: &str = "5d1b6f8e8c2e4e2d3c4a5b6e";
pub const NO_OVERRIDE: &str = "5d1b6f8e8c2e4e2d3c4a5b6f";
pub const WARNING: &str = "5d1b6f8e8c2e4e2d3c4a5b70";
pub const MISSING: &str = "5d1b6f8e8c2e4e2d3c4a5b71";
pub const ACCEPT: &str = "application/vnd.atlas.2023-01-01+json";
pub const CONFIGS: &str = include_str!("../data/atlas-alert-configs.json");
/// How long a hanging answer takes: far past any budget here.
pub const HANG: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    /// The token endpoint answers 401 `invalid_client`.
    TokenRefused,
    /// The token endpoint answers 429 with `Retry-After: 10`.
    TokenThrottled,
    /// The alert configuration answers this status (Atlas's error body).
    Status(u16),
    /// 429, with `Retry-After: n` or without.
    Throttled(Option<u64>),
    Hang,
    /// 200 with a body that is not JSON.
    Malformed,
}

pub struct Shared {
    fault: Mutex<Fault>,
    /// Added before every answer, so concurrent lookups overlap.
    delay: Mutex<Duration>,
    expires_in: AtomicU64,
    token_requests: AtomicUsize,
    config_requests: AtomicUsize,
    /// Tokens the stand-in accepts.
    valid: Mutex<Vec<String>>,
    issued: AtomicUsize,
}

/// Atlas on 127.0.0.1, one thread per connection, one request per connection.
pub struct StandIn {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl StandIn {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::None),
            delay: Mutex::new(Duration::ZERO),
            expires_in: AtomicU64::new(3600),
            token_requests: AtomicUsize::new(0),
            config_requests: AtomicUsize::new(0),
            valid: Mutex::new(Vec::new()),
            issued: AtomicUsize::new(0),
        });
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        StandIn { base_url, shared }
    }

    pub fn fault(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn expires_in(&self, seconds: u64) {
        self.shared.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// Every token issued so far is refused from now on (401).
    pub fn revoke_tokens(&self) {
        self.shared.valid.lock().unwrap().clear();
    }

    /// (token requests, alert configuration requests) seen so far.
    pub fn requests(&self) -> (usize, usize) {
        (
            self.shared.token_requests.load(Ordering::SeqCst),
            self.shared.config_requests.load(Ordering::SeqCst),
        )
    }

    pub fn config(&self) -> AtlasApiConfig {
        AtlasApiConfig::new(&self.base_url, CLIENT_ID, Secret::new(CLIENT_SECRET))
    }

    pub fn api(&self) -> AtlasApi {
        AtlasApi::new(self.config())
    }

    pub fn api_with_budget(&self, budget: Duration) -> AtlasApi {
        let mut config = self.config();
        config.budget = budget;
        AtlasApi::new(config)
    }
}

pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// Atlas's `ApiError` shape.
    fn error(status: u16, code: &str, reason: &str) -> Self {
        Reply::json(
            status,
            json!({
                "detail": format!("stand-in: {code}"),
                "error": status,
                "errorCode": code,
                "parameters": [],
                "reason": reason,
            }),
        )
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = answer(shared, &method, &path, &headers, &body);
    let mut head = format!(
        "HTTP/1.1 {} Stand-in\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
}

fn answer(
    shared: &Shared,
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> Reply {
    let fault = *shared.fault.lock().unwrap();
    let delay = *shared.delay.lock().unwrap();
    let header = |name: &str| headers.get(name).map(String::as_str);
    if method == "POST" && path == "/api/oauth/token" {
        shared.token_requests.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(delay);
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        );
        if fault == Fault::TokenThrottled {
            let mut reply = Reply::json(429, json!({"error": "rate_limited"}));
            reply.headers.push(("Retry-After", "10".to_owned()));
            return reply;
        }
        if fault == Fault::TokenRefused || header("authorization") != Some(basic.as_str()) {
            return Reply::json(
                401,
                json!({"error": "invalid_client", "error_description": "stand-in"}),
            );
        }
        if header("content-type") != Some("application/x-www-form-urlencoded")
            || body != b"grant_type=client_credentials"
        {
            return Reply::json(400, json!({"error": "invalid_request"}));
        }
        let token = format!(
            "{TOKEN_PREFIX}{}",
            shared.issued.fetch_add(1, Ordering::SeqCst)
        );
        shared.valid.lock().unwrap().push(token.clone());
        return Reply::json(
            200,
            json!({
                "access_token": token,
                "expires_in": shared.expires_in.load(Ordering::SeqCst),
                "token_type": "Bearer",
            }),
        );
    }
    let ids = path
        .strip_prefix("/api/atlas/v2/groups/")
        .and_then(|rest| rest.split_once("/alertConfigs/"));
    let (Some((group_id, config_id)), "GET") = (ids, method) else {
        return Reply::error(404, "RESOURCE_NOT_FOUND", "Not Found");
    };
    shared.config_requests.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(delay);
    match fault {
        Fault::Status(status) => return Reply::error(status, "STAND_IN_FAULT", "Fault"),
        Fault::Throttled(retry_after) => {
            let mut reply = Reply::error(429, "RATE_LIMITED", "Too Many Requests");
            if let Some(seconds) = retry_after {
                reply.headers.push(("Retry-After", seconds.to_string()));
            }
            return reply;
        }
        Fault::Hang => {
            std::thread::sleep(HANG);
            return Reply::error(503, "STAND_IN_HANG", "Service Unavailable");
        }
        Fault::Malformed => {
            return Reply {
                status: 200,
                headers: Vec::new(),
                body: "{\"severityOverride\": CRIT".to_owned(),
            };
        }
        Fault::None | Fault::TokenRefused | Fault::TokenThrottled => {}
    }
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|token| shared.valid.lock().unwrap().iter().any(|t| t == token)) {
        return Reply::error(401, "UNAUTHORIZED", "Unauthorized");
    }
    if header("accept") != Some(ACCEPT) {
        return Reply::error(406, "NOT_ACCEPTABLE", "Not Acceptable");
    }
    let configs: Vec<Value> = serde_json::from_str(CONFIGS).unwrap();
    match configs
        .into_iter()
        .find(|c| c["groupId"] == group_id && c["id"] == config_id)
    {
        Some(config) => Reply::json(200, config),
        None => Reply::error(404, "ALERT_CONFIG_NOT_FOUND", "Not Found"),
    }
}
