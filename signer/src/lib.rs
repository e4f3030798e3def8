//! `alert-relay-sign`: sign, send and verify alert webhooks exactly as alert-relay checks them.
//!
//! `sign` prints what a provider would send (headers, a curl command, an API Gateway event);
//! `send` posts it; `verify` says whether the function would accept a captured request and why
//! not, through the library's own `Provider::authenticate`. `make events` builds the project's
//! fixtures with `sign`, so every signature in `events/` comes from the crate's `Provider::sign`.
//! `silence` manages the function's silences (maintenance windows) in its alert-state table.

pub mod cli;
pub mod providers;
pub mod reencode;
pub mod request;
pub mod send;
pub mod sign;
pub mod silence;
pub mod verify;
