//! Wiring only: logging, configuration, the SNS client, and the Lambda runtime loop.

use std::convert::Infallible;
use std::process::ExitCode;

use alert_relay::{Config, Relay, SnsPublisher, handler, logging, publish};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceBuilder;
use lambda_http::{Adapter, LambdaEvent, Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if tracing::subscriber::set_global_default(logging::subscriber(std::io::stdout)).is_err() {
        eprintln!("alert-relay: a logger was already installed");
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "configuration error");
            eprintln!("alert-relay: configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };

    let sdk = publish::sdk_loader().load().await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn.clone());
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
