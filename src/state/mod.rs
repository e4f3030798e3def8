//! Alert state (`ALERT_STATE_TABLE`): one notification per change of an alert, not one per
//! webhook. The stage between `normalize` and `deliver`:
//! - [`decide`]: pure, what the table remembers of an alert and one event of it in, the
//!   decision per target and what to remember next out;
//! - [`Store`]: where the state lives (DynamoDB in Lambda, `publish::state_table`), behind a
//!   small trait, so that the stateless relay is the same pipeline with no store.

mod decide;

pub use decide::Decision;
pub use decide::{
    AlertState, HANDLED_MAX, Handled, Incoming, Lifecycle, MIN_REPEAT_AFTER, Millis, Notify,
    Policy, Reason, Silenced, Stored, Target, Told, Verdict, Why, decide, rank,
};
