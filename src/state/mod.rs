//! Alert state (`ALERT_STATE_TABLE`): one notification per change of an alert, not one per
//! webhook. The stage between `normalize` and `deliver`:
//! - [`decide`]: pure, what the table remembers of an alert and one event of it in, the
//!   decision per target and what to remember next out;
//! - [`item`]: the table's items (an alert's state, a silence) in DynamoDB's attribute types,
//!   without the SDK, shared by the function and the signer;
//! - [`Silence`]: maintenance windows, written by `alert-relay-sign silence`;
//! - [`Table`]: where the state lives (DynamoDB in Lambda, `publish::StateTable`), behind a
//!   small trait, so that the stateless relay is the same pipeline with no table.

mod decide;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod item;
mod silence;
mod table;

pub use crate::route::parse_duration;
pub use decide::{
    AlertState, Decision, HANDLED_MAX, Handled, Incoming, Lifecycle, MIN_REPEAT_AFTER, Millis,
    Notify, Policy, Reason, Silenced, Stored, Target, Told, Verdict, Why, decide, rank,
};
pub use silence::{SILENCE_PK, Silence, SilenceError, parse_match};
pub use table::{Expect, Table, TableError, TableFuture};
