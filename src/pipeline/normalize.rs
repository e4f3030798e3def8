//! The second stage: a verified body read as the provider's alert, made the event, and routed
//! into everything it publishes.

use time::OffsetDateTime;

use crate::event::{Event, EventError, event_id};
use crate::outbox::Outbox;
use crate::providers::{MalformedPayload, Verified};
use crate::route::Routes;

/// Why an authenticated request could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// Not a JSON object: the sender's mistake (400).
    #[error(transparent)]
    Malformed(#[from] MalformedPayload),
    /// A bug: the event could not be serialized (500).
    #[error(transparent)]
    Event(#[from] EventError),
}

/// The event id and, when the body is an alert, what it publishes. The id hashes the whole body
/// (up to 256 KiB): `Event::new` does it, so it is done here only for the failures before it.
pub fn normalize(
    verified: Verified<'_>,
    routes: &Routes,
    received: OffsetDateTime,
) -> (String, Result<Outbox, Unreadable>) {
    let provider = verified.provider();
    let body = verified.body();
    let alert = match provider.normalize(verified) {
        Ok(alert) => alert,
        Err(malformed) => return (event_id(provider, body), Err(malformed.into())),
    };
    let event = match Event::new(provider, alert, body, received) {
        Ok(event) => event,
        Err(error) => return (event_id(provider, body), Err(error.into())),
    };
    let outbox = routes.outbox(&event).map_err(Unreadable::from);
    (event.id, outbox)
}
