//! The Atlas API client against `scripts/atlas_api_standin.py`, the stand-in that `make run` and the
//! end-to-end tests put in Atlas's place: the two agree on the token request (Basic credentials,
//! form body), the versioned `Accept`, the answers' shapes, and what each of its faults means
//! to the client. `python3` missing is a test failure, not a skip.
//! The slow tier: built only with the `oracles` feature (`make oracles`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alert_relay::Secret;
use alert_relay::alert::Severity;
use alert_relay::atlas_api::{AtlasApi, AtlasApiConfig, Lookup, Reason};
use serde_json::{Value, json};

const CLIENT_ID: &str = "mdb_sa_id_standin";
const CLIENT_SECRET: &str = "mdb_sa_sk_standin-not-a-secret";
const GROUP: &str = "5d1b6f8e8c2e4e2d3c4a5b6d";
const CRITICAL: &str = "5d1b6f8e8c2e4e2d3c4a5b6e";
const NO_OVERRIDE: &str = "5d1b6f8e8c2e4e2d3c4a5b6f";
const WARNING: &str = "5d1b6f8e8c2e4e2d3c4a5b70";
const MISSING: &str = "5d1b6f8e8c2e4e2d3c4a5b71";

struct StandIn {
    child: Child,
    port: u16,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StandIn {
    fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!("atlas-standin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ready = dir.join("ready");
        let child = Command::new("python3")
            .arg(root.join("scripts/atlas_api_standin.py"))
            .args(["--port", "0", "--configs"])
            .arg(root.join("tests/data/atlas-alert-configs.json"))
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs scripts/atlas_api_standin.py");
        let mut standin = StandIn {
            child,
            port: 0,
            _dir: TempDir(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            assert!(
                standin.child.try_wait().unwrap().is_none(),
                "the stand-in exited"
            );
            assert!(Instant::now() < deadline, "the stand-in never got ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        standin.port = std::fs::read_to_string(&ready)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        standin
    }

    fn api(&self, budget: Duration) -> AtlasApi {
        let mut config = AtlasApiConfig::new(
            format!("http://127.0.0.1:{}", self.port),
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
        );
        config.budget = budget;
        AtlasApi::new(config)
    }

    /// One control call, its answer's JSON.
    fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = body.to_string();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).unwrap()
    }

    fn fault(&self, fault: &str) {
        self.control("POST", "/_standin/fault", json!({"fault": fault}));
    }

    fn requests(&self) -> Vec<(String, String)> {
        let seen = self.control("GET", "/_standin/requests", Value::Null);
        seen.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn the_client_and_the_python_stand_in_agree() {
    let atlas = StandIn::start();
    let api = atlas.api(Duration::from_secs(2));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(
        api.severity(GROUP, NO_OVERRIDE).await,
        Lookup::Fallback(Reason::NoOverride)
    );
    assert_eq!(
        api.severity(GROUP, MISSING).await,
        Lookup::Fallback(Reason::NotFound)
    );
    let config = |id: &str| {
        (
            "GET".to_owned(),
            format!("/api/atlas/v2/groups/{GROUP}/alertConfigs/{id}"),
        )
    };
    assert_eq!(
        atlas.requests(),
        [
            ("POST".to_owned(), "/api/oauth/token".to_owned()),
            config(CRITICAL),
            config(WARNING),
            config(NO_OVERRIDE),
            config(MISSING),
        ]
    );

    let faults = [
        ("token_refused", Reason::TokenRefused),
        ("401", Reason::Unauthorized),
        ("403", Reason::Forbidden),
        ("404", Reason::NotFound),
        ("429", Reason::Throttled),
        ("429_no_retry_after", Reason::Throttled),
        ("malformed", Reason::Malformed),
        ("500", Reason::Unavailable),
        ("hang", Reason::Timeout),
    ];
    for (fault, reason) in faults {
        atlas.fault(fault);
        let api = atlas.api(Duration::from_millis(500));
        assert_eq!(
            api.severity(GROUP, CRITICAL).await,
            Lookup::Fallback(reason),
            "{fault}"
        );
    }
    atlas.control("POST", "/_standin/reset", Value::Null);
}
