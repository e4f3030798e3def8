//! alert-relay: verify alert webhooks from MongoDB Atlas, App Services-style signed senders and
//! Monte Carlo, normalize them into one CloudEvents event, and publish it to Amazon SNS.

pub mod config;
pub mod dispatch;
pub mod event;
pub mod format;
pub mod handler;
pub mod logging;
pub mod metrics;
pub mod providers;
pub mod publish;
pub mod pyform;
pub mod redrive;
pub mod route;
pub mod secrets;
pub mod signature;

pub use config::{Config, ConfigError, Secret};
pub use handler::Relay;
#[cfg(feature = "aws")]
pub use publish::SnsPublisher;
pub use publish::{PublishError, Publisher};
