//! Python's `urllib.parse.urlencode(json.loads(body))`, bit-exact with CPython 3.
//!
//! Monte Carlo signs its webhooks over the form encoding of the parsed JSON body, as produced by
//! `urllib.parse.urlencode(json.loads(body))` (default `doseq=False`, `safe=''`,
//! `quote_via=quote_plus`). To verify such a signature we have to reproduce that string byte for
//! byte, which means reproducing CPython's `str()`/`repr()` of dicts, lists, strings, ints,
//! floats, booleans and `None`, followed by `quote_plus`.
//!
//! The reference is CPython 3.11 (Unicode 14.0.0 `unicodedata`); the `unicode-general-category`
//! 0.5 tables used for `str.isprintable()` are the same Unicode version. The differential test
//! `tests/pyform_differential.rs` checks this module against `python3` on random inputs.
//! [`urlencode_json`] writes the same string straight from the body's bytes, without a `Value`
//! (what signature checks use); `tests/properties.rs` checks it against [`urlencode`].
//!
//! # What CPython does (and we mirror)
//!
//! * `urlencode`: for each `(k, v)` in dict order, `quote_plus(str(k)) + '=' + quote_plus(str(v))`,
//!   joined with `&`. A string value is used as is; any other value goes through `str()`, which for
//!   containers is `repr()` and quotes the strings *inside* them.
//! * `quote_plus`: UTF-8 encode; keep `A-Z a-z 0-9 _ . - ~`; space becomes `+`; every other byte
//!   becomes `%XX` with upper-case hex (so `/` is `%2F` because `safe=''`).
//! * `repr(str)`: quote with `'` unless the string contains `'` and no `"`; escape the chosen quote
//!   and `\`; `\t`, `\n`, `\r`; other ASCII controls and DEL as `\xNN`; non-ASCII characters are
//!   kept when `str.isprintable()` holds, otherwise `\xNN`, `\uNNNN` or `\UNNNNNNNN` (lower-case
//!   hex). Non-printable means general category `Cc`, `Cf`, `Cs`, `Co`, `Cn`, `Zl`, `Zp` or `Zs`
//!   (the ASCII space is printable).
//! * ints are exact at any size (`-0` prints as `0`); floats print as `repr(float)`: the shortest
//!   round-trip digits, fixed notation for decimal exponents `-4..=15`, otherwise `d.ddde±XX`;
//!   literals that overflow become `inf`/`-inf`. When two shortest candidates are equally close,
//!   CPython (David Gay's `dtoa`) takes the one with the even last digit
//!   (`984642216461200.25` → `984642216461200.2`); Rust's `{:e}` may take the odd one, so that
//!   case is detected and corrected.
//! * Numbers are classified by their source text (`Number::as_str`, kept by `arbitrary_precision`)
//!   exactly like `json.loads`: with `.`, `e` or `E` a float, otherwise an int.
//!
//! # Known, documented limits (inputs the caller's `serde_json` parse handles differently)
//!
//! * Lone surrogates (`"\ud800"` without a low surrogate) are accepted by `json.loads` but rejected
//!   by `serde_json`, so such bodies never reach this module.
//! * `NaN`, `Infinity` and `-Infinity` literals are accepted by `json.loads` but rejected by
//!   `serde_json`.
//! * Integer literals with more than 4300 digits make CPython >= 3.11 raise `ValueError`
//!   (`sys.get_int_max_str_digits()`); here they print exactly.
//! * `serde_json` refuses nesting deeper than 128 levels; CPython accepts up to its recursion
//!   limit. This module itself is iterative and has no depth limit.

use std::fmt::{self, Write as _};

use serde_json::{Map, Number, Value};
use unicode_general_category::{GeneralCategory, get_general_category};

/// Appends `urlencode(json.loads(body))` for a JSON object to `out`.
///
/// `object` is the object as parsed by `serde_json` (with `preserve_order`, so key order and
/// duplicate-key handling match a Python dict built by `json.loads`).
pub fn urlencode_object(object: &Map<String, Value>, out: &mut String) {
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut enc = QuotePlus::new(out);
    let mut first = true;
    for (key, value) in object {
        if !first {
            enc.raw(b'&');
        }
        first = false;
        enc.quote_str(key);
        enc.raw(b'=');
        write_str(value, &mut enc, &mut stack);
    }
    enc.flush();
}

