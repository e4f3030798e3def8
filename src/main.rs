//! Wiring only: logging, configuration, the SNS client, and the Lambda runtime loop.

use std::convert::Infallible;
use std::process::ExitCode;

use alert_relay::config::Fetched;
use alert_relay::{Config, ConfigError, Relay, SnsPublisher, handler, logging, publish, secrets};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceBuilder;
use lambda_http::{Adapter, LambdaEvent, Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if tracing::subscriber::set_global_default(logging::subscriber(std::io::stdout)).is_err() {
        eprintln!("alert-relay: a logger was already installed");
    }

    let sdk = publish::sdk_loader().load().await;
    let config = match load_config(&sdk).await {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "configuration error");
            eprintln!("alert-relay: configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk));
    let relay = Relay::new(config, publisher);

    let handler = service_fn(|request: Request| {
        let relay = &relay;
        async move { Ok::<_, Infallible>(relay.handle(request).await) }
    });
    let runtime = ServiceBuilder::new()
        .map_request(|event: LambdaEvent<LambdaRequest>| LambdaEvent {
            payload: handler::guard_body(event.payload),
            context: event.context,
        })
        .service(Adapter::from(handler));
    let served = lambda_http::lambda_runtime::run(runtime).await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The environment, with any `_ARN` secret lists fetched from Secrets Manager first.
async fn load_config(sdk: &aws_config::SdkConfig) -> Result<Config, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let fetched = if secrets::any_requested(env) {
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        secrets::fetch_all(env, |arn| {
            let request = client.get_secret_value().secret_id(arn);
            async move {
                let output = request.send().await.map_err(|e| {
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()
                })?;
                output
                    .secret_string
                    .ok_or_else(|| "the secret has no string value".to_owned())
            }
        })
        .await?
    } else {
        Fetched::new()
    };
    Config::from_sources(env, &fetched)
}
