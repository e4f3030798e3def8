//! One provider's whole request path short of publishing: authenticate arbitrary headers and
//! bodies, and normalize whatever authenticates into the SNS message. The first byte picks the
//! provider and whether the body is correctly signed; a forged request must never pass.
#![no_main]

use alert_relay::providers::ProviderConfig;
use alert_relay::event::Event;
use alert_relay::format::Format;
use alert_relay::providers::{Inbound, Provider, SignedForm};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-secret";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let providers = Provider::ALL.len();
    let provider = Provider::ALL[usize::from(selector) % providers];
    let mode = (usize::from(selector) / providers) % 3;
    // Modes: 0 = correctly signed in the provider's first form, 1 = in its last (Monte Carlo's
    // documented form, Grafana's timestamped one), 2 = arbitrary header text.
    let (signing, body) = match mode {
        2 => {
            let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..split]).into_owned();
            (vec![(provider.signature_header(), header)], rest.get(split + 1..).unwrap_or_default())
        }
        _ => {
            let forms = provider.spec().forms;
            let form: SignedForm = if mode == 1 { forms[forms.len() - 1] } else { forms[0] };
            match provider.sign_body(SECRET.as_bytes(), rest, form) {
                Ok(signing) => (signing, rest),
                Err(_) => return,
            }
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in signing {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert("X-MMS-Event", HeaderValue::from_static("alert.update"));
    // The key as the provider's variable holds it (Alertmanager's: `Bearer <token>`).
    let form = provider.spec().secrets;
    let Ok(key) = form.read(&form.write(SECRET.as_bytes())) else {
        return;
    };
    let settings = ProviderConfig { webhook_secrets: vec![key], ..Default::default() };
    let verified = provider.authenticate(&settings, Inbound { headers: &headers, query_secrets: &[], body, received_at: time::OffsetDateTime::now_utc().unix_timestamp() });
    match verified {
        Err(_) => assert!(mode == 2, "a correctly signed body was rejected"),
        Ok(_) if mode == 2 => panic!("a request with an arbitrary signature header passed"),
        Ok(verified) => {
            for alert in provider.normalize(verified).unwrap_or_default() {
                let event = Event::new(provider, alert, alert_relay::alert::SeveritySource::Provider, body, time::OffsetDateTime::UNIX_EPOCH)
                    .expect("an authenticated object always makes an event");
                assert!(event.subject.len() <= 99);
                for format in Format::ALL {
                    format.render(&event).expect("every format renders an event");
                }
            }
        }
    }
});