/// `urlencode(json.loads(body))` straight from the body's bytes, without building a `Value`: what
/// a forged body costs is then about one pass over it, whatever its shape (a `Value` per tiny item
/// cost up to 12 times a realistic body's parse). `None` when the body is not one JSON object
/// (by RFC 8259 and `serde_json`'s own limits: UTF-8, no lone surrogate, nesting below 128), and
/// when an object repeats a key: `json.loads` keeps the last value at the first key's place, and
/// a sender that signs a serialized dict never sends one. Equal to [`urlencode`] of the parsed
/// object otherwise (`tests/properties.rs`).
pub fn urlencode_json(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = String::with_capacity(body.len() + body.len() / 2);
    let mut enc = QuotePlus::new(&mut out);
    let mut scanner = Scanner {
        text,
        at: 0,
        scratch: String::new(),
        keys: Vec::new(),
        open: Vec::new(),
        last: Last::Scratch,
    };
    scanner.document(&mut enc)?;
    enc.flush();
    Some(out)
}

/// `serde_json` reads at most 127 levels of nesting (its recursion limit); so does this.
const MAX_DEPTH: usize = 127;

/// The streaming reader of [`urlencode_json`].
struct Scanner<'t> {
    text: &'t str,
    at: usize,
    /// An unescaped string, when it had escapes.
    scratch: String,
    /// A hash of every key of the open objects, each object's after its start in `open`. Two
    /// keys with one hash (odds of 2^-64 a pair, unless a forger makes them) only refuse the body.
    keys: Vec<u64>,
    /// The open containers: `Some(first key's index in keys)` for an object, `None` for an array.
    open: Vec<Option<usize>>,
    last: Last,
}

