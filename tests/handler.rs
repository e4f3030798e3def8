//! The contract's response table, row by row, for every provider, through `lambda_http` with a
//! recording publisher.

mod common;

use alert_relay::Secret;
use alert_relay::providers::ProviderConfig;
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::{Value, json};

fn signed(provider: Provider, secret_index: usize) -> Http {
    Http::signed(
        provider,
        SECRETS[secret_index],
        seed(provider),
        SignedForm::Raw,
    )
}

#[tokio::test]
async fn publishes_a_signed_alert_from_every_provider() {
    for provider in Provider::ALL {
        let (relay, recording) = relay();
        let (status, body) = send(&relay, &signed(provider, 0).v2()).await;
        assert_eq!(status, 200, "{provider:?}: {body}");
        assert_eq!(body["status"], "published");
        let messages = recording.messages();
        assert_eq!(messages.len(), seed_alerts(provider), "{provider:?}");
        let seed: Value = serde_json::from_str(seed(provider)).unwrap();
        // The raw payload as received: the body, or each alert of a group its own object.
        let raws = match provider.sends_groups() {
            true => seed["alerts"].as_array().unwrap().clone(),
            false => {
                assert_eq!(body["message_id"], "msg-1");
                vec![seed]
            }
        };
        let ids: Vec<String> = messages.iter().map(|m| m.event_id.clone()).collect();
        assert_eq!(answered_ids(&body), ids);
        for (message, raw) in messages.iter().zip(raws) {
            let event: Value = serde_json::from_str(&message.body).unwrap();
            assert_eq!(event["source"], format!("/webhooks/{}", provider.slug()));
            assert_eq!(event["data"]["provider"], provider.slug());
            assert_eq!(event["data"]["raw"], raw, "raw is the payload as received");
            assert!(!event["data"]["title"].as_str().unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn atlas_event_matches_the_contract_example() {
    let (relay, recording) = relay();
    let (status, _) = send(&relay, &signed(Provider::Atlas, 0).v2()).await;
    assert_eq!(status, 200);
    let message = &recording.messages()[0];
    let event: Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(event["type"], "alert.open");
    assert_eq!(event["subject"], "5d1b6f8e8c2e4e2d3c4a5b6c");
    assert_eq!(event["time"], "2024-01-15T10:30:00Z");
    assert_eq!(event["datacontenttype"], "application/json");
    let data = &event["data"];
    assert_eq!(data["dedup_key"], "atlas:5d1b6f8e8c2e4e2d3c4a5b6c");
    assert_eq!(data["status"], "open");
    // Atlas sends no severity; the default rules make a metric threshold a warning.
    assert_eq!(data["severity"], "warning");
    assert_eq!(data["severity_source"], "default-rule 3");
    assert_eq!(data["event_type"], "OUTSIDE_METRIC_THRESHOLD");
    assert_eq!(data["title"], "Disk space used on data partition is 95.2%.");
    assert_eq!(data["resource"]["project"], "MyProject");
    assert_eq!(data["resource"]["value"], json!(95.2));
    assert_eq!(
        data["url"],
        "https://cloud.mongodb.com/v2/5d1b6f8e8c2e4e2d3c4a5b6d#/alerts"
    );
    assert_eq!(
        message.subject,
        "[warning] atlas open: Disk space used on data partition is 95.2%."
    );
    let attributes: Vec<(&str, &str)> = message
        .attributes
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    assert_eq!(
        attributes,
        [
            ("provider", "atlas"),
            ("status", "open"),
            ("severity", "warning"),
            ("event_type", "OUTSIDE_METRIC_THRESHOLD"),
            ("project", "MyProject")
        ]
    );
}

#[tokio::test]
async fn accepts_the_rotated_second_secret() {
    for provider in Provider::ALL {
        let (relay, recording) = relay();
        let (status, _) = send(&relay, &signed(provider, 1).v2()).await;
        assert_eq!(status, 200, "{provider:?}");
        assert_eq!(recording.messages().len(), seed_alerts(provider));
    }
}

#[tokio::test]
async fn accepts_rest_api_events_with_a_stage_and_base64_body() {
    for provider in Provider::ALL {
        let (relay, _) = relay();
        let (status, body) = send(&relay, &signed(provider, 0).rest("prod", true)).await;
        assert_eq!(status, 200, "{provider:?}: {body}");
        let (status, _) = send(&relay, &signed(provider, 0).rest("prod", false)).await;
        assert_eq!(status, 200, "{provider:?}");
    }
}

#[tokio::test]
async fn routes_on_the_raw_path_with_prefixes_and_trailing_slashes() {
    for provider in Provider::ALL {
        for path in [
            format!("/webhooks/{}/", provider.slug()),
            format!("/lambda-url/alert-relay/webhooks/{}", provider.slug()),
            format!("/prod/webhooks/{}", provider.slug()),
        ] {
            let (relay, _) = relay();
            let mut request = signed(provider, 0);
            request.path = path.clone();
            let (status, _) = send(&relay, &request.v2()).await;
            assert_eq!(status, 200, "{path}");
            let (status, _) = send(&relay, &request.v2_base64()).await;
            assert_eq!(status, 200, "{path} base64");
        }
    }
}

#[tokio::test]
async fn monte_carlo_accepts_the_documented_form() {
    for seed in [MC_VOLUME_SEED, MC_RULE_SEED] {
        let (relay, recording) = relay();
        let request = Http::signed(
            Provider::MonteCarlo,
            SECRETS[1],
            seed,
            SignedForm::Documented,
        );
        let (status, body) = send(&relay, &request.v2()).await;
        assert_eq!(status, 200, "{body}");
        let event: Value = serde_json::from_str(&recording.messages()[0].body).unwrap();
        assert_eq!(
            event["data"]["alert_id"],
            "f83867b6-8f25-428b-807c-08518f63384c"
        );
        assert_eq!(event["type"], "alert.open");
    }
}

#[tokio::test]
async fn unknown_and_disabled_providers_are_404() {
    let (relay, recording) = relay();
    for path in [
        "/webhooks/pagerduty",
        "/webhooks",
        "/",
        "/hooks/atlas",
        "/webhooks/ATLAS",
        "/webhooks/%61tlas",
        "/webhooks/atlas/../app-services",
        "/webhooks/atlas/extra",
    ] {
        let mut request = signed(Provider::Atlas, 0);
        request.path = path.into();
        let (status, body) = send(&relay, &request.v2()).await;
        assert_eq!(
            (status, body),
            (404, json!({"error": "unknown_provider"})),
            "{path}"
        );
    }
    let vars: Vec<_> = config_vars()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("ATLAS"))
        .collect();
    let disabled = quiet(config_from(&vars), recording.clone());
    let (status, _) = send(&disabled, &signed(Provider::Atlas, 0).v2()).await;
    assert_eq!(status, 404);
    assert!(recording.messages().is_empty());
}

#[tokio::test]
async fn other_methods_are_405_with_allow_post() {
    for provider in Provider::ALL {
        for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            let (relay, recording) = relay();
            let response = relay
                .handle(request(&signed(provider, 0).method(method).v2()))
                .await;
            assert_eq!(response.headers()["allow"], "POST");
            assert_eq!(
                parts(response),
                (405, json!({"error": "method_not_allowed"})),
                "{method}"
            );
            assert!(recording.messages().is_empty());
        }
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut vars = config_vars();
    vars.push(("MAX_BODY_BYTES".into(), "1024".into()));
    for provider in Provider::ALL {
        let recording = Recording::default();
        let relay = quiet(config_from(&vars), recording.clone());
        // A group's sender: one alert, padded.
        let open = match provider.sends_groups() {
            true => r#"{"alerts":[{}],"pad":""#,
            false => r#"{"pad":""#,
        };
        let body = format!(r#"{open}{}"}}"#, "x".repeat(1024 - open.len() - 2));
        assert_eq!(body.len(), 1024);
        let at_limit = Http::signed(provider, SECRETS[0], &body, SignedForm::Raw);
        assert_eq!(
            send(&relay, &at_limit.v2()).await.0,
            200,
            "{provider:?} at the limit"
        );
        let over = format!(r#"{open}{}"}}"#, "x".repeat(1024 - open.len() - 1));
        let over = Http::signed(provider, SECRETS[0], &over, SignedForm::Raw);
        assert_eq!(
            send(&relay, &over.v2()).await,
            (413, json!({"error": "payload_too_large"}))
        );
        // Size is checked before authentication: an unsigned oversized body is 413, not 401.
        let unsigned = Http::post(&format!("/webhooks/{}", provider.slug()), "x".repeat(2000));
        assert_eq!(send(&relay, &unsigned.v2_base64()).await.0, 413);
        assert_eq!(recording.messages().len(), 1);
    }
}

#[tokio::test]
async fn missing_signatures_are_401() {
    for provider in Provider::ALL {
        let (relay, recording) = relay();
        let request = Http::post(&format!("/webhooks/{}", provider.slug()), seed(provider));
        assert_eq!(
            send(&relay, &request.v2()).await,
            (401, json!({"error": "missing_signature"}))
        );
        assert!(recording.messages().is_empty());
    }
}

#[tokio::test]
async fn forged_signatures_are_401() {
    for provider in Provider::ALL {
        let good = signature(
            provider,
            SECRETS[0],
            seed(provider).as_bytes(),
            SignedForm::Raw,
        );
        let other_body = signature(provider, SECRETS[0], b"{}", SignedForm::Raw);
        let wrong_secret = signature(
            provider,
            "not-the-secret",
            seed(provider).as_bytes(),
            SignedForm::Raw,
        );
        let mut forged = vec![
            ("empty", String::new()),
            ("whitespace", "   ".into()),
            ("truncated", good[..good.len() - 2].to_owned()),
            ("over-long", format!("{good}{}", "a".repeat(100_000))),
            ("wrong secret", wrong_secret),
            ("garbage", "not a signature".into()),
        ];
        // A bearer token or basic credentials cover no body: only a signature differs with it.
        if provider.spec().forms.iter().any(|f| f.is_signature()) {
            forged.push(("other body", other_body));
        }
        for other in Provider::ALL.into_iter().filter(|p| *p != provider) {
            let scheme = signature(
                other,
                SECRETS[0],
                seed(provider).as_bytes(),
                SignedForm::Raw,
            );
            forged.push(("another provider's scheme", scheme));
        }
        if provider == Provider::AppServices {
            forged.push((
                "missing prefix",
                good.trim_start_matches("sha256=").to_owned(),
            ));
            forged.push(("wrong prefix", good.replace("sha256=", "sha512=")));
        }
        for (name, signature) in forged {
            let (relay, recording) = relay();
            let request = Http::post(&format!("/webhooks/{}", provider.slug()), seed(provider));
            let request = with_companions(request, provider, seed(provider).as_bytes())
                .header(provider.signature_header(), &signature);
            let (status, body) = send(&relay, &request.v2()).await;
            assert_eq!(status, 401, "{provider:?} {name}");
            assert!(
                body == json!({"error": "invalid_signature"})
                    || body == json!({"error": "missing_signature"}),
                "{name}"
            );
            assert!(
                recording.messages().is_empty(),
                "{provider:?} {name} was published"
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_body_is_401() {
    for provider in Provider::ALL {
        let (relay, recording) = relay();
        let mut request = signed(provider, 0);
        request.body = seed(provider).replacen('"', " \"", 1).into_bytes();
        let response = send(&relay, &request.v2()).await;
        if provider.spec().forms.iter().any(|f| f.is_signature()) {
            assert_eq!(response, (401, json!({"error": "invalid_signature"})));
            assert!(recording.messages().is_empty());
        } else {
            // A bearer token or basic credentials cover no body (docs/alertmanager.md).
            assert_eq!(response.0, 200, "{provider:?}");
        }
    }
}

#[tokio::test]
async fn authenticated_non_objects_are_400() {
    for provider in Provider::ALL {
        for body in ["[1,2]", "\"text\"", "42", "null", "{\"a\":", "not json", ""] {
            let (relay, recording) = relay();
            let request = Http::signed(provider, SECRETS[0], body, SignedForm::Raw);
            assert_eq!(
                send(&relay, &request.v2_base64()).await,
                (400, json!({"error": "malformed_payload"})),
                "{body}"
            );
            assert!(recording.messages().is_empty());
        }
    }
}

#[tokio::test]
async fn unauthenticated_garbage_is_401_not_400() {
    let (relay, _) = relay();
    let request = Http::post("/webhooks/atlas", "not json").header("X-MMS-Signature", "AAAA");
    assert_eq!(send(&relay, &request.v2()).await.0, 401);
}

#[tokio::test]
async fn publish_failures_are_502_so_the_provider_retries() {
    for provider in Provider::ALL {
        let relay = quiet(config(), Failing);
        let (status, body) = send(&relay, &signed(provider, 0).v2()).await;
        assert_eq!((status, &body["error"]), (502, &json!("publish_failed")));
        // A group's answer says which alerts failed: every one here.
        for event in body["events"].as_array().into_iter().flatten() {
            assert_eq!(event["status"], "failed", "{provider:?}");
        }
    }
}

#[tokio::test]
async fn query_secrets_work_only_where_enabled() {
    let (relay, recording) = relay();
    let body = APP_SERVICES_SEED;
    for name in ["secret", "token"] {
        let request =
            Http::post("/webhooks/app-services", body).query(&format!("{name}={QUERY_SECRET}"));
        assert_eq!(send(&relay, &request.v2()).await.0, 200, "{name}");
        assert_eq!(
            send(&relay, &request.rest("prod", false)).await.0,
            200,
            "{name} rest"
        );
    }
    let wrong = Http::post("/webhooks/app-services", body).query("secret=guess");
    assert_eq!(
        send(&relay, &wrong.v2()).await,
        (401, json!({"error": "invalid_signature"}))
    );
    let empty = Http::post("/webhooks/app-services", body).query("secret=");
    assert_eq!(send(&relay, &empty.v2()).await.0, 401);
    let twice = Http::post("/webhooks/app-services", body)
        .query(&format!("secret={QUERY_SECRET}&secret=guess"));
    assert_eq!(send(&relay, &twice.v2()).await.0, 401);
    let both = Http::post("/webhooks/app-services", body)
        .query(&format!("secret={QUERY_SECRET}&token={QUERY_SECRET}"));
    assert_eq!(send(&relay, &both.v2()).await.0, 401);
    // Atlas has no query secrets configured: the parameter is not a credential there.
    let atlas = Http::post("/webhooks/atlas", ATLAS_SEED).query(&format!("secret={}", SECRETS[0]));
    assert_eq!(
        send(&relay, &atlas.v2()).await,
        (401, json!({"error": "missing_signature"}))
    );
    // A wrong signature header is not rescued by a right query secret.
    let mixed = Http::post("/webhooks/app-services", body)
        .query(&format!("secret={QUERY_SECRET}"))
        .header("X-Hook-Signature", "sha256=00");
    assert_eq!(send(&relay, &mixed.v2()).await.0, 401);
    assert_eq!(recording.messages().len(), 4);
}

#[tokio::test]
async fn unsigned_requests_only_with_explicit_opt_in() {
    for provider in Provider::ALL {
        let settings = ProviderConfig {
            allow_unsigned: true,
            ..Default::default()
        };
        let recording = Recording::default();
        let relay = quiet(
            config().with_provider(provider, settings),
            recording.clone(),
        );
        let unsigned = Http::post(&format!("/webhooks/{}", provider.slug()), seed(provider));
        assert_eq!(send(&relay, &unsigned.v2()).await.0, 200, "{provider:?}");
        let wrong = unsigned.clone().header(provider.signature_header(), "bad");
        assert_eq!(
            send(&relay, &wrong.v2()).await.0,
            401,
            "{provider:?} wrong signature still rejected"
        );
        assert_eq!(recording.messages().len(), seed_alerts(provider));
    }
}

#[tokio::test]
async fn app_services_published_vector_passes() {
    let settings = ProviderConfig {
        webhook_secrets: vec![Secret::new("12345")],
        ..Default::default()
    };
    let (relay, recording) = {
        let recording = Recording::default();
        (
            quiet(
                config().with_provider(Provider::AppServices, settings),
                recording.clone(),
            ),
            recording,
        )
    };
    let request = Http::post("/webhooks/app-services", APP_SERVICES_SEED).header(
        "X-Hook-Signature",
        "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862",
    );
    assert_eq!(send(&relay, &request.v2()).await.0, 200);
    let event: Value = serde_json::from_str(&recording.messages()[0].body).unwrap();
    assert_eq!(event["data"]["title"], "MESSAGE");
}

#[tokio::test]
async fn checks_run_in_the_contract_order() {
    let (relay, _) = relay();
    // route before method
    assert_eq!(
        send(
            &relay,
            &Http::post("/webhooks/nope", "{}").method("GET").v2()
        )
        .await
        .0,
        404
    );
    // method before size
    let mut vars = config_vars();
    vars.push(("MAX_BODY_BYTES".into(), "4".into()));
    let small = quiet(config_from(&vars), Recording::default());
    assert_eq!(
        send(
            &small,
            &Http::post("/webhooks/atlas", "{\"a\":1}")
                .method("PUT")
                .v2()
        )
        .await
        .0,
        405
    );
    // size before authentication
    assert_eq!(
        send(&small, &Http::post("/webhooks/atlas", "{\"a\":1}").v2())
            .await
            .0,
        413
    );
    // authentication before parsing
    assert_eq!(
        send(&relay, &Http::post("/webhooks/atlas", "[]").v2())
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn redelivery_keeps_event_id() {
    let (relay, recording) = relay();
    let first = send(&relay, &signed(Provider::MonteCarlo, 0).v2()).await.1;
    let again = send(&relay, &signed(Provider::MonteCarlo, 0).rest("prod", true))
        .await
        .1;
    assert_eq!(first["event_id"], again["event_id"]);
    assert_ne!(first["message_id"], again["message_id"]);
    assert_eq!(recording.messages().len(), 2);
}

#[tokio::test]
async fn fifo_topics_get_group_and_deduplication_ids() {
    let mut vars = config_vars();
    vars[0].1 = FIFO_TOPIC.into();
    let recording = Recording::default();
    let relay = quiet(config_from(&vars), recording.clone());
    let (status, body) = send(&relay, &signed(Provider::MonteCarlo, 0).v2()).await;
    assert_eq!(status, 200);
    let fifo = recording.messages()[0].fifo.clone().unwrap();
    assert_eq!(
        fifo.group_id,
        "monte-carlo:f83867b6-8f25-428b-807c-08518f63384c"
    );
    assert_eq!(fifo.deduplication_id, body["event_id"]);
}
