//! Wiring only: logging, configuration, the SNS, SQS and DynamoDB clients, and the Lambda runtime loop,
//! which sends each invocation down the HTTP path or, for the fallback queue's SQS batches, the
//! redrive path.

use std::process::ExitCode;

use alert_relay::dispatch::Invocation;
use alert_relay::pipeline::Memory;
use alert_relay::providers::Fetched;
use alert_relay::publish::{Fallback, SqsQueue, StateTable, sqs_timeouts, state_timeouts};
use alert_relay::{Config, ConfigError, Relay, SnsPublisher, handler, logging, publish, secrets};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::tower::Service as _;
use lambda_http::{Adapter, Request, service_fn};
use serde::Serialize;
use serde_json::value::RawValue;

/// What an invocation answers: an API Gateway response (lambda_http's, which it does not name
/// publicly), or the SQS batch's failures.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer<H> {
    Http(H),
    Sqs(aws_lambda_events::event::sqs::SqsBatchResponse),
}

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
    let queue = config.fallback_queue_url.clone().map(|url| {
        let sqs = sqs_timeouts(aws_sdk_sqs::config::Builder::from(&sdk)).build();
        SqsQueue::new(aws_sdk_sqs::Client::from_conf(sqs), url)
    });
    let lookup = config
        .atlas_api
        .as_ref()
        .map(|account| alert_relay::atlas_api::AtlasApi::new(account.into()));
    // Built without a network call: the first webhook makes the first one.
    let memory = config.state.as_ref().map(|state| {
        let dynamodb = state_timeouts(aws_sdk_dynamodb::config::Builder::from(&sdk)).build();
        let table = StateTable::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), &state.table);
        Memory::new(table, state.retention)
    });
    let mut relay = Relay::new(config, publisher);
    if let Some(lookup) = lookup {
        relay = relay.with_severity_lookup(lookup);
    }
    if let Some(memory) = memory {
        relay = relay.with_memory(memory);
    }
    match queue {
        Some(queue) => serve(relay.with_fallback(queue)).await,
        None => serve(relay).await,
    }
}

async fn serve<Q: Fallback>(relay: Relay<SnsPublisher, Q>) -> ExitCode {
    let relay = &relay;
    let served = lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            match Invocation::from_json(event.payload.get())? {
                Invocation::Sqs(batch) => {
                    Ok::<_, lambda_http::Error>(Answer::Sqs(relay.redrive(batch).await))
                }
                Invocation::Http(request) => {
                    let handle = service_fn(|request: Request| async move {
                        Ok::<_, std::convert::Infallible>(relay.handle(request).await)
                    });
                    let response = Adapter::from(handle)
                        .call(LambdaEvent {
                            payload: handler::guard_body(*request),
                            context: event.context,
                        })
                        .await?;
                    Ok(Answer::Http(response))
                }
            }
        },
    ))
    .await;
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