/// Where the string read last is: a range of the body (it had no escape), or `scratch`.
#[derive(Clone, Copy)]
enum Last {
    Text(usize, usize),
    Scratch,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips whitespace, then consumes `byte` or fails.
    fn consume(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// The top-level object: `key=str(value)` pairs joined by `&`.
    fn document(&mut self, enc: &mut QuotePlus<'_>) -> Option<()> {
        self.consume(b'{')?;
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
        } else {
            loop {
                let key = self.key()?;
                enc.text(key);
                enc.raw(b'=');
                self.consume(b':')?;
                self.skip_space();
                if self.peek() == Some(b'"') {
                    // A top-level string is written as is, not as its repr.
                    let value = self.string()?;
                    enc.text(value);
                } else {
                    self.value(enc)?;
                }
                self.skip_space();
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        enc.raw(b'&');
                    }
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.distinct(0)?;
        self.skip_space();
        (self.at == self.text.len()).then_some(())
    }

    /// An object's key (whitespace, the string), its hash kept for the duplicate check.
    fn key(&mut self) -> Option<&str> {
        self.skip_space();
        self.read_string()?;
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(self.last_string()?, &mut hasher);
        self.keys.push(std::hash::Hasher::finish(&hasher));
        self.last_string()
    }

    /// The string `read_string` read last.
    fn last_string(&self) -> Option<&str> {
        match self.last {
            Last::Text(start, end) => self.text.get(start..end),
            Last::Scratch => Some(&self.scratch),
        }
    }

    /// `repr()` of one value, iteratively: containers open and close on `self.open`.
    fn value<S: Sink>(&mut self, sink: &mut S) -> Option<()> {
        let base = self.open.len();
        loop {
            self.skip_space();
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.peek() == Some(b'{');
                    if self.open.len() + 1 >= MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                    sink.ascii(if object { b'{' } else { b'[' });
                    self.skip_space();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                        sink.ascii(close);
                    } else {
                        self.open.push(object.then_some(self.keys.len()));
                        if object {
                            self.entry_key(sink)?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    let value = self.string()?;
                    write_repr_str(value, sink);
                }
                b't' => self.literal("true", "True", sink)?,
                b'f' => self.literal("false", "False", sink)?,
                b'n' => self.literal("null", "None", sink)?,
                _ => {
                    let number = self.number()?;
                    write_number_text(number, sink);
                }
            }
            // A value is complete: close what it completes, or go on to the next item.
            loop {
                if self.open.len() == base {
                    return Some(());
                }
                let object = self.open.last().copied().flatten();
                self.skip_space();
                match (self.peek()?, object) {
                    (b',', _) => {
                        self.at += 1;
                        sink.text(", ");
                        if object.is_some() {
                            self.entry_key(sink)?;
                        }
                        break;
                    }
                    (b'}', Some(start)) => {
                        self.at += 1;
                        self.distinct(start)?;
                        sink.ascii(b'}');
                        self.open.pop();
                    }
                    (b']', None) => {
                        self.at += 1;
                        sink.ascii(b']');
                        self.open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A nested object's `'key': `.
    fn entry_key<S: Sink>(&mut self, sink: &mut S) -> Option<()> {
        let key = self.key()?;
        write_repr_str(key, sink);
        sink.text(": ");
        self.consume(b':')
    }

    /// Whether the keys since `start` are distinct; they are dropped either way.
    fn distinct(&mut self, start: usize) -> Option<()> {
        let keys = self.keys.get_mut(start..)?;
        keys.sort_unstable();
        let distinct = keys.windows(2).all(|pair| pair[0] != pair[1]);
        self.keys.truncate(start);
        distinct.then_some(())
    }

    fn literal<S: Sink>(&mut self, json: &str, python: &str, sink: &mut S) -> Option<()> {
        let rest = self.text.get(self.at..)?;
        rest.starts_with(json).then(|| {
            self.at += json.len();
            sink.text(python);
        })
    }

    /// A number literal, checked against JSON's grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)?
    /// ([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'t str> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => {
                digits(&mut at);
            }
            _ => return None,
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return None;
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !digits(&mut at) {
                return None;
            }
        }
        self.at = at;
        self.text.get(start..at)
    }

    /// A string at `self.at` (its opening quote), unescaped: borrowed from the body when it has
    /// no escape, else in `scratch`.
    fn string(&mut self) -> Option<&str> {
        self.read_string()?;
        self.last_string()
    }

    /// Reads a string at `self.at` (its opening quote); `last_string` is then its text.
    fn read_string(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let mut at = start;
        while let Some(&b) = bytes.get(at) {
            match b {
                b'"' => {
                    self.last = Last::Text(start, at);
                    self.at = at + 1;
                    return Some(());
                }
                b'\\' => break,
                0..0x20 => return None,
                _ => at += 1,
            }
        }
        self.scratch.clear();
        self.scratch.push_str(self.text.get(start..at)?);
        loop {
            let b = *bytes.get(at)?;
            match b {
                b'"' => {
                    self.last = Last::Scratch;
                    self.at = at + 1;
                    return Some(());
                }
                b'\\' => {
                    let escape = *bytes.get(at + 1)?;
                    at += 2;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let high = self.hex4(at)?;
                            at += 4;
                            match high {
                                0xD800..=0xDBFF => {
                                    if bytes.get(at..at + 2)? != b"\\u" {
                                        return None;
                                    }
                                    let low = self.hex4(at + 2)?;
                                    if !(0xDC00..=0xDFFF).contains(&low) {
                                        return None;
                                    }
                                    at += 6;
                                    char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    )?
                                }
                                0xDC00..=0xDFFF => return None,
                                _ => char::from_u32(high)?,
                            }
                        }
                        _ => return None,
                    };
                    self.scratch.push(c);
                }
                0..0x20 => return None,
                _ => {
                    // A run of plain characters, copied whole.
                    let from = at;
                    while bytes
                        .get(at)
                        .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
                    {
                        at += 1;
                    }
                    self.scratch.push_str(self.text.get(from..at)?);
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }
}

/// Convenience wrapper around [`urlencode_object`] that returns the string.
pub fn urlencode(object: &Map<String, Value>) -> String {
    let mut out = String::new();
    urlencode_object(object, &mut out);
    out
}

/// Appends Python's `str()` of `value` (as `json.loads` would have produced it) to `out`.
///
/// A top-level string is appended as is; containers use `repr()` of their elements.
pub fn python_str(value: &Value, out: &mut String) {
    let mut stack = Vec::new();
    write_str(value, &mut PlainSink(out), &mut stack);
}

/// Appends `urllib.parse.quote_plus(s, safe='')` to `out`.
pub fn quote_plus(s: &str, out: &mut String) {
    let mut enc = QuotePlus::new(out);
    enc.quote_str(s);
    enc.flush();
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// `A-Z a-z 0-9 _ . - ~`: the bytes `quote` never escapes.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~')
}

/// `UNRESERVED[b]` is `is_unreserved(b)`, as a table for the hot loop.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_unreserved(b as u8);
        b += 1;
    }
    table
};

const CHUNK: usize = 512;

/// `quote_plus` encoder that batches its (always ASCII) output in a stack buffer and appends it
/// to the `String` in chunks. Call [`QuotePlus::flush`] when done.
struct QuotePlus<'a> {
    out: &'a mut String,
    buf: [u8; CHUNK],
    len: usize,
}

impl<'a> QuotePlus<'a> {
    fn new(out: &'a mut String) -> Self {
        Self {
            out,
            buf: [0; CHUNK],
            len: 0,
        }
    }

    /// Moves the buffered bytes into `out`.
    #[inline(never)]
    fn flush(&mut self) {
        let chunk = self.buf.get(..self.len).unwrap_or_default();
        // The buffer only ever holds ASCII, so this conversion always succeeds.
        if let Ok(text) = std::str::from_utf8(chunk) {
            self.out.push_str(text);
        }
        self.len = 0;
    }

