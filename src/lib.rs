//! alert-relay: verify alert webhooks from MongoDB Atlas, App Services-style signed senders and
//! Monte Carlo, normalize them into one CloudEvents event, and publish it to Amazon SNS.
//!
//! The modules in layers, each using only those below it (`tests/layers.rs` fails on a cycle):
//! 1. leaves: `secret`, `alert`, `pyform`, `metrics`, `logging`;
//! 2. `signature` (the HMAC schemes), then `providers` (each a spec beside its configuration);
//! 3. `event`, `format`, `outbox`, `route` (filter policies over the event's attributes);
//! 4. `publish`: the publishers and the fallback queue;
//! 5. the request's stages (`pipeline`: admit, normalize, deliver, respond), run by `handler`
//!    for a webhook and `redrive` for a fallback-queue record;
//! 6. `config` and `secrets` (assemble the layers from the environment), `dispatch`; `atlas_api`
//!    (the Admin API client behind the normalize stage's `SeverityLookup`); `main` wires.

pub mod alert;
#[cfg(feature = "aws")]
pub mod atlas_api;
pub mod config;
pub mod dispatch;
pub mod event;
pub mod format;
pub mod handler;
pub mod logging;
mod metrics;
mod outbox;
pub mod pipeline;
pub mod providers;
pub mod publish;
pub mod pyform;
mod redrive;
pub mod route;
mod secret;
pub mod secrets;
pub mod severity;
pub mod signature;
pub mod state;

pub use config::{Config, ConfigError};
pub use handler::Relay;
#[cfg(feature = "aws")]
pub use publish::SnsPublisher;
pub use publish::{PublishError, Publisher};
pub use redrive::MAX_PUBLISHES_IN_FLIGHT as MAX_REDRIVE_PUBLISHES_IN_FLIGHT;
pub use secret::Secret;
