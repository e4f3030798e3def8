//! `silence add|list|expire` against moto's DynamoDB (the `oracles` tier: it needs the project's
//! .venv), through the built binary and the standard credential chain, as an operator runs it
//! against `make run`'s stack.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alert_relay::state::Silence;
use alert_relay::state::dynamodb::item_from_sdk;
use alert_relay::state::item::{Attr, EXPIRES_AT};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use common::*;

/// The function's moto helpers: only the table's creation is used here.
#[allow(dead_code)]
#[path = "../../tests/common/moto.rs"]
mod shared;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const TABLE: &str = "alert-relay-state";
const DAY_S: i64 = 86_400;

/// moto_server on a free port of 127.0.0.1, killed when dropped, whatever the test's outcome.
struct Moto {
    child: Child,
    endpoint: String,
    dir: PathBuf,
}

impl Moto {
    fn start(name: &str) -> Moto {
        let dir = scratch(name);
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_clear()
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (make venv installs it)", server.display()));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = moto.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!("moto_server did not start ({exited:?}):\n{}", moto.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("moto.log")).unwrap_or_default()
    }

    /// The SDK's client, set up by hand as the test's own: the signer finds the same settings
    /// in its environment ([`Moto::env`]).
    fn client(&self) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build();
        Client::from_conf(config)
    }

    /// Fake credentials, the emulator's endpoint, and no profile of the user's.
    fn env(&self) -> Vec<(String, String)> {
        let none = self.dir.join("no-such-file").display().to_string();
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", none.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", none),
            ("HOME", self.dir.display().to_string()),
            ("USER", "on-call".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec()
    }

    fn signer(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        signer_isolated(args, &env)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The table as the SPEC lays it out, made as the function's own tests make it.
fn create_table(client: &Client) {
    block_on(shared::create_state_table(client, TABLE));
}

/// The item of silence `id`, as the function reads it.
fn item(client: &Client, id: &str) -> alert_relay::state::item::Item {
    let found = block_on(
        client
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S("silence".into()))
            .key("sk", AttributeValue::S(id.into()))
            .send(),
    )
    .unwrap();
    item_from_sdk(found.item.expect("the item is in the table"))
}

fn expires_at(item: &alert_relay::state::item::Item) -> i64 {
    match &item[EXPIRES_AT] {
        Attr::N(n) => n.parse().unwrap(),
        other => panic!("expires_at: {other:?}"),
    }
}

fn millis(text: &Value) -> i64 {
    let time = OffsetDateTime::parse(text.as_str().unwrap(), &Rfc3339).unwrap();
    (time.unix_timestamp_nanos() / 1_000_000) as i64
}

