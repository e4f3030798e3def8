//! Differential test of `alert_relay::pyform::urlencode` against CPython's
//! `urllib.parse.urlencode(json.loads(text))`.
//!
//! A fixed-seed PRNG builds random JSON objects as *text* (so duplicate keys, escape spellings and
//! number literals are exactly controlled), every text is parsed with `serde_json` and encoded
//! with `pyform::urlencode`, and all texts go to `python3 tests/pyform_oracle.py` in one batch.
//! The outputs must be byte-for-byte equal. `python3` missing is a test failure, not a skip.
//! The slow tier: built only with the `oracles` feature (`make oracles`).
//!
//! Known, documented limits (deliberately not generated):
//! * lone surrogates such as `"\ud800"` alone: `json.loads` accepts them, `serde_json` rejects
//!   them, so such bodies never reach `pyform`;
//! * `NaN`/`Infinity` literals (accepted by `json.loads` only);
//! * integer literals longer than 4300 digits (CPython 3.11 raises `ValueError`);
//! * nesting deeper than `serde_json`'s limit of 128.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alert_relay::pyform;
use serde_json::{Map, Value};

const SEED: u64 = 0x5eed_a1e7_7e1a_9f0b;
const RANDOM_OBJECTS: usize = 12_000;
/// Extra objects that each hold a list of floats chosen to stress `repr(float)`.
const FLOAT_OBJECTS: usize = 2_000;
const FLOATS_PER_OBJECT: usize = 64;
const MIN_COMPARED: usize = 10_000;
const MAX_DEPTH: u32 = 5;

/// splitmix64: tiny, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn range(&mut self, lo: u32, hi_inclusive: u32) -> u32 {
        lo + self.below(u64::from(hi_inclusive - lo) + 1) as u32
    }

    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Characters that `str.isprintable()` calls non-printable although they are assigned and not
/// controls (`Cf`), plus separators (`Zl`, `Zp`).
const FORMAT_CHARS: &[u32] = &[
    0x00AD, 0x0600, 0x061C, 0x06DD, 0x070F, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A,
    0x202E, 0x2028, 0x2029, 0x2060, 0x2064, 0x2066, 0x206F, 0xFEFF, 0xFFF9, 0xFFFB, 0x110BD,
    0x1BCA0, 0x1D173, 0xE0001, 0xE0020, 0xE007F,
];

/// Unassigned in Unicode 14.0 (CPython 3.11), some of them assigned in later Unicode versions
/// (U+0CF3, U+11F00, U+1F6DC, U+31350 are Unicode 15.0), plus noncharacters (also `Cn`).
const UNASSIGNED: &[u32] = &[
    0x0378, 0x0379, 0x0380, 0x0383, 0x058B, 0x0CF3, 0x2FE0, 0x2FEF, 0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF,
    0x11F00, 0x1F6DC, 0x1FFFE, 0x2FFFF, 0x31350, 0xE0000, 0xE0002, 0xE0080, 0xE00FF, 0xE01F0,
    0xEFFFD, 0xEFFFF, 0x10FFFE, 0x10FFFF,
];

/// Space separators other than the ASCII space (all non-printable for CPython).
const SPACES: &[u32] = &[
    0x00A0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2005, 0x2009, 0x200A, 0x202F, 0x205F, 0x3000,
];

/// Printable non-ASCII characters of several kinds (letters, marks, symbols, astral).
const PRINTABLE: &[u32] = &[
    0x00E9, 0x00DF, 0x0301, 0x0308, 0x20DD, 0x0E31, 0x094D, 0x0903, 0x05D0, 0x0627, 0x4E2D, 0x20AC,
    0x2603, 0xFF21, 0xFFFD, 0xFB01, 0x1F600, 0x1F44D, 0x1F3FD, 0x1D400, 0x1D7FF, 0x20000, 0x2A6DF,
    0x30000, 0x10400, 0xE0100,
];

fn scalar(cp: u32) -> char {
    char::from_u32(cp).unwrap_or('\u{FFFD}')
}

