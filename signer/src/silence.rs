//! `silence add|list|expire`: maintenance windows in the alert-state table, the signer's one
//! command that writes to AWS. What a silence is, its id and its item are the library's
//! (`state::Silence`); this module checks the command line, renders the list, and makes the
//! table's three calls (a conditional put, a query of the `silence` partition, a conditional
//! update).

use std::time::{SystemTime, UNIX_EPOCH};

use alert_relay::state::item::{BadItem, EXPIRES_AT, PK, SK, expiry};
use alert_relay::state::{Millis, SILENCE_PK, Silence};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{SilenceAddArgs, SilenceCommand};
use alert_relay::state::dynamodb::{item_from_sdk, item_to_sdk};

/// What went wrong; [`Error::Usage`] is the caller's (exit status 2), the rest exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("cannot {action} in table {table}: {detail}")]
    Aws {
        action: &'static str,
        table: String,
        /// The SDK's error with its causes (`DisplayErrorContext`, without its `Debug`).
        detail: String,
    },
    #[error("no silence {id} in table {table} (`silence list --all` lists them)")]
    Unknown { id: String, table: String },
    #[error("silence {id} in table {table}: {source}")]
    Damaged {
        id: String,
        table: String,
        source: BadItem,
    },
    #[error("cannot start the runtime for the AWS SDK: {0}")]
    Runtime(std::io::Error),
}

/// What a command printed: `stdout` for scripts, `notes` for the person at the terminal.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub stdout: String,
    pub notes: Vec<String>,
}

/// The time as the silences count it: Unix milliseconds.
pub fn now() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
    })
}

/// Runs one `silence` command at `now`, on a current-thread runtime of its own.
pub fn run(command: SilenceCommand, now: Millis) -> Result<Done, Error> {
    // Checked before any call: a usage error never waits for credentials.
    let planned = match &command {
        SilenceCommand::Add(args) => Some(plan(args, now).map_err(Error::Usage)?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async move {
        match command {
            SilenceCommand::Add(args) => {
                let silence = planned.expect("planned above");
                let table = Table::connect(args.table.table).await;
                table.put(&silence, args.retention.retention).await?;
                Ok(Done {
                    stdout: format!("{}\n", silence.id),
                    notes: vec![format!(
                        "silence {} holds back {} from {} until {}",
                        silence.id,
                        compact(&silence.matcher),
                        second(silence.starts_at),
                        second(silence.ends_at),
                    )],
                })
            }
            SilenceCommand::List(args) => {
                let table = Table::connect(args.table.table).await;
                let (silences, notes) = table.silences().await?;
                let stdout = if args.json {
                    json(&silences, now, args.all)
                } else {
                    render(&silences, now, args.all)
                };
                Ok(Done { stdout, notes })
            }
            SilenceCommand::Expire(args) => {
                let table = Table::connect(args.table.table).await;
                let note = match table.end(&args.id, now, args.retention.retention).await? {
                    Ended::Now => format!("silence {} ended at {}", args.id, second(now)),
                    Ended::Already(at) => {
                        format!("silence {} had already ended at {}", args.id, second(at))
                    }
                };
                Ok(Done {
                    stdout: String::new(),
                    notes: vec![note],
                })
            }
        }
    })
}

/// The silence `add` writes, checked as the function would read it.
pub fn plan(args: &SilenceAddArgs, now: Millis) -> Result<Silence, String> {
    let starts_at = args.start.unwrap_or(now);
    let ends_at = match (args.duration, args.until) {
        (Some(duration), _) => starts_at.checked_add(duration).ok_or("--for: too long")?,
        (None, Some(until)) => until,
        (None, None) => return Err("--for or --until says when the silence ends".into()),
    };
    let silence = Silence::new(
        &args.matcher,
        starts_at,
        ends_at,
        &args.comment,
        args.by.as_deref(),
        now,
    )
    .map_err(|error| error.to_string())?;
    if silence.ends_at <= now {
        return Err(format!(
            "the silence would have ended at {}, before now: nothing to hold back",
            second(silence.ends_at)
        ));
    }
    Ok(silence)
}

/// Where a silence stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Starts later (`--start`).
    Pending,
    Active,
    Expired,
}