#[test]
fn a_silence_is_added_listed_and_expired() {
    let moto = Moto::start("silence-lifecycle");
    let client = moto.client();
    create_table(&client);
    let t = ["--table", TABLE];

    let add = moto.signer(
        &[
            &["silence", "add"][..],
            &t,
            &[
                "--match",
                r#"{"project": ["orders-prod"]}"#,
                "--for",
                "2h",
                "--comment",
                "orders-prod upgrade",
            ],
        ]
        .concat(),
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let active = add.stdout.strip_suffix('\n').expect("one line").to_owned();
    assert!(
        active.len() == 14
            && active.starts_with("s-")
            && active[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "only the id on stdout: {:?}",
        add.stdout
    );
    assert!(add.stderr.contains("holds back"), "{}", add.stderr);
    let later = moto.signer(
        &[
            &["silence", "add"][..],
            &t,
            &[
                "--match",
                r#"{"severity": ["info"]}"#,
                "--start",
                "2099-01-01T00:00:00Z",
                "--until",
                "2099-01-01T06:00:00+02:00",
                "--comment",
                "next window",
                "--by",
                "ops",
                "--retention",
                "7d",
            ],
        ]
        .concat(),
    );
    assert_eq!(later.code, 0, "{}", later.stderr);
    let later = later.stdout.trim_end().to_owned();

    // What the signer wrote is what the function reads: the library's own item.
    let written = item(&client, &active);
    let silence = Silence::from_item(&written).expect("the function reads it");
    assert_eq!(silence.id, active);
    assert_eq!(silence.ends_at - silence.starts_at, 2 * 3_600_000);
    assert_eq!(
        silence.by.as_deref(),
        Some("on-call"),
        "--by defaults to $USER"
    );
    assert_eq!(expires_at(&written), silence.ends_at / 1000 + 30 * DAY_S);
    let pending = Silence::from_item(&item(&client, &later)).unwrap();
    assert_eq!(
        expires_at(&item(&client, &later)),
        pending.ends_at / 1000 + 7 * DAY_S
    );

    let list = moto.signer(&[&["silence", "list"][..], &t].concat());
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    for (column, header) in ["ID", "STATE", "START", "END", "BY", "MATCH", "COMMENT"]
        .iter()
        .enumerate()
    {
        assert_eq!(lines[0].split_whitespace().nth(column), Some(*header));
    }
    assert!(lines[1].starts_with(&active), "{}", list.stdout);
    for cell in [" active ", " on-call ", r#" {"project":["orders-prod"]} "#] {
        assert!(lines[1].contains(cell), "{cell}: {}", list.stdout);
    }
    assert!(lines[1].ends_with(" orders-prod upgrade"));
    assert!(lines[2].starts_with(&later) && lines[2].contains(" pending "));
    assert!(lines[2].contains(" 2099-01-01T00:00:00Z  2099-01-01T04:00:00Z "));

    let json_list = moto.signer(&[&["silence", "list", "--json"][..], &t].concat());
    assert_eq!(json_list.code, 0, "{}", json_list.stderr);
    let listed: Vec<Value> = serde_json::from_str(&json_list.stdout).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], active.as_str());
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["match"], json!({"project": ["orders-prod"]}));
    assert_eq!(listed[0]["comment"], "orders-prod upgrade");
    assert_eq!(listed[0]["by"], "on-call");
    assert_eq!(
        millis(&listed[0]["ends_at"]) - millis(&listed[0]["starts_at"]),
        2 * 3_600_000
    );
    assert_eq!(listed[1]["state"], "pending");
    assert_eq!(listed[1]["by"], "ops");

    let expire = moto.signer(&[&["silence", "expire"][..], &t, &[active.as_str()]].concat());
    assert_eq!(expire.code, 0, "{}", expire.stderr);
    assert!(expire.stdout.is_empty());
    assert!(expire.stderr.contains(" ended at "), "{}", expire.stderr);
    let ended = item(&client, &active);
    let silence = Silence::from_item(&ended).unwrap();
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    assert!(silence.ends_at <= now && !silence.is_active(now));
    assert_eq!(expires_at(&ended), silence.ends_at / 1000 + 30 * DAY_S);

    let list = moto.signer(&[&["silence", "list"][..], &t].concat());
    assert!(!list.stdout.contains(" active "), "{}", list.stdout);
    assert!(!list.stdout.contains(&active), "{}", list.stdout);
    assert!(list.stdout.contains(&later));
    let all = moto.signer(&[&["silence", "list", "--all", "--json"][..], &t].concat());
    let listed: Vec<Value> = serde_json::from_str(&all.stdout).unwrap();
    let states: Vec<(&str, &str)> = listed
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [(active.as_str(), "expired"), (later.as_str(), "pending")]
    );

    // Expiring it again changes nothing: its end stays where it was.
    let again = moto.signer(&[&["silence", "expire"][..], &t, &[active.as_str()]].concat());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("had already ended at"),
        "{}",
        again.stderr
    );
    assert_eq!(item(&client, &active), ended);
}

#[test]
fn refusals_leave_the_table_as_it_was() {
    let moto = Moto::start("silence-refusals");
    let client = moto.client();
    create_table(&client);
    let t = ["--table", TABLE];

    let invalid = moto.signer(
        &[
            &["silence", "add"][..],
            &t,
            &[
                "--match",
                r#"{"severity": [1]}"#,
                "--for",
                "1h",
                "--comment",
                "x",
            ],
        ]
        .concat(),
    );
    assert_eq!(invalid.code, 2, "{}", invalid.stderr);
    let route = alert_relay::route::Routes::parse(
        "arn:aws:sns:us-east-1:123456789012:a",
        Some(r#"[{"topic":"arn:aws:sns:us-east-1:123456789012:b","filter":{"severity":[1]}}]"#),
    )
    .unwrap_err()
    .to_string();
    let said = invalid.stderr.lines().next().unwrap();
    let reason = said
        .strip_prefix("error: --match: ")
        .unwrap_or_else(|| panic!("{said}"));
    assert!(route.ends_with(reason), "{route} / {said}");

    let unknown = moto.signer(&[&["silence", "expire"][..], &t, &["s-000000000000"]].concat());
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .starts_with("alert-relay-sign: no silence s-000000000000 in table alert-relay-state"),
        "{}",
        unknown.stderr
    );

    let list = moto.signer(&[&["silence", "list", "--all", "--json"][..], &t].concat());
    assert_eq!(
        (list.code, list.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        list.stderr
    );

    // An item in the partition that is not a silence is named, and the others are still listed.
    block_on(
        client
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S("silence".into()))
            .item("sk", AttributeValue::S("s-damaged".into()))
            .item("ends_at", AttributeValue::N("1".into()))
            .send(),
    )
    .unwrap();
    let good = moto.signer(
        &[
            &["silence", "add"][..],
            &t,
            &["--match", "{}", "--for", "1h", "--comment", "x"],
        ]
        .concat(),
    );
    assert_eq!(good.code, 0, "{}", good.stderr);
    let list = moto.signer(&[&["silence", "list"][..], &t].concat());
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains(good.stdout.trim_end()),
        "{}",
        list.stdout
    );
    assert_eq!(
        list.stderr,
        "alert-relay-sign: skipped silence s-damaged: the table's item has a missing or invalid \
         match\n"
    );

    let missing = moto.signer(&["silence", "list", "--table", "no-such-table"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .starts_with("alert-relay-sign: cannot list the silences in table no-such-table: ")
            && missing.stderr.contains("ResourceNotFoundException"),
        "{}",
        missing.stderr
    );
}
