//! The API Gateway (HTTP API) event of a signed webhook, received now: what the benches hand the
//! relay. Included by path by `benches/state.rs` and `benches/group.rs`.

use serde_json::{Value, json};

/// `POST /webhooks/<slug>` with `body` and the signing `headers`, as API Gateway delivers it.
pub fn request(slug: &str, headers: Vec<(&str, String)>, body: String) -> lambda_http::Request {
    let headers: serde_json::Map<String, Value> = headers
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), json!(v)))
        .chain([("content-type".to_owned(), json!("application/json"))])
        .collect();
    let now_ms =
        u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap();
    let path = format!("/webhooks/{slug}");
    let event = json!({
        "version": "2.0", "routeKey": "POST /webhooks/{provider}", "rawPath": path,
        "rawQueryString": "", "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.example",
            "domainPrefix": "bench",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "POST /webhooks/{provider}", "stage": "$default",
            "time": "15/Jan/2024:10:30:00 +0000", "timeEpoch": now_ms
        },
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}
