//! The ways a JSON body gets re-encoded between a sender and a capture: compacted, indented,
//! keys sorted, Python's `json.dumps` defaults, with or without a final newline. `verify`
//! undoes each in turn to see whether the signature was made over the body before it.

use std::io;

use serde::Serialize as _;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter, Serializer};

/// One re-encoding of a body, with the words that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub kind: Kind,
    /// How the body was changed, e.g. "re-serialized compactly with sorted keys".
    pub how: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Trailing whitespace: an editor, `echo` or a copy and paste added a newline.
    TrailingWhitespace,
    /// The JSON itself was parsed and written again.
    Reserialized,
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Compact,
    Pretty,
    Python,
}

/// Every variant of `body` that differs from it and from the variants before it.
pub fn variants(body: &[u8]) -> Vec<Variant> {
    let mut variants: Vec<Variant> = Vec::new();
    let mut push = |kind, how: String, bytes: Vec<u8>| {
        if bytes != body && !variants.iter().any(|v| v.bytes == bytes) {
            variants.push(Variant { kind, how, bytes });
        }
    };
    let trimmed = body.trim_ascii_end();
    push(
        Kind::TrailingWhitespace,
        "without its trailing newline".into(),
        trimmed.to_vec(),
    );

    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return variants;
    };
    let mut sorted = value.clone();
    sorted.sort_all_objects();
    let forms = [
        (&value, Style::Compact, "re-serialized compactly"),
        (
            &sorted,
            Style::Compact,
            "re-serialized compactly with sorted keys",
        ),
        (&value, Style::Pretty, "pretty-printed (indented by 2)"),
        (&sorted, Style::Pretty, "pretty-printed with sorted keys"),
        (
            &value,
            Style::Python,
            "re-serialized by Python's json.dumps",
        ),
        (
            &sorted,
            Style::Python,
            "re-serialized by Python's json.dumps(sort_keys=True)",
        ),
    ];
    // Many tools (jq, json.tool, print) end what they write with a newline.
    for (value, style, how) in forms {
        let bytes = write(value, style);
        let mut with_newline = bytes.clone();
        with_newline.push(b'\n');
        push(Kind::Reserialized, how.into(), bytes);
        push(
            Kind::Reserialized,
            format!("{how}, ending with a newline"),
            with_newline,
        );
    }
    variants
}

fn write(value: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing a `Value` into a `Vec` cannot fail; an empty variant would simply not match.
    let _ = match style {
        Style::Compact => {
            value.serialize(&mut Serializer::with_formatter(&mut out, CompactFormatter))
        }
        Style::Pretty => value.serialize(&mut Serializer::with_formatter(
            &mut out,
            PrettyFormatter::new(),
        )),
        Style::Python => {
            value.serialize(&mut Serializer::with_formatter(&mut out, PythonFormatter))
        }
    };
    out
}

/// CPython's `json.dumps` defaults: `", "` and `": "` separators, and `ensure_ascii`, which
/// writes every character outside printable ASCII (DEL included) as `\uXXXX` (UTF-16, lowercase
/// hex). serde_json has already escaped the control characters, quotes and backslashes.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if matches!(c, ' '..='~') {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Runs python3 (CPython is the reference): the slow tier, `make oracles`.
    #[cfg(feature = "oracles")]
    mod cpython {
        use std::io::Write as _;
        use std::process::{Command, Stdio};

        use super::*;

        const BODY: &str = "{\"z\": {\"b\": [1, 2.5, -0.0, 1e-07, true, null, {}], \"a\": []},\n  \
        \"caf\u{e9}\": \"\u{1f600} \\\"q\\\" \\n \u{7f} \\u0001 it's\", \"n\": 12345678901234567890}\n";

        /// CPython's own renderings of BODY, the reference the variants must match byte for byte.
        fn cpython() -> Vec<String> {
            let script = r#"
import json, sys
v = json.loads(sys.stdin.read())
out = [
    json.dumps(v, separators=(",", ":"), ensure_ascii=False),
    json.dumps(v, separators=(",", ":"), ensure_ascii=False, sort_keys=True),
    json.dumps(v, indent=2, ensure_ascii=False),
    json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True),
    json.dumps(v),
    json.dumps(v, sort_keys=True),
]
json.dump(out, sys.stdout)
"#;
            let mut child = Command::new("python3")
                .args(["-c", script])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 is the reference and must be installed");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(BODY.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success());
            serde_json::from_slice(&output.stdout).unwrap()
        }

        #[test]
        fn reserializations_match_cpython() {
            let ours: Vec<String> = variants(BODY.as_bytes())
                .into_iter()
                .filter(|v| v.kind == Kind::Reserialized)
                .map(|v| String::from_utf8(v.bytes).unwrap())
                .collect();
            let expected: Vec<String> = cpython()
                .into_iter()
                .flat_map(|text| [text.clone(), text + "\n"])
                .collect();
            assert_eq!(ours, expected);
        }
    }

    #[test]
    fn trailing_newline_is_one_variant() {
        let found = variants(b"{\"a\":1}\r\n");
        assert_eq!(found[0].kind, Kind::TrailingWhitespace);
        assert_eq!(found[0].bytes, b"{\"a\":1}");
        let bytes: Vec<&[u8]> = found.iter().map(|v| v.bytes.as_slice()).collect();
        assert_eq!(
            bytes,
            [
                &b"{\"a\":1}"[..],
                b"{\"a\":1}\n",
                b"{\n  \"a\": 1\n}",
                b"{\n  \"a\": 1\n}\n",
                b"{\"a\": 1}",
                b"{\"a\": 1}\n",
            ],
            "compact is the trimmed body, and sorting changes nothing: none is listed twice"
        );
    }

    #[test]
    fn not_json_has_only_the_trimmed_variant() {
        assert!(variants(b"not json").is_empty());
        assert_eq!(variants(b"not json\n").len(), 1);
    }
}
