//! Wiring only: logging, configuration, the SNS client, and the Lambda runtime loop.

use std::convert::Infallible;
use std::process::ExitCode;

use alert_relay::{Config, Relay, SnsPublisher, publish};
use lambda_http::{Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "configuration error");
            eprintln!("alert-relay: configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };

    let (timeouts, retries) = publish::sdk_timeouts();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn.clone());
    let relay = Relay::new(config, publisher);

    let served = run(service_fn(|request: Request| {
        let relay = &relay;
        async move { Ok::<_, Infallible>(relay.handle(request).await) }
    }))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
