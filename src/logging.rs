//! Structured JSON logs, one object per line, as Lambda's JSON log format expects.
//!
//! `RUST_LOG` (else `AWS_LAMBDA_LOG_LEVEL`) filters the function's own logs at any level, but every
//! other crate is capped at `INFO`, whatever the filter says: at `DEBUG` and `TRACE`,
//! `lambda_runtime` logs the raw invocation (signature headers, `?secret=`, the body) and the AWS
//! SDK's HTTP stack logs requests and responses (a Secrets Manager secret's value among them). An
//! operator who turns the level up to debug a rejection must not leak a secret into CloudWatch.
//!
//! The filter is a list of `level` and `target=level` directives, comma-separated (`debug`,
//! `warn,alert_relay=debug`): `tracing_subscriber`'s `Targets`, not its `EnvFilter`, whose span and
//! field matching brings a regex engine (about 190 KiB of the binary) that nobody needs here. A
//! filter it cannot read is ignored for the next source, as `EnvFilter` did.

use std::str::FromStr;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// The most verbose level another crate may log at.
pub const THIRD_PARTY_MAX: Level = Level::INFO;

/// The subscriber `main` installs; tests install it with a capturing writer.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let from = |name| std::env::var(name).ok().and_then(|v| parse(&v));
    let filter = from("RUST_LOG")
        .or_else(|| from("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    with_filter(filter, writer)
}

/// The subscriber with an explicit filter, as if `RUST_LOG` said it (`info` if it cannot be read).
pub fn subscriber_at<W>(directives: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = parse(directives).unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    with_filter(filter, writer)
}

/// `level` and `target=level` directives; Lambda's `FATAL` (its application log level) is `error`.
/// `None` when empty or unreadable.
fn parse(directives: &str) -> Option<Targets> {
    let directives = directives.trim();
    if directives.is_empty() {
        return None;
    }
    if directives.eq_ignore_ascii_case("fatal") {
        return Some(Targets::new().with_default(Level::ERROR));
    }
    Targets::from_str(directives).ok()
}

fn with_filter<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        // The builder's own default is INFO: the filter below decides instead.
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_writer(writer)
        .finish()
        .with(filter)
        .with(filter_fn(allowed))
}

/// Ours at any level the filter allows; anyone else's at most at [`THIRD_PARTY_MAX`].
fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= THIRD_PARTY_MAX || is_ours(metadata.target())
}

fn is_ours(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    matches!(krate, "alert_relay" | "alert_relay_sign")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reads_levels_and_target_directives_in_any_case() {
        use tracing::level_filters::LevelFilter;
        let default = |d: &str| parse(d).map(|t| t.default_level());
        assert_eq!(default("debug"), Some(Some(LevelFilter::DEBUG)));
        assert_eq!(default("TRACE"), Some(Some(LevelFilter::TRACE)));
        assert_eq!(default("FATAL"), Some(Some(LevelFilter::ERROR)));
        assert_eq!(default(" warn "), Some(Some(LevelFilter::WARN)));
        let targets = parse("warn,alert_relay=debug").unwrap();
        assert!(targets.would_enable("alert_relay::pipeline", &Level::DEBUG));
        assert!(!targets.would_enable("other", &Level::INFO));
        for unreadable in ["", "  ", "alert_relay=loud", "a=b=c"] {
            assert!(parse(unreadable).is_none(), "{unreadable:?}");
        }
    }

    #[test]
    fn other_crates_are_capped_at_info_whatever_the_filter() {
        for directives in [
            "trace",
            "debug",
            "lambda_runtime=trace,aws_smithy_runtime=trace",
        ] {
            let capture = Capture::default();
            let writer = capture.clone();
            let subscriber = subscriber_at(directives, move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::callsite::rebuild_interest_cache();
                tracing::trace!(target: "lambda_runtime::layers::api_client", "raw event secret-a");
                tracing::debug!(target: "aws_smithy_runtime::client", "response secret-b");
                tracing::debug!(target: "hyper_util::client", "secret-c");
                tracing::info!(target: "lambda_runtime", "kept-info");
                tracing::debug!(target: "alert_relay::pipeline", "kept-ours");
            });
            let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
            for secret in ["secret-a", "secret-b", "secret-c"] {
                assert!(!text.contains(secret), "{directives}: {text}");
            }
            assert!(text.contains("kept-info"), "{directives}: {text}");
            if directives != "lambda_runtime=trace,aws_smithy_runtime=trace" {
                assert!(text.contains("kept-ours"), "{directives}: {text}");
            }
        }
    }
}
