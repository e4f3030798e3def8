//! Monte Carlo's documented form on any JSON the parser accepts: never panics, always ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut out = String::new();
    alert_relay::pyform::python_str(&value, &mut out);
    if let Value::Object(object) = &value {
        let encoded = alert_relay::pyform::urlencode(object);
        assert!(encoded.is_ascii());
    }
});