impl Phase {
    pub fn of(silence: &Silence, now: Millis) -> Phase {
        if silence.ends_at <= now {
            Phase::Expired
        } else if silence.is_active(now) {
            Phase::Active
        } else {
            Phase::Pending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Active => "active",
            Phase::Expired => "expired",
        }
    }
}

/// The silences `list` shows, by start: those active or to come, and with `all` the expired too.
fn shown(silences: &[Silence], now: Millis, all: bool) -> Vec<&Silence> {
    let mut shown: Vec<&Silence> = silences
        .iter()
        .filter(|s| all || Phase::of(s, now) != Phase::Expired)
        .collect();
    shown.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    shown
}

/// `list`'s table: one silence a line, in aligned columns.
pub fn render(silences: &[Silence], now: Millis, all: bool) -> String {
    let shown = shown(silences, now, all);
    if shown.is_empty() {
        return if all {
            "no silences\n".into()
        } else {
            "no active or pending silences (--all lists the expired ones too)\n".into()
        };
    }
    let mut rows =
        vec![["ID", "STATE", "START", "END", "BY", "MATCH", "COMMENT"].map(str::to_owned)];
    for silence in shown {
        rows.push([
            silence.id.clone(),
            Phase::of(silence, now).as_str().to_owned(),
            second(silence.starts_at),
            second(silence.ends_at),
            silence.by.as_deref().map_or("-".into(), one_line),
            compact(&silence.matcher),
            one_line(&silence.comment),
        ]);
    }
    let mut widths = [0; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `list --json`: the same silences as an array, times in RFC 3339, the match as JSON.
pub fn json(silences: &[Silence], now: Millis, all: bool) -> String {
    let shown: Vec<Value> = shown(silences, now, all)
        .into_iter()
        .map(|silence| {
            json!({
                "id": silence.id,
                "state": Phase::of(silence, now).as_str(),
                "match": serde_json::from_str::<Value>(&silence.matcher)
                    .unwrap_or_else(|_| Value::String(silence.matcher.clone())),
                "starts_at": rfc3339(silence.starts_at),
                "ends_at": rfc3339(silence.ends_at),
                "comment": silence.comment,
                "by": silence.by,
                "created_at": rfc3339(silence.created_at),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&shown).unwrap_or_default();
    text.push('\n');
    text
}

/// Unix milliseconds in RFC 3339, UTC.
fn rfc3339(at: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// To the second, for people.
fn second(at: Millis) -> String {
    rfc3339(at.div_euclid(1000) * 1000)
}

/// A match as one line of JSON.
fn compact(matcher: &str) -> String {
    serde_json::from_str::<Value>(matcher).map_or_else(|_| one_line(matcher), |v| v.to_string())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How `expire` found the silence.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Now,
    /// It had ended before: left as it was.
    Already(Millis),
}

/// The alert-state table, through the standard credential chain and region.
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    /// No call yet: aws-config reads the environment and the profile files.
    pub async fn connect(name: String) -> Table {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Table {
            client: Client::new(&config),
            name,
        }
    }

    fn aws<E, R>(&self, action: &'static str, error: SdkError<E, R>) -> Error
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        // DisplayErrorContext ends with the error's `Debug`, the whole HTTP response among it:
        // for a log, not for a terminal, whose reader gets the chain of causes before it.
        let debug = format!(" ({error:?})");
        let detail = DisplayErrorContext(error).to_string();
        Error::Aws {
            action,
            table: self.name.clone(),
            detail: detail
                .strip_suffix(&debug)
                .map_or(detail.clone(), str::to_owned),
        }
    }

    /// Writes a new silence; never overwrites one (ids are unique, the condition makes sure).
    pub async fn put(&self, silence: &Silence, retention: Millis) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item_to_sdk(silence.to_item(retention))))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .send()
            .await
            .map_err(|error| self.aws("add the silence", error))?;
        Ok(())
    }

    /// Every silence in the table, and a note for each item that is not one.
    pub async fn silences(&self) -> Result<(Vec<Silence>, Vec<String>), Error> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression(format!("{PK} = :pk"))
            .expression_attribute_values(":pk", AttributeValue::S(SILENCE_PK.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let (mut silences, mut notes) = (Vec::new(), Vec::new());
        while let Some(item) = pages.next().await {
            let item = item_from_sdk(item.map_err(|error| self.aws("list the silences", error))?);
            match Silence::from_item(&item) {
                Ok(silence) => silences.push(silence),
                Err(error) => notes.push(format!(
                    "skipped silence {}: {error}",
                    match item.get(SK) {
                        Some(alert_relay::state::item::Attr::S(id)) => id.as_str(),
                        _ => "?",
                    }
                )),
            }
        }
        Ok((silences, notes))
    }

    /// Ends silence `id` at `now`, unless it has ended already. An unknown id is an error.
    pub async fn end(&self, id: &str, now: Millis, retention: Millis) -> Result<Ended, Error> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(SILENCE_PK.into()))
            .key(SK, AttributeValue::S(id.into()))
            .update_expression(format!("SET ends_at = :now, {EXPIRES_AT} = :expires"))
            .condition_expression(format!("attribute_exists({PK}) AND ends_at > :now"))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expiry(now, retention).to_string()),
            )
            .send()
            .await;
        match updated {
            Ok(_) => Ok(Ended::Now),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Absent, or over already: one read says which.
                let found = self
                    .client
                    .get_item()
                    .table_name(&self.name)
                    .key(PK, AttributeValue::S(SILENCE_PK.into()))
                    .key(SK, AttributeValue::S(id.into()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|error| self.aws("read the silence", error))?;
                let Some(item) = found.item else {
                    return Err(Error::Unknown {
                        id: id.into(),
                        table: self.name.clone(),
                    });
                };
                let silence =
                    Silence::from_item(&item_from_sdk(item)).map_err(|source| Error::Damaged {
                        id: id.into(),
                        table: self.name.clone(),
                        source,
                    })?;
                Ok(Ended::Already(silence.ends_at))
            }
            Err(error) => Err(self.aws("expire the silence", error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{RetentionArgs, TableArgs};

    /// 2026-12-07T16:00:00Z
    const NOW: Millis = 1_796_659_200_000;
    const HOUR: Millis = 3_600_000;

    fn add(matcher: &str) -> SilenceAddArgs {
        SilenceAddArgs {
            table: TableArgs {
                table: "alert-relay-state".into(),
            },
            matcher: matcher.into(),
            duration: Some(2 * HOUR),
            until: None,
            start: None,
            comment: "orders-prod upgrade".into(),
            by: Some("ops".into()),
            retention: RetentionArgs {
                retention: 30 * 24 * HOUR,
            },
        }
    }

    #[test]
    fn a_silence_for_a_while_starts_now() {
        let silence = plan(&add(r#"{"project": ["orders-prod"]}"#), NOW).unwrap();
        assert_eq!((silence.starts_at, silence.ends_at), (NOW, NOW + 2 * HOUR));
        assert_eq!(silence.created_at, NOW);
        assert_eq!(silence.by.as_deref(), Some("ops"));
        assert!(Phase::of(&silence, NOW) == Phase::Active);
    }

    #[test]
    fn a_later_start_moves_the_end_of_for_but_not_until() {
        let mut args = add("{}");
        args.start = Some(NOW + HOUR);
        let silence = plan(&args, NOW).unwrap();
        assert_eq!(
            (silence.starts_at, silence.ends_at),
            (NOW + HOUR, NOW + 3 * HOUR)
        );
        assert_eq!(Phase::of(&silence, NOW), Phase::Pending);
        args.duration = None;
        args.until = Some(NOW + 4 * HOUR);
        assert_eq!(plan(&args, NOW).unwrap().ends_at, NOW + 4 * HOUR);
    }

    #[test]
    fn refuses_a_silence_that_could_hold_nothing_back() {
        let mut args = add("{}");
        args.duration = None;
        args.until = Some(NOW - HOUR);
        assert_eq!(
            plan(&args, NOW),
            Err("the silence ends before it starts".into())
        );
        args.start = Some(NOW - 2 * HOUR);
        assert_eq!(
            plan(&args, NOW),
            Err(
                "the silence would have ended at 2026-12-07T15:00:00Z, before now: nothing to hold back"
                    .into()
            )
        );
        let mut args = add("{}");
        args.comment = "  ".into();
        assert!(
            plan(&args, NOW)
                .unwrap_err()
                .starts_with("--comment is empty")
        );
    }

    #[test]
    fn refuses_an_invalid_match_as_a_route_filter_is_refused() {
        let said = plan(&add(r#"{"priority": ["P1"]}"#), NOW).unwrap_err();
        assert_eq!(
            said,
            "--match: filter: unknown attribute \"priority\" (a filter names provider, status, \
             severity, event_type, project, cluster, group, tables, labels or $or)"
        );
        let route = alert_relay::route::Routes::parse(
            "arn:aws:sns:us-east-1:123456789012:a",
            Some(r#"[{"topic":"arn:aws:sns:us-east-1:123456789012:b","filter":{"priority":["P1"]}}]"#),
        )
        .unwrap_err()
        .to_string();
        assert!(
            route.ends_with(said.strip_prefix("--match: ").unwrap()),
            "{route}"
        );
        assert_eq!(plan(&add("{"), NOW), Err("--match: not JSON".into()));
    }

    fn three() -> Vec<Silence> {
        let silence = |matcher: &str, start: Millis, end: Millis, by: Option<&str>| {
            Silence::new(matcher, start, end, "why\nnot", by, NOW - 5 * HOUR).unwrap()
        };
        vec![
            silence(
                r#"{"severity": ["info"]}"#,
                NOW + HOUR,
                NOW + 2 * HOUR,
                None,
            ),
            silence(
                "{\n  \"project\": [\"orders-prod\"]\n}",
                NOW - HOUR,
                NOW + HOUR,
                Some("ops"),
            ),
            silence("{}", NOW - 4 * HOUR, NOW - 3 * HOUR, Some("ops")),
        ]
    }

    #[test]
    fn the_table_lists_active_and_pending_silences_by_start() {
        let silences = three();
        let text = render(&silences, NOW, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID "), "{text}");
        let columns: Vec<&str> = lines[1].split("  ").filter(|c| !c.is_empty()).collect();
        assert_eq!(
            columns.iter().map(|c| c.trim()).collect::<Vec<_>>(),
            [
                silences[1].id.as_str(),
                "active",
                "2026-12-07T15:00:00Z",
                "2026-12-07T17:00:00Z",
                "ops",
                r#"{"project":["orders-prod"]}"#,
                "why not",
            ]
        );
        assert!(
            lines[2].contains("pending") && lines[2].contains(" - "),
            "{text}"
        );
        assert!(!text.contains(&silences[2].id));
        // Aligned: every column of a line starts where the header's does.
        let at = lines[0].find("MATCH").unwrap();
        assert!(lines[1][at..].starts_with('{') && lines[2][at..].starts_with('{'));
    }

    #[test]
    fn all_lists_the_expired_ones_too_marked() {
        let silences = three();
        let text = render(&silences, NOW, true);
        let expired = text.lines().nth(1).unwrap();
        assert!(
            expired.starts_with(&silences[2].id) && expired.contains(" expired "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4);
        assert_eq!(
            render(&silences[2..], NOW, false),
            "no active or pending silences (--all lists the expired ones too)\n"
        );
        assert_eq!(render(&[], NOW, true), "no silences\n");
    }

    #[test]
    fn json_has_the_same_silences_with_their_match_as_json() {
        let silences = three();
        let listed: Vec<Value> = serde_json::from_str(&json(&silences, NOW, false)).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[0],
            json!({
                "id": silences[1].id,
                "state": "active",
                "match": {"project": ["orders-prod"]},
                "starts_at": "2026-12-07T15:00:00Z",
                "ends_at": "2026-12-07T17:00:00Z",
                "comment": "why\nnot",
                "by": "ops",
                "created_at": "2026-12-07T11:00:00Z",
            })
        );
        assert_eq!(listed[1]["by"], Value::Null);
        let all: Vec<Value> = serde_json::from_str(&json(&silences, NOW, true)).unwrap();
        assert_eq!(all[0]["state"], "expired");
        assert_eq!(json(&[], NOW, false), "[]\n");
    }

    #[test]
    fn times_keep_their_milliseconds_in_json_only() {
        assert_eq!(rfc3339(NOW + 1_250), "2026-12-07T16:00:01.25Z");
        assert_eq!(second(NOW + 1_250), "2026-12-07T16:00:01Z");
    }
}