/// A random Unicode scalar value (never a surrogate) from a mix of interesting pools.
fn random_char(rng: &mut Rng) -> char {
    match rng.below(100) {
        0..=34 => scalar(rng.range(0x20, 0x7E)),
        35..=44 => rng.pick(&['\'', '"', '\\', ' ', '%', '+', '&', '=', '/', '~', '.', ':']),
        45..=49 => scalar(if rng.chance(1, 6) {
            0x7F
        } else {
            rng.range(0x00, 0x1F)
        }),
        50..=55 => scalar(rng.range(0xA0, 0xFF)),
        56..=58 => scalar(rng.range(0x80, 0x9F)),
        59..=63 => scalar(rng.pick(FORMAT_CHARS)),
        64..=67 => scalar(rng.range(0x0300, 0x036F)),
        68..=71 => scalar(rng.pick(UNASSIGNED)),
        72..=73 => scalar(rng.range(0xE0080, 0xE00FF)),
        74..=76 => scalar(match rng.below(3) {
            0 => rng.range(0xE000, 0xF8FF),
            1 => rng.range(0xF0000, 0xFFFFD),
            _ => rng.range(0x100000, 0x10FFFD),
        }),
        77..=81 => scalar(rng.pick(PRINTABLE)),
        82..=84 => scalar(rng.pick(SPACES)),
        85..=92 => loop {
            // Anywhere in the BMP except surrogates.
            if let Some(c) = char::from_u32(rng.range(0x80, 0xFFFF)) {
                break c;
            }
        },
        _ => loop {
            // Anywhere at all except surrogates.
            if let Some(c) = char::from_u32(rng.range(0x80, 0x10FFFF)) {
                break c;
            }
        },
    }
}

fn random_string(rng: &mut Rng) -> String {
    let len = match rng.below(10) {
        0 => 0,
        1..=7 => rng.range(1, 12),
        _ => rng.range(13, 48),
    };
    // Sometimes a plain identifier-like key/value, as real payloads mostly are.
    if rng.chance(1, 4) {
        return (0..len)
            .map(|_| {
                rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. ")
            })
            .map(char::from)
            .collect();
    }
    (0..len).map(|_| random_char(rng)).collect()
}

fn push_u_escape(rng: &mut Rng, unit: u32, out: &mut String) {
    if rng.chance(1, 2) {
        write!(out, "\\u{unit:04x}").unwrap();
    } else {
        write!(out, "\\u{unit:04X}").unwrap();
    }
}

