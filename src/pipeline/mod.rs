//! One request's stages, each a function with its own input and result:
//!
//! - [`admit`]: route, method, size, authenticate: the `Verified` request or an admit `Rejection`;
//! - [`normalize`]: the verified body as the alert, its severity decided ([`assess`]: the
//!   provider's, Atlas's alert configuration, the rules), the event, and everything it publishes
//!   (the `Outbox`);
//! - [`deliver`]: publish, or keep what failed in the fallback queue (the redrive path too);
//! - [`respond`]: status, body, the one log line and the EMF metrics, from one `Outcome`.
//!
//! `handler` runs them for a webhook, `redrive` runs `deliver` for a queue record, and the
//! signer's `verify` runs `admit` (and `normalize`'s parse) to say what the function would do.

pub mod admit;
pub mod deliver;
pub mod normalize;
pub mod remember;
pub mod respond;

pub use admit::{Admission, Refused, Rejection, admit};
pub use deliver::{Deliverer, Delivery, Failure, Keep, Unqueued};
pub use normalize::{
    Assessment, LookupFuture, Normalized, SeverityLookup, Unreadable, assess, normalize, read,
};
pub use remember::{Claim, Memory, Recall, TargetOutcome};
pub use respond::{Answer, Failed, MetricsSink, Outcome, Told, respond};

use crate::route::Routes;
use crate::severity::SeverityRules;

/// What the stages need to know, assembled by `config` at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub admission: Admission,
    /// `ALERT_TOPIC_ARN` and `ALERT_ROUTES`: where alerts go.
    pub routes: Routes,
    /// `SEVERITY_RULES` (or the shipped defaults): the severity of alerts still `unknown`.
    pub severity_rules: SeverityRules,
    /// CloudWatch namespace of the EMF metrics (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// The fallback queue's ARN (`FALLBACK_QUEUE_ARN`, else derived from `FALLBACK_QUEUE_URL`):
    /// the redrive path refuses a batch from any other source, or from any when there is none.
    pub fallback_queue_arn: Option<String>,
    /// `ALERT_LABELS`: the labels the `labels` attribute carries; `None`: the first ten by name.
    pub alert_labels: Option<Vec<String>>,
}