    /// Appends an ASCII byte unencoded (`&`, `=`).
    #[inline]
    fn raw(&mut self, b: u8) {
        if self.len >= CHUNK {
            self.flush();
        }
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends one byte as `quote_plus` would (`+` for space, `%XX` for non-unreserved bytes).
    #[inline]
    fn quote_byte(&mut self, b: u8) {
        if self.len + 3 > CHUNK {
            self.flush();
        }
        if UNRESERVED[usize::from(b)] {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        } else if b == b' ' {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b'+';
                self.len += 1;
            }
        } else if let Some(slots) = self.buf.get_mut(self.len..self.len + 3) {
            slots.copy_from_slice(&[
                b'%',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0x0f)],
            ]);
            self.len += 3;
        }
    }

    #[inline]
    fn quote_str(&mut self, s: &str) {
        // Each input byte becomes at most 3 output bytes: make room once per piece.
        for piece in s.as_bytes().chunks(CHUNK / 3) {
            if self.len + 3 * piece.len() > CHUNK {
                self.flush();
            }
            let mut len = self.len;
            for &b in piece {
                if UNRESERVED[usize::from(b)] {
                    if let Some(slot) = self.buf.get_mut(len) {
                        *slot = b;
                    }
                    len += 1;
                } else if b == b' ' {
                    if let Some(slot) = self.buf.get_mut(len) {
                        *slot = b'+';
                    }
                    len += 1;
                } else {
                    if let Some(slots) = self.buf.get_mut(len..len + 3) {
                        slots.copy_from_slice(&[
                            b'%',
                            HEX_UPPER[usize::from(b >> 4)],
                            HEX_UPPER[usize::from(b & 0x0f)],
                        ]);
                    }
                    len += 3;
                }
            }
            self.len = len;
        }
    }
}

/// Where `str()` output goes: straight into a `String`, or through `quote_plus` on the way.
trait Sink {
    /// Appends text.
    fn text(&mut self, s: &str);
    /// Appends one ASCII byte.
    fn ascii(&mut self, b: u8);
}

struct PlainSink<'a>(&'a mut String);

impl Sink for PlainSink<'_> {
    #[inline]
    fn text(&mut self, s: &str) {
        self.0.push_str(s);
    }

    #[inline]
    fn ascii(&mut self, b: u8) {
        self.0.push(char::from(b));
    }
}

impl Sink for QuotePlus<'_> {
    #[inline]
    fn text(&mut self, s: &str) {
        self.quote_str(s);
    }

    #[inline]
    fn ascii(&mut self, b: u8) {
        self.quote_byte(b);
    }
}

/// One open container while writing a nested value without recursion.
enum Frame<'a> {
    Object {
        iter: serde_json::map::Iter<'a>,
        first: bool,
    },
    Array {
        iter: std::slice::Iter<'a, Value>,
        first: bool,
    },
}

/// Writes `str(value)`. `stack` is scratch space (left empty on return) so callers can reuse it.
fn write_str<'a, S: Sink>(value: &'a Value, sink: &mut S, stack: &mut Vec<Frame<'a>>) {
    match value {
        Value::String(s) => sink.text(s),
        other => write_repr(other, sink, stack),
    }
}

/// Writes `repr(value)` iteratively (no recursion, so no stack overflow on deep nesting).
fn write_repr<'a, S: Sink>(value: &'a Value, sink: &mut S, stack: &mut Vec<Frame<'a>>) {
    stack.clear();
    open_or_write_scalar(value, sink, stack);
    while let Some(top) = stack.last_mut() {
        let next = match top {
            Frame::Object { iter, first } => match iter.next() {
                Some((key, value)) => {
                    if !*first {
                        sink.text(", ");
                    }
                    *first = false;
                    write_repr_str(key, sink);
                    sink.text(": ");
                    value
                }
                None => {
                    sink.ascii(b'}');
                    stack.pop();
                    continue;
                }
            },
            Frame::Array { iter, first } => match iter.next() {
                Some(value) => {
                    if !*first {
                        sink.text(", ");
                    }
                    *first = false;
                    value
                }
                None => {
                    sink.ascii(b']');
                    stack.pop();
                    continue;
                }
            },
        };
        open_or_write_scalar(next, sink, stack);
    }
}

/// Writes the opening bracket of a container and pushes its frame, or writes a scalar's repr.
#[inline]
fn open_or_write_scalar<'a, S: Sink>(value: &'a Value, sink: &mut S, stack: &mut Vec<Frame<'a>>) {
    match value {
        Value::Object(map) => {
            sink.ascii(b'{');
            stack.push(Frame::Object {
                iter: map.iter(),
                first: true,
            });
        }
        Value::Array(items) => {
            sink.ascii(b'[');
            stack.push(Frame::Array {
                iter: items.iter(),
                first: true,
            });
        }
        Value::String(s) => write_repr_str(s, sink),
        Value::Number(n) => write_number(n, sink),
        Value::Bool(true) => sink.text("True"),
        Value::Bool(false) => sink.text("False"),
        Value::Null => sink.text("None"),
    }
}

