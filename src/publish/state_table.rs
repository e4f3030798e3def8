//! The alert-state table in Amazon DynamoDB: `state::Table`'s four calls as `GetItem` (strongly
//! consistent), conditional `PutItem` and `DeleteItem`, and `Query`, with DynamoDB's errors
//! sorted into the reasons the log line and `state_fallback` carry.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::state::dynamodb::{item_from_sdk, item_to_sdk};
use crate::state::item::{Item, PK, SK, VERSION};
use crate::state::{Expect, Table, TableError, TableFuture};

/// The client's own limits, inside the state stage's 300 ms budget: one retry, short timeouts.
pub fn state_timeouts(
    config: aws_sdk_dynamodb::config::Builder,
) -> aws_sdk_dynamodb::config::Builder {
    config
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(200))
                .operation_attempt_timeout(Duration::from_millis(250))
                .operation_timeout(Duration::from_millis(300))
                .build(),
        )
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(20)),
        )
}

/// `ALERT_STATE_TABLE`, a name or an ARN, through a client built once at cold start (no call is
/// made until the first webhook).
pub struct StateTable {
    client: Client,
    table: String,
}

impl StateTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        StateTable {
            client,
            table: table.into(),
        }
    }
}

/// A write's condition: its expression, the names it uses and its values.
struct Condition {
    expression: &'static str,
    names: HashMap<String, String>,
    values: Option<HashMap<String, AttributeValue>>,
}

fn condition(expect: Expect) -> Condition {
    match expect {
        Expect::Absent => Condition {
            expression: "attribute_not_exists(#pk)",
            names: HashMap::from([("#pk".to_owned(), PK.to_owned())]),
            values: None,
        },
        Expect::Version(v) => Condition {
            expression: "#v = :v",
            names: HashMap::from([("#v".to_owned(), VERSION.to_owned())]),
            values: Some(HashMap::from([(
                ":v".to_owned(),
                AttributeValue::N(v.to_string()),
            )])),
        },
    }
}

/// DynamoDB's error, sorted: a failed condition is a conflict, throttling is throttling, what
/// the service refused is refused, anything else (5xx, no connection, a timeout) unavailable.
fn sorted<E, R>(error: SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or_default().to_owned();
    let text = || {
        let full = DisplayErrorContext(&error).to_string();
        // The context ends with the whole response's Debug: keep the chain of causes only.
        full.split(": Unhandled")
            .next()
            .unwrap_or(&full)
            .chars()
            .take(300)
            .collect::<String>()
    };
    match code.as_str() {
        "ConditionalCheckFailedException" => TableError::Conflict,
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "LimitExceededException" => TableError::Throttled(code),
        "ResourceNotFoundException"
        | "AccessDeniedException"
        | "ValidationException"
        | "UnrecognizedClientException"
        | "MissingAuthenticationTokenException"
        | "ItemCollectionSizeLimitExceededException" => {
            TableError::Refused(format!("{code}: {}", text()))
        }
        _ => match error {
            SdkError::TimeoutError(_) => TableError::Timeout,
            _ => TableError::Unavailable(text()),
        },
    }
}

impl Table for StateTable {
    fn get<'a>(&'a self, pk: &'a str, sk: &'a str) -> TableFuture<'a, Option<Item>> {
        Box::pin(async move {
            let output = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(PK, AttributeValue::S(pk.to_owned()))
                .key(SK, AttributeValue::S(sk.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(sorted)?;
            Ok(output.item.map(item_from_sdk))
        })
    }

    fn put(&self, item: Item, expect: Expect) -> TableFuture<'_, ()> {
        Box::pin(async move {
            let condition = condition(expect);
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_to_sdk(item)))
                .condition_expression(condition.expression)
                .set_expression_attribute_names(Some(condition.names))
                .set_expression_attribute_values(condition.values)
                .send()
                .await
                .map_err(sorted)?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, pk: &'a str, sk: &'a str, expect: Expect) -> TableFuture<'a, ()> {
        Box::pin(async move {
            let condition = condition(expect);
            self.client
                .delete_item()
                .table_name(&self.table)
                .key(PK, AttributeValue::S(pk.to_owned()))
                .key(SK, AttributeValue::S(sk.to_owned()))
                .condition_expression(condition.expression)
                .set_expression_attribute_names(Some(condition.names))
                .set_expression_attribute_values(condition.values)
                .send()
                .await
                .map_err(sorted)?;
            Ok(())
        })
    }

    fn query<'a>(&'a self, pk: &'a str) -> TableFuture<'a, Vec<Item>> {
        Box::pin(async move {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(sorted)?;
                items.extend(
                    output
                        .items
                        .unwrap_or_default()
                        .into_iter()
                        .map(item_from_sdk),
                );
                match output.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => return Ok(items),
                }
            }
        })
    }
}
