//! The service account's access token: OAuth 2.0 client credentials, fetched once and reused until
//! shortly before it expires. Atlas, "Generate Service Account Token"
//! (https://www.mongodb.com/docs/atlas/api/service-accounts/generate-oauth2-token/):
//! `POST {base}/api/oauth/token`, `Authorization: Basic base64(client_id:client_secret)`,
//! `Content-Type: application/x-www-form-urlencoded`, body `grant_type=client_credentials`;
//! the answer is `access_token`, `token_type` (Bearer) and `expires_in` (seconds; one hour).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::time::Instant;

use super::transport::post_form;
use super::{AtlasApiConfig, Failure, Inner, Reason, TRANSIENT_TTL, log_failure};
use crate::providers::parse_object;
use crate::secret::Secret;

/// How early a token is replaced before it expires; a short-lived one at half its life.
const REFRESH_EARLY: Duration = Duration::from_secs(60);
/// The longest a token is believed, whatever its `expires_in` says: Atlas's last an hour.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) struct Tokens {
    url: String,
    /// `Basic …`, computed once.
    basic: Secret,
    /// Its lock is the single flight: concurrent first lookups make one token request.
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Token>,
    /// The last token request's failure, replayed without a request until the instant.
    failed: Option<(Failure, Instant)>,
}

/// An access token, as the `Authorization` header that carries it.
#[derive(Clone)]
pub(super) struct Token {
    header: Secret,
    refresh_at: Instant,
}

impl Token {
    pub fn header(&self) -> &Secret {
        &self.header
    }
}

impl Tokens {
    pub fn new(config: &AtlasApiConfig) -> Self {
        let mut credentials = config.client_id.as_bytes().to_vec();
        credentials.push(b':');
        credentials.extend_from_slice(config.client_secret.expose());
        Tokens {
            url: format!("{}/api/oauth/token", config.base_url),
            basic: Secret::new(format!("Basic {}", STANDARD.encode(&credentials))),
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Drops `used` after the API refused it (401), unless it was already replaced.
    pub async fn forget(&self, used: &Token) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.header == used.header)
        {
            state.current = None;
        }
    }
}

impl Inner {
    /// A current token: the cached one, else one new request (others wait for it). A failed
    /// request is logged here, with the configuration that asked.
    pub(super) async fn bearer(&self, group_id: &str, config_id: &str) -> Result<Token, Failure> {
        let mut state = self.tokens.state.lock().await;
        let now = Instant::now();
        if let Some(token) = state.current.as_ref().filter(|t| t.refresh_at > now) {
            return Ok(token.clone());
        }
        if let Some((failure, _)) = state.failed.filter(|(_, until)| *until > now) {
            return Err(failure);
        }
        self.check_backoff()?;
        match self.request_token().await {
            Ok(token) => {
                state.failed = None;
                state.current = Some(token.clone());
                Ok(token)
            }
            Err(failure) => {
                log_failure(failure, group_id, config_id);
                if failure.reason != Reason::Throttled {
                    state.failed = Some((failure, Instant::now() + TRANSIENT_TTL));
                }
                Err(failure)
            }
        }
    }

    async fn request_token(&self) -> Result<Token, Failure> {
        let sent = Instant::now();
        let tokens = &self.tokens;
        let request = post_form(
            tokens.url.clone(),
            &tokens.basic,
            "grant_type=client_credentials",
        );
        let answer = self.transport.exchange(request).await?;
        match answer.status {
            200..=299 => {}
            429 => {
                self.back_off(answer.retry_after);
                return Err(Failure::status(Reason::Throttled, 429));
            }
            status @ 500.. => return Err(Failure::status(Reason::Unavailable, status)),
            status => return Err(Failure::status(Reason::TokenRefused, status)),
        }
        let malformed = Failure::status(Reason::Malformed, answer.status);
        let granted = parse_object(&answer.body).map_err(|_| malformed)?;
        let text = |key: &str| granted.get(key).and_then(Value::as_str).unwrap_or_default();
        let (access_token, token_type) = (text("access_token"), text("token_type"));
        let expires_in = granted.get("expires_in").and_then(Value::as_u64);
        // A token becomes a header value: visible ASCII only, and a bearer token at that.
        let usable = !access_token.is_empty()
            && access_token.bytes().all(|b| b.is_ascii_graphic())
            && token_type.eq_ignore_ascii_case("bearer");
        let (true, Some(seconds @ 1..)) = (usable, expires_in) else {
            return Err(malformed);
        };
        Ok(Token {
            header: Secret::new(format!("Bearer {access_token}")),
            refresh_at: refresh_at(sent, seconds),
        })
    }
}

/// When a token sent for at `sent` and said to live `expires_in` seconds is replaced: clamped to
/// `MAX_LIFETIME`, so that no answer can overflow the clock (`u64::MAX` seconds would).
fn refresh_at(sent: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(MAX_LIFETIME);
    let reuse_for = match lifetime.checked_sub(REFRESH_EARLY) {
        Some(rest) if rest > REFRESH_EARLY => rest,
        _ => lifetime / 2,
    };
    sent.checked_add(reuse_for).unwrap_or(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_lifetime_is_clamped_and_never_overflows() {
        let sent = Instant::now();
        assert_eq!(
            refresh_at(sent, 3600),
            sent + Duration::from_secs(3600 - 60)
        );
        assert_eq!(refresh_at(sent, 100), sent + Duration::from_secs(50));
        assert_eq!(refresh_at(sent, 1), sent + Duration::from_millis(500));
        for huge in [u64::MAX, u64::MAX / 2, 1 << 40, 24 * 3600 + 1] {
            assert_eq!(refresh_at(sent, huge), sent + MAX_LIFETIME - REFRESH_EARLY);
        }
    }
}