/// CPython's `str.isprintable()` for one non-ASCII character.
#[inline]
fn is_printable_non_ascii(c: char) -> bool {
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// Classes of ASCII bytes in `repr(str)`: kept as is, a quote (escaped only when it is the chosen
/// quote), `\xNN`, or the letter of a short escape (`\\`, `\t`, `\n`, `\r`).
const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const HEX: u8 = 2;

static REPR_ASCII: [u8; 128] = {
    let mut table = [PLAIN; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'\'' | b'"' => QUOTE,
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0..0x20 | 0x7f => HEX,
            _ => PLAIN,
        };
        b += 1;
    }
    table
};

/// Writes CPython's `repr(s)` (`unicode_repr` in `Objects/unicodeobject.c`).
fn write_repr_str<S: Sink>(s: &str, sink: &mut S) {
    let quote = if s.contains('\'') && !s.contains('"') {
        b'"'
    } else {
        b'\''
    };
    sink.ascii(quote);
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            let class = REPR_ASCII[usize::from(b)];
            if class == PLAIN || (class == QUOTE && b != quote) {
                i += 1;
                continue;
            }
            flush_run(s, run_start, i, sink);
            if class == HEX {
                write_hex_escape(u32::from(b), sink);
            } else {
                // `QUOTE` (the chosen quote) or the letter of a short escape.
                sink.ascii(b'\\');
                sink.ascii(if class == QUOTE { b } else { class });
            }
            i += 1;
            run_start = i;
        } else {
            let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                // Unreachable for a valid `str`: `i` is always at a char boundary here.
                break;
            };
            let len = c.len_utf8();
            if !is_printable_non_ascii(c) {
                flush_run(s, run_start, i, sink);
                write_hex_escape(u32::from(c), sink);
                run_start = i + len;
            }
            i += len;
        }
    }
    flush_run(s, run_start, bytes.len(), sink);
    sink.ascii(quote);
}

#[inline]
fn flush_run<S: Sink>(s: &str, start: usize, end: usize, sink: &mut S) {
    if start < end
        && let Some(run) = s.get(start..end)
    {
        sink.text(run);
    }
}

/// `\xNN`, `\uNNNN` or `\UNNNNNNNN` with lower-case hex, as `repr(str)` writes them.
fn write_hex_escape<S: Sink>(cp: u32, sink: &mut S) {
    let (tag, digits) = if cp <= 0xff {
        (b'x', 2)
    } else if cp <= 0xffff {
        (b'u', 4)
    } else {
        (b'U', 8)
    };
    sink.ascii(b'\\');
    sink.ascii(tag);
    for shift in (0..digits).rev() {
        let nibble = (cp >> (shift * 4)) & 0x0f;
        // `nibble` < 16, so the index is in range.
        sink.ascii(HEX_LOWER[nibble as usize]);
    }
}

/// `str(int)` or `repr(float)` of a JSON number, decided like `json.loads` does: a literal with
/// `.`, `e` or `E` is a float, anything else an int.
fn write_number<S: Sink>(n: &Number, sink: &mut S) {
    write_number_text(n.as_str(), sink);
}

/// Writes `repr()` of the JSON number literal `text`, as `json.loads` reads it.
fn write_number_text<S: Sink>(text: &str, sink: &mut S) {
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        match text.parse::<f64>() {
            Ok(x) => write_float(x, sink),
            // Not reachable for numbers serde_json produced; keep the text rather than panic.
            Err(_) => sink.text(text),
        }
    } else {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.bytes().all(|b| b == b'0') {
            // `-0` (and any all-zero literal) is the int 0.
            sink.ascii(b'0');
        } else {
            sink.text(text);
        }
    }
}