/// Writes `s` as a JSON string literal, choosing randomly among valid spellings of each char.
fn push_json_string(rng: &mut Rng, s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let cp = u32::from(c);
        let escape_anyway = rng.chance(1, 8);
        match c {
            '"' if !escape_anyway => out.push_str("\\\""),
            '\\' if !escape_anyway => out.push_str("\\\\"),
            '/' if escape_anyway => out.push_str("\\/"),
            '\u{08}' if !escape_anyway => out.push_str("\\b"),
            '\u{0C}' if !escape_anyway => out.push_str("\\f"),
            '\n' if !escape_anyway => out.push_str("\\n"),
            '\r' if !escape_anyway => out.push_str("\\r"),
            '\t' if !escape_anyway => out.push_str("\\t"),
            _ if cp < 0x20 || cp == 0x22 || cp == 0x5C || escape_anyway => {
                if cp >= 0x10000 {
                    let v = cp - 0x10000;
                    push_u_escape(rng, 0xD800 + (v >> 10), out);
                    push_u_escape(rng, 0xDC00 + (v & 0x3FF), out);
                } else {
                    push_u_escape(rng, cp, out);
                }
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

fn push_ws(rng: &mut Rng, out: &mut String) {
    if rng.chance(1, 4) {
        for _ in 0..rng.range(1, 3) {
            out.push(rng.pick(&[' ', ' ', '\t', '\r']));
        }
    }
}

fn push_digits(rng: &mut Rng, count: u32, leading_nonzero: bool, out: &mut String) {
    for i in 0..count {
        let lo = if i == 0 && leading_nonzero { 1 } else { 0 };
        out.push(char::from(b'0' + rng.range(lo, 9) as u8));
    }
}

fn push_int(rng: &mut Rng, out: &mut String) {
    match rng.below(12) {
        0 => out.push_str(rng.pick(&["0", "-0", "1", "-1"])),
        1 => out.push_str(rng.pick(&[
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551616",
            "340282366920938463463374607431768211456",
        ])),
        2..=5 => write!(out, "{}", rng.next_u64() as i64 % 100_000).unwrap(),
        6..=7 => write!(out, "{}", rng.next_u64() as i64).unwrap(),
        8 => write!(out, "{}", rng.next_u64()).unwrap(),
        9..=10 => {
            if rng.chance(1, 2) {
                out.push('-');
            }
            let len = rng.range(19, 60);
            push_digits(rng, len, true, out);
        }
        _ => {
            if rng.chance(1, 2) {
                out.push('-');
            }
            let len = rng.range(300, 450);
            push_digits(rng, len, true, out);
        }
    }
}

const FLOAT_LITERALS: &[&str] = &[
    "0.0",
    "-0.0",
    "0e0",
    "-0E+0",
    "1e-5",
    "1E-5",
    "1e-4",
    "1E+16",
    "1e16",
    "1e15",
    "0.1",
    "0.2",
    "0.30000000000000004",
    "5e-324",
    "-5e-324",
    "2e-324",
    "3e-324",
    "4.9406564584124654e-324",
    "2.2250738585072014e-308",
    "2.225073858507201e-308",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1.7976931348623159e308",
    "1e308",
    "1e309",
    "1e400",
    "-1e400",
    "1e-400",
    "-1e-400",
    "123456789012345678.0",
    "1234567890123456.0",
    "12345678901234567.0",
    "9007199254740993.0",
    "49.0",
    "0.0001",
    "0.00001",
    "100.0e-2",
    "1e005",
    "1.5e300",
    "-1.5E-300",
    "1e22",
    "1e23",
    "8.41e21",
    "5e-05",
    "9.999999999999999e15",
    "9999999999999999.0",
    "0.000099999999999999",
];

fn push_float(rng: &mut Rng, out: &mut String) {
    match rng.below(10) {
        0..=1 => out.push_str(rng.pick(FLOAT_LITERALS)),
        2..=3 => {
            // Random bits: every kind of double, including subnormals (never NaN/inf).
            let x = loop {
                let x = f64::from_bits(rng.next_u64());
                if x.is_finite() {
                    break x;
                }
            };
            match rng.below(3) {
                0 => write!(out, "{x:e}").unwrap(),
                1 => write!(out, "{x:?}").unwrap(),
                _ => write!(out, "{x:.16e}").unwrap(),
            }
        }
        4 => {
            // Doubles of moderate magnitude, where fixed notation is used.
            let x = (rng.next_u64() >> 11) as f64 / (1u64 << rng.range(0, 60)) as f64;
            let x = if rng.chance(1, 2) { -x } else { x };
            match rng.below(3) {
                0 => write!(out, "{x:?}").unwrap(),
                1 => write!(out, "{x:e}").unwrap(),
                _ => write!(out, "{x:.17e}").unwrap(),
            }
        }
        _ => {
            // Random literal shapes: [-] int [. frac] [e|E [+|-] exp], with frac or exp.
            if rng.chance(1, 3) {
                out.push('-');
            }
            if rng.chance(1, 3) {
                out.push('0');
            } else {
                let len = if rng.chance(1, 8) {
                    rng.range(18, 40)
                } else {
                    rng.range(1, 17)
                };
                push_digits(rng, len, true, out);
            }
            let frac = rng.chance(2, 3);
            let exp = !frac || rng.chance(1, 2);
            if frac {
                out.push('.');
                let len = if rng.chance(1, 8) {
                    rng.range(18, 40)
                } else {
                    rng.range(1, 17)
                };
                push_digits(rng, len, false, out);
            }
            if exp {
                out.push(rng.pick(&['e', 'E']));
                match rng.below(3) {
                    0 => {}
                    1 => out.push('+'),
                    _ => out.push('-'),
                }
                if rng.chance(1, 10) {
                    out.push('0');
                }
                let e = match rng.below(10) {
                    0..=5 => rng.range(0, 25),
                    6..=8 => rng.range(0, 330),
                    _ => rng.range(300, 420),
                };
                write!(out, "{e}").unwrap();
            }
        }
    }
}

/// A double chosen to stress shortest-repr edge cases: ties between two shortest candidates
/// (short dyadic fractions), power-of-two boundaries, subnormals, large integers, powers of ten.
fn stress_float(rng: &mut Rng) -> f64 {
    let x = match rng.below(8) {
        0 => {
            // Few significant bits, scaled: exact decimal is short, so ties are likely.
            let bits = rng.range(1, 53);
            let m = (rng.next_u64() >> (64 - bits)) | 1;
            m as f64 * 2f64.powi(-(rng.range(0, 64) as i32))
        }
        1 => {
            // Large integer part plus a short binary fraction.
            let int = (rng.next_u64() >> rng.range(11, 40)) as f64;
            int + f64::from(rng.range(0, 15)) / 16.0
        }
        2 => {
            // Powers of two and their neighbours, across the whole range.
            let p = f64::from_bits(u64::from(rng.range(1, 2046)) << 52);
            match rng.below(3) {
                0 => p,
                1 => f64::from_bits(p.to_bits() + 1),
                _ => f64::from_bits(p.to_bits() - 1),
            }
        }
        3 => f64::from_bits(rng.next_u64() >> 12), // subnormal (or zero)
        4 => (rng.next_u64() as u128 * u128::from(rng.range(1, 1 << 20))) as f64,
        5 => {
            let p: f64 = format!("1e{}", rng.range(0, 640) as i32 - 320)
                .parse()
                .unwrap();
            f64::from_bits((p.to_bits() as i64 + i64::from(rng.range(0, 4)) - 2) as u64)
        }
        _ => f64::from_bits(rng.next_u64()),
    };
    if x.is_finite() { x } else { 1.0 }
}

fn push_float_stress_object(rng: &mut Rng, out: &mut String) {
    out.push_str("{\"floats\": [");
    for i in 0..FLOATS_PER_OBJECT {
        if i > 0 {
            out.push_str(", ");
        }
        let x = stress_float(rng);
        let x = if rng.chance(1, 4) { -x } else { x };
        // Any literal that round-trips is parsed to the same double by both sides.
        match rng.below(3) {
            0 => write!(out, "{x:e}").unwrap(),
            1 => write!(out, "{x:?}").unwrap(),
            _ => write!(out, "{x:.25e}").unwrap(),
        }
    }
    out.push_str("]}");
}

fn push_value(rng: &mut Rng, depth: u32, out: &mut String) {
    let containers = depth < MAX_DEPTH;
    match rng.below(if containers { 100 } else { 70 }) {
        0..=27 => {
            let s = random_string(rng);
            push_json_string(rng, &s, out);
        }
        28..=39 => push_int(rng, out),
        40..=57 => push_float(rng, out),
        58..=69 => out.push_str(rng.pick(&["true", "false", "null"])),
        70..=84 => push_object(rng, depth + 1, out),
        _ => push_array(rng, depth + 1, out),
    }
}

fn push_array(rng: &mut Rng, depth: u32, out: &mut String) {
    out.push('[');
    push_ws(rng, out);
    let n = rng.below(if depth <= 2 { 6 } else { 4 });
    for i in 0..n {
        if i > 0 {
            out.push(',');
            push_ws(rng, out);
        }
        push_value(rng, depth, out);
        push_ws(rng, out);
    }
    out.push(']');
}

fn push_object(rng: &mut Rng, depth: u32, out: &mut String) {
    out.push('{');
    push_ws(rng, out);
    let n = if depth == 0 {
        rng.range(0, 9)
    } else {
        rng.range(0, if depth <= 2 { 5 } else { 3 })
    };
    let mut keys: Vec<String> = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push(',');
            push_ws(rng, out);
        }
        // Duplicate keys: Python keeps the first key's position and the last value.
        let key = if !keys.is_empty() && rng.chance(1, 6) {
            keys[rng.below(keys.len() as u64) as usize].clone()
        } else {
            random_string(rng)
        };
        push_json_string(rng, &key, out);
        keys.push(key);
        push_ws(rng, out);
        out.push(':');
        push_ws(rng, out);
        push_value(rng, depth, out);
        push_ws(rng, out);
    }
    out.push('}');
}

/// Hand-written cases that must be present regardless of the PRNG.
const FIXED_CASES: &[&str] = &[
    r#"{}"#,
    r#"{"a": "b"}"#,
    r#"{"a b": "x/y z", "n": [1, "it's", "a\"b", "'\"", "\u00ad\u0378\ue000\ud83d\ude00\\"]}"#,
    r#"{"k": 1, "k": 2, "j": 3, "\u006b": 4}"#,
    r#"{"d": {"x": 1, "y": 2, "x": {"z": [], "z": {}}}}"#,
    r#"{"i": -0, "f": -0.0, "big": 123456789012345678901234567890, "e": 1E+16, "t": 1e-5}"#,
    r#"{"inf": 1e400, "ninf": -1e400, "tiny": 5e-324, "max": 1.7976931348623157e308}"#,
    r#"{"b": [true, false, null], "s": "\t\n\r\b\f\u0000\u001f\u007f\u0085\u00a0\u3000"}"#,
    r#"{"\u2028\u2029\u200b\ufeff": ["\u2028\u2029\u200b\ufeff", "\udb40\udc80", "\udbc0\udc00"]}"#,
    r#"{"q": ["'", "\"", "'\"", "\\", "\\'", "\\\""]}"#,
    r#"{"account": {"id": "9a59c6f1"}, "payload": {"url": "https://getmontecarlo.com/x?y=1&z=2"}}"#,
];

/// Any JSON value with no object that repeats a key: reading one with a repeated key fails.
struct NoRepeatedKey;

impl<'de> serde::Deserialize<'de> for NoRepeatedKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoRepeatedKey)
    }
}

