//! Which path an invocation takes, by its event's shape: a batch of SQS records is the fallback
//! queue draining (the redrive path); anything else is an HTTP request from API Gateway (REST or
//! HTTP API) or a function URL.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::request::LambdaRequest;
use serde::Deserialize;

pub enum Invocation {
    Http(Box<LambdaRequest>),
    Sqs(SqsEvent),
}

/// Just enough of an event to tell an SQS batch: a `Records` list whose every record says
/// `"eventSource": "aws:sqs"`. Everything else in the event is skipped, not built.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "Records")]
    records: Option<Vec<ProbeRecord>>,
}

#[derive(Deserialize)]
struct ProbeRecord {
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
}

impl Invocation {
    pub fn from_json(payload: &str) -> Result<Invocation, serde_json::Error> {
        let sqs = serde_json::from_str::<Probe>(payload)
            .ok()
            .and_then(|probe| probe.records)
            .is_some_and(|records| {
                !records.is_empty()
                    && records
                        .iter()
                        .all(|r| r.event_source.as_deref() == Some("aws:sqs"))
            });
        if sqs {
            Ok(Invocation::Sqs(serde_json::from_str(payload)?))
        } else {
            Ok(Invocation::Http(Box::new(serde_json::from_str(payload)?)))
        }
    }
}