/// A small stack buffer for formatting one number without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl StackBuf {
    const fn new() -> Self {
        Self {
            buf: [0; 40],
            len: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The shortest round-trip decimal form of a finite, non-negative double, as CPython chooses it:
/// the value is `sig × 10^(exp - digits(sig) + 1)`, i.e. `exp` is the scientific exponent.
/// `sig` has no trailing zeros (zero is `sig == 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shortest {
    sig: u64,
    exp: i32,
}

/// Number of decimal digits of `v` (1 for 0).
fn digit_count(mut v: u128) -> i32 {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Shortest round-trip digits of a finite `x >= 0`, with CPython's tie-breaking.
fn shortest(x: f64) -> Option<Shortest> {
    // Rust's `{:e}` is shortest round-trip: `0e0`, `5e-324`, `1.2345e-7`, `1.7976931348623157e308`.
    let mut text = StackBuf::new();
    write!(text, "{x:e}").ok()?;
    let text = text.bytes();
    let e_pos = text.iter().position(|&b| b == b'e')?;
    let (mantissa, exponent) = text.split_at(e_pos);
    let exponent = std::str::from_utf8(exponent.get(1..)?).ok()?;
    let exp: i32 = exponent.parse().ok()?;
    let mut sig: u64 = 0;
    for &d in mantissa {
        if d.is_ascii_digit() {
            sig = sig.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
    }
    let mut shortest = Shortest { sig, exp };
    prefer_even_on_tie(x, &mut shortest);
    Some(shortest)
}

/// CPython's `repr(float)` uses David Gay's `dtoa` (mode 0), which breaks a tie between two
/// equally short candidates at the same distance from `x` towards an even last digit
/// (`repr(984642216461200.25) == '984642216461200.2'`). Rust's shortest formatting may pick the
/// odd one (`984642216461200.3`). A tie needs the exact decimal value of `x` to be exactly one
/// digit longer than the shortest form and to end in 5, so it is rare and cheap to detect.
fn prefer_even_on_tie(x: f64, s: &mut Shortest) {
    if s.sig.is_multiple_of(2) {
        return;
    }
    let Some(exact) = exact_decimal_significand(x) else {
        return;
    };
    let n = digit_count(u128::from(s.sig));
    if exact % 10 != 5 || digit_count(exact) != n + 1 {
        return;
    }
    let lower = exact / 10;
    let upper = lower + 1;
    let sig = u128::from(s.sig);
    if sig != lower && sig != upper {
        return;
    }
    let even = if lower.is_multiple_of(2) {
        lower
    } else {
        upper
    };
    let scale = s.exp - n + 1;
    // Both candidates are equally close to `x`; the even one must also round-trip (it may not at
    // a power-of-two boundary, where the rounding interval below `x` is narrower).
    let mut literal = StackBuf::new();
    if write!(literal, "{even}e{scale}").is_err() {
        return;
    }
    let round_trips = std::str::from_utf8(literal.bytes())
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .is_some_and(|y| y == x);
    if !round_trips {
        return;
    }
    let mut exp = scale + digit_count(even) - 1;
    let mut even = even;
    while even != 0 && even.is_multiple_of(10) {
        even /= 10;
    }
    let Ok(sig) = u64::try_from(even) else {
        return;
    };
    if even == 0 {
        exp = 0;
    }
    *s = Shortest { sig, exp };
}

/// The exact decimal significand of a finite `x > 0` with trailing zeros removed, if it has at
/// most 19 digits (`x == p × 10^q` exactly for some integer `q`); `None` if it is longer.
fn exact_decimal_significand(x: f64) -> Option<u128> {
    const LIMIT: u128 = 10_000_000_000_000_000_000; // 10^19
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut k) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return None;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    k += tz as i32;
    let mut p = u128::from(m);
    if k >= 0 {
        // m < 2^53, so m × 2^k fits for k <= 64; larger k never gives a short significand.
        if k > 64 {
            return None;
        }
        p <<= k;
        while p.is_multiple_of(10) {
            p /= 10;
        }
    } else {
        // m × 2^k = m × 5^-k / 10^-k.
        for _ in 0..k.unsigned_abs() {
            p *= 5;
            if p >= LIMIT {
                return None;
            }
        }
    }
    (p < LIMIT).then_some(p)
}

/// Writes CPython's `repr(float)` (`float_repr_style == 'short'`).
fn write_float<S: Sink>(x: f64, sink: &mut S) {
    if x.is_nan() {
        sink.text("nan");
        return;
    }
    if x.is_sign_negative() {
        sink.ascii(b'-');
    }
    let x = x.abs();
    if x.is_infinite() {
        sink.text("inf");
        return;
    }
    let Some(Shortest { sig, exp }) = shortest(x) else {
        // Not reachable; still print something sensible rather than nothing.
        let mut fallback = StackBuf::new();
        if write!(fallback, "{x:?}").is_ok() {
            write_ascii_digits(fallback.bytes(), sink);
        }
        return;
    };
    let mut digits = StackBuf::new();
    if write!(digits, "{sig}").is_err() {
        return;
    }
    let digits = digits.bytes();
    let n = digits.len();
    if (-4..16).contains(&exp) {
        // Fixed notation; `decpt` is the number of digits before the decimal point.
        let decpt = exp + 1;
        if decpt <= 0 {
            sink.ascii(b'0');
            sink.ascii(b'.');
            for _ in 0..-decpt {
                sink.ascii(b'0');
            }
            write_ascii_digits(digits, sink);
        } else {
            let decpt = decpt.unsigned_abs() as usize;
            if decpt >= n {
                write_ascii_digits(digits, sink);
                for _ in n..decpt {
                    sink.ascii(b'0');
                }
                sink.ascii(b'.');
                sink.ascii(b'0');
            } else {
                let (int_part, frac_part) = digits.split_at(decpt);
                write_ascii_digits(int_part, sink);
                sink.ascii(b'.');
                write_ascii_digits(frac_part, sink);
            }
        }
    } else {
        let (first, rest) = digits.split_at(n.min(1));
        write_ascii_digits(first, sink);
        if !rest.is_empty() {
            sink.ascii(b'.');
            write_ascii_digits(rest, sink);
        }
        sink.ascii(b'e');
        sink.ascii(if exp < 0 { b'-' } else { b'+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            sink.ascii(b'0');
        }
        let mut exp_text = StackBuf::new();
        if write!(exp_text, "{abs}").is_ok() {
            write_ascii_digits(exp_text.bytes(), sink);
        }
    }
}

#[inline]
fn write_ascii_digits<S: Sink>(digits: &[u8], sink: &mut S) {
    for &d in digits {
        sink.ascii(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    fn str_of(json: &str) -> String {
        let value: Value = serde_json::from_str(json).unwrap();
        let mut out = String::new();
        python_str(&value, &mut out);
        out
    }

    fn quoted(s: &str) -> String {
        let mut out = String::new();
        quote_plus(s, &mut out);
        out
    }

    #[test]
    fn float_repr_table() {
        // (JSON literal, CPython 3.11 `repr(float(literal))`)
        let table = [
            ("0.0", "0.0"),
            ("-0.0", "-0.0"),
            ("0e0", "0.0"),
            ("-0E-5", "-0.0"),
            ("1.0", "1.0"),
            ("49.0", "49.0"),
            ("0.1", "0.1"),
            ("-2.5", "-2.5"),
            ("1e-4", "0.0001"),
            ("0.00012345", "0.00012345"),
            ("1e-5", "1e-05"),
            ("1.5e-5", "1.5e-05"),
            ("1E+15", "1000000000000000.0"),
            ("1234567890123456.0", "1234567890123456.0"),
            ("1e16", "1e+16"),
            ("1E+16", "1e+16"),
            ("12345678901234567.0", "1.2345678901234568e+16"),
            ("123456789012345678.0", "1.2345678901234568e+17"),
            ("1.5e300", "1.5e+300"),
            ("5e-324", "5e-324"),
            ("2e-324", "0.0"),
            ("3e-324", "5e-324"),
            ("2.2250738585072014e-308", "2.2250738585072014e-308"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("1.7976931348623159e308", "inf"),
            ("1e400", "inf"),
            ("-1e400", "-inf"),
            ("1e-400", "0.0"),
            ("-1e-400", "-0.0"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("9007199254740993.0", "9007199254740992.0"),
            // Ties between two shortest candidates go to the even digit, as in David Gay's dtoa.
            ("984642216461200.25", "984642216461200.2"),
            ("984642216461200.75", "984642216461200.8"),
            ("-30035957707110.5625", "-30035957707110.562"),
            ("0.125", "0.125"),
            ("100.0e-2", "1.0"),
            ("1e005", "100000.0"),
            ("123.456e7", "1234560000.0"),
        ];
        for (literal, expected) in table {
            assert_eq!(str_of(literal), expected, "repr(float({literal}))");
        }
    }

    #[test]
    fn int_str() {
        assert_eq!(str_of("0"), "0");
        assert_eq!(str_of("-0"), "0");
        assert_eq!(str_of("-17"), "-17");
        assert_eq!(str_of("18446744073709551616"), "18446744073709551616");
        let big = format!("-{}", "9".repeat(400));
        assert_eq!(str_of(&big), big);
    }

    #[test]
    fn scalar_and_container_str() {
        assert_eq!(str_of("true"), "True");
        assert_eq!(str_of("false"), "False");
        assert_eq!(str_of("null"), "None");
        assert_eq!(str_of(r#""top level""#), "top level");
        assert_eq!(str_of("{}"), "{}");
        assert_eq!(str_of("[]"), "[]");
        assert_eq!(str_of("[1, 2]"), "[1, 2]");
        assert_eq!(
            str_of(r#"{"a": [true, null, {"b": []}], "c": 1.0}"#),
            "{'a': [True, None, {'b': []}], 'c': 1.0}"
        );
        assert_eq!(str_of(r#"{"a": 1, "b": 2, "a": 3}"#), "{'a': 3, 'b': 2}");
    }

    #[test]
    fn string_repr_quotes_and_escapes() {
        let cases = [
            (r#"["plain"]"#, r"['plain']"),
            (r#"["it's"]"#, r#"["it's"]"#),
            (r#"["say \"hi\""]"#, r#"['say "hi"']"#),
            (r#"["'\""]"#, r#"['\'"']"#),
            (r#"["back\\slash"]"#, r"['back\\slash']"),
            (r#"["it's \\"]"#, r#"["it's \\"]"#),
            (r#"["\t\n\r\b\f"]"#, r"['\t\n\r\x08\x0c']"),
            (r#"["\u0000\u001f\u007f"]"#, r"['\x00\x1f\x7f']"),
            (r#"["\u0085\u00a0\u00ad\u00e9"]"#, r"['\x85\xa0\xadé']"),
            (
                r#"["\u200b\ufeff\u2028\u2029"]"#,
                r"['\u200b\ufeff\u2028\u2029']",
            ),
            (r#"["\u3000\u1680 x"]"#, r"['\u3000\u1680 x']"),
            // Unassigned in Unicode 14.0 (CPython 3.11), assigned in 15.0: still escaped.
            (r#"["\ud83d\udedc\u0cf3"]"#, r"['\U0001f6dc\u0cf3']"),
            (r#"["\u0378\ue000\uffff"]"#, r"['\u0378\ue000\uffff']"),
            (
                r#"["\udb40\udc80\udb80\udc00\udbff\udfff"]"#,
                r"['\U000e0080\U000f0000\U0010ffff']",
            ),
            (
                r#"["e\u0301 \ud83d\ude00 \ud835\udc00"]"#,
                "['e\u{301} \u{1F600} \u{1D400}']",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(str_of(json), expected, "str({json})");
        }
    }

    #[test]
    fn quote_plus_bytes() {
        assert_eq!(quoted(""), "");
        assert_eq!(quoted("AZaz09_.-~"), "AZaz09_.-~");
        assert_eq!(quoted("a b/c?d=e&f+g%h"), "a+b%2Fc%3Fd%3De%26f%2Bg%25h");
        assert_eq!(quoted("'\"\\:,{}[]"), "%27%22%5C%3A%2C%7B%7D%5B%5D");
        assert_eq!(quoted("\0\n\x7f"), "%00%0A%7F");
        assert_eq!(quoted("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
        assert_eq!(quoted("x\u{3000}y"), "x%E3%80%80y");
    }

    #[test]
    fn urlencode_basics() {
        assert_eq!(urlencode(&Map::new()), "");
        assert_eq!(
            urlencode(&map(r#"{"a b": "x/y z", "n": [1, "it's"], "e": {}}"#)),
            "a+b=x%2Fy+z&n=%5B1%2C+%22it%27s%22%5D&e=%7B%7D"
        );
        assert_eq!(
            urlencode(&map(
                r#"{"k": -0, "f": 1E+16, "t": true, "z": null, "k": 2}"#
            )),
            "k=2&f=1e%2B16&t=True&z=None"
        );
        let mut out = String::from("prefix:");
        urlencode_object(&map(r#"{"a": "1"}"#), &mut out);
        assert_eq!(out, "prefix:a=1");
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        const DEPTH: usize = 100_000;
        let mut value = Value::Null;
        for _ in 0..DEPTH {
            value = Value::Array(vec![value]);
        }
        let mut out = String::new();
        python_str(&value, &mut out);
        // Dropping a 100k-deep `Value` recurses inside serde_json; unwind it by hand first.
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
        let expected = format!("{}None{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
        assert!(out == expected, "deep nesting output differs");
    }

    /// Published reference: `urlencode(json.loads(body))` of
    /// `shared/seed-payloads/monte-carlo-volume-anomaly.json`, computed once with CPython 3.11.
    #[test]
    fn monte_carlo_seed_payload() {
        let body = r#"{
  "account": {
    "id": "9a59c6f1-203a-4c72-8cd7-132db7f21b92"
  },
  "action": "incident",
  "payload": {
    "event_list": [
      {
        "event_details": "Has 42 rows vs. 101 expected",
        "table_name": "artemis"
      }
    ],
    "group_id": "zeus:ares",
    "incident_id": "f83867b6-8f25-428b-807c-08518f63384c",
    "url": "https://getmontecarlo.com/incidents/f83867b6-8f25-428b-807c-08518f63384c"
  },
  "type": "open_anomaly_incident",
  "version": "v0.1"
}"#;
        let expected = concat!(
            "account=%7B%27id%27%3A+%279a59c6f1-203a-4c72-8cd7-132db7f21b92%27%7D&",
            "action=incident&",
            "payload=%7B%27event_list%27%3A+%5B%7B%27event_details%27%3A+%27Has+42+rows+vs.+101+expected%27%2C+%27table_name%27%3A+%27artemis%27%7D%5D%2C+%27group_id%27%3A+%27zeus%3Aares%27%2C+%27incident_id%27%3A+%27f83867b6-8f25-428b-807c-08518f63384c%27%2C+%27url%27%3A+%27https%3A%2F%2Fgetmontecarlo.com%2Fincidents%2Ff83867b6-8f25-428b-807c-08518f63384c%27%7D&",
            "type=open_anomaly_incident&",
            "version=v0.1",
        );
        assert_eq!(urlencode(&map(body)), expected);
    }
}