impl<'de> serde::de::Visitor<'de> for NoRepeatedKey {
    type Value = NoRepeatedKey;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoRepeatedKey)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoRepeatedKey>()?.is_some() {}
        Ok(NoRepeatedKey)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = std::collections::HashSet::new();
        // `arbitrary_precision` hands a number over as a map with one private key.
        while let Some(key) = map.next_key::<String>()? {
            if key == "$serde_json::private::Number" {
                map.next_value::<String>()?;
                continue;
            }
            if !keys.insert(key) {
                return Err(serde::de::Error::custom("repeated key"));
            }
            map.next_value::<NoRepeatedKey>()?;
        }
        Ok(NoRepeatedKey)
    }
}

fn oracle_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pyform_oracle.py")
}

#[test]
fn urlencode_matches_cpython() {
    let started = Instant::now();

    let mut rng = Rng(SEED);
    let mut texts: Vec<String> = FIXED_CASES.iter().map(|s| (*s).to_owned()).collect();
    for _ in 0..RANDOM_OBJECTS {
        let mut text = String::new();
        push_ws(&mut rng, &mut text);
        push_object(&mut rng, 0, &mut text);
        push_ws(&mut rng, &mut text);
        texts.push(text);
    }
    for _ in 0..FLOAT_OBJECTS {
        let mut text = String::new();
        push_float_stress_object(&mut rng, &mut text);
        texts.push(text);
    }

    let mut ours = Vec::with_capacity(texts.len());
    let mut streamed_count = 0;
    let repeats = |text: &str| serde_json::from_str::<NoRepeatedKey>(text).is_err();
    assert!(!repeats(
        r#"{"a": [1, 2.5e3, {"b": -0, "c": "a"}], "b": {"a": null}}"#
    ));
    assert!(repeats(r#"{"a": 1, "b": {"c": 1, "\u0063": 2}}"#));
    let mut file = String::new();
    for text in &texts {
        assert!(
            !text.contains('\n'),
            "generator produced a raw newline: {text:?}"
        );
        let object: Map<String, Value> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("serde_json rejected generated text {text:?}: {e}"));
        let form = pyform::urlencode(&object);
        // Issue 21: the form built straight from the bytes is the same, or refused (only for a
        // repeated key, which a serialized dict cannot have).
        match pyform::urlencode_json(text.as_bytes()) {
            Some(streamed) => {
                assert_eq!(streamed, form, "{text}");
                streamed_count += 1;
            }
            None => assert!(repeats(text), "refused without a repeated key: {text}"),
        }
        ours.push(form);
        file.push_str(text);
        file.push('\n');
    }
    assert!(
        streamed_count * 2 >= texts.len(),
        "the streamed form refused {} of {} texts",
        texts.len() - streamed_count,
        texts.len()
    );
    let generated = started.elapsed();

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "pyform_differential_{}_{nanos}.jsonl",
        std::process::id()
    ));
    std::fs::write(&path, &file).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));

    let output = Command::new("python3")
        .arg(oracle_path())
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = match output {
        Ok(output) => output,
        Err(e) => panic!(
            "could not run `python3` ({e}); this differential test needs CPython 3 on PATH \
             and fails rather than skipping without it"
        ),
    };
    assert!(
        output.status.success(),
        "python3 oracle failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("oracle output is not UTF-8");
    let theirs: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        theirs.len(),
        texts.len(),
        "oracle printed {} lines for {} inputs",
        theirs.len(),
        texts.len()
    );

    let mut compared = 0usize;
    let mut failures = Vec::new();
    for ((text, ours), theirs) in texts.iter().zip(&ours).zip(&theirs) {
        compared += 1;
        let matches = theirs.strip_prefix("OK ") == Some(ours.as_str());
        if !matches {
            failures.push((text, ours, theirs));
        }
    }
    for (text, ours, theirs) in failures.iter().take(5) {
        let ours = format!("OK {ours}");
        let at = ours
            .bytes()
            .zip(theirs.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let from = at.saturating_sub(60);
        eprintln!(
            "MISMATCH at byte {at}\n  input:   {text}\n  python:  ...{}\n  rust:    ...{}\n",
            theirs
                .get(from..(at + 60).min(theirs.len()))
                .unwrap_or(theirs),
            ours.get(from..(at + 60).min(ours.len())).unwrap_or(&ours),
        );
    }
    eprintln!(
        "pyform differential: compared {compared} objects ({} bytes of JSON) in {:.2?} \
         (generation + Rust {:.2?})",
        file.len(),
        started.elapsed(),
        generated
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} objects differ from CPython (first ones printed above)",
        failures.len()
    );
    assert!(
        compared >= MIN_COMPARED,
        "only {compared} objects compared, expected at least {MIN_COMPARED}"
    );
}
