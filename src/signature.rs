//! The three HMAC schemes the providers use, over raw bytes.
//!
//! Tags are only ever compared through `Mac::verify_slice` (constant time, exact length), and a
//! header that does not decode to a tag of the scheme's length is a failure, never a pass.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::secret::Secret;

/// Longest signature header we are willing to decode; real ones are at most 135 bytes.
const MAX_SIGNATURE_LEN: usize = 512;

/// How a provider writes a tag in its header: an HMAC, its encoding, and a fixed prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheme {
    pub hash: Hash,
    pub encoding: Encoding,
    /// What the value starts with (`sha256=`), exactly; empty for none.
    pub prefix: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Standard base64, padded and canonical.
    Base64,
    /// Hex, either case.
    Hex,
}

impl Scheme {
    /// MongoDB Atlas: base64 of HMAC-SHA1.
    pub const SHA1_BASE64: Scheme = Scheme::new(Hash::Sha1, Encoding::Base64, "");
    /// App Services: `sha256=` followed by hex of HMAC-SHA256.
    pub const SHA256_HEX: Scheme = Scheme::new(Hash::Sha256, Encoding::Hex, "sha256=");
    /// Monte Carlo: hex of HMAC-SHA512.
    pub const SHA512_HEX: Scheme = Scheme::new(Hash::Sha512, Encoding::Hex, "");

    pub const fn new(hash: Hash, encoding: Encoding, prefix: &'static str) -> Scheme {
        Scheme {
            hash,
            encoding,
            prefix,
        }
    }
}

/// Why a presented signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is empty")]
    Empty,
    #[error("signature is longer than any valid one")]
    TooLong,
    #[error("signature does not use the provider's scheme")]
    WrongScheme,
    #[error("signature is not valid {0}")]
    BadEncoding(&'static str),
    #[error("signature has the wrong length for the scheme")]
    WrongLength,
    #[error("signature does not match any configured secret")]
    Mismatch,
}

/// A presented tag, decoded once so it can be checked against several secrets and messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Tag {
    scheme: Scheme,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tag")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Scheme {
    fn tag_len(self) -> usize {
        match self.hash {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    /// Decodes a header value into a tag of this scheme. Surrounding whitespace is not part of an
    /// HTTP field value and is ignored; hex is case-insensitive; base64 must be canonical, padded.
    pub fn parse(self, header: &str) -> Result<Tag, SignatureError> {
        let value = header.trim_matches(|c: char| c == ' ' || c == '\t');
        if value.is_empty() {
            return Err(SignatureError::Empty);
        }
        if value.len() > MAX_SIGNATURE_LEN {
            return Err(SignatureError::TooLong);
        }
        let encoded = value
            .strip_prefix(self.prefix)
            .ok_or(SignatureError::WrongScheme)?;
        let bytes = match self.encoding {
            Encoding::Base64 => BASE64
                .decode(encoded)
                .map_err(|_| SignatureError::BadEncoding("base64"))?,
            Encoding::Hex => {
                hex::decode(encoded).map_err(|_| SignatureError::BadEncoding("hex"))?
            }
        };
        if bytes.len() != self.tag_len() {
            return Err(SignatureError::WrongLength);
        }
        Ok(Tag {
            scheme: self,
            bytes,
        })
    }

    /// The header value the provider would send for `message` signed with `secret`.
    pub fn sign(self, secret: &[u8], message: &[u8]) -> String {
        let tag = match self.hash {
            Hash::Sha1 => mac::<Hmac<Sha1>>(secret, message)
                .finalize()
                .into_bytes()
                .to_vec(),
            Hash::Sha256 => mac::<Hmac<Sha256>>(secret, message)
                .finalize()
                .into_bytes()
                .to_vec(),
            Hash::Sha512 => mac::<Hmac<Sha512>>(secret, message)
                .finalize()
                .into_bytes()
                .to_vec(),
        };
        self.encode(&tag)
    }

    /// The header value for the tag `bytes`.
    pub fn encode(self, bytes: &[u8]) -> String {
        let encoded = match self.encoding {
            Encoding::Base64 => BASE64.encode(bytes),
            Encoding::Hex => hex::encode(bytes),
        };
        format!("{}{encoded}", self.prefix)
    }
}

impl Tag {
    /// The tag's bytes, decoded.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether this tag is the MAC of `message` under `secret`, compared in constant time.
    pub fn matches(&self, secret: &Secret, message: &[u8]) -> bool {
        let key = secret.expose();
        match self.scheme.hash {
            Hash::Sha1 => mac::<Hmac<Sha1>>(key, message)
                .verify_slice(&self.bytes)
                .is_ok(),
            Hash::Sha256 => mac::<Hmac<Sha256>>(key, message)
                .verify_slice(&self.bytes)
                .is_ok(),
            Hash::Sha512 => mac::<Hmac<Sha512>>(key, message)
                .verify_slice(&self.bytes)
                .is_ok(),
        }
    }

    /// The index of the first secret whose MAC of `message` is this tag.
    pub fn match_any(&self, secrets: &[Secret], message: &[u8]) -> Option<usize> {
        secrets
            .iter()
            .position(|secret| self.matches(secret, message))
    }
}

impl Scheme {
    /// The index of the first secret whose MAC of `message` is any one of `tags` (tags of other
    /// schemes never match). Each secret's MAC is computed once, however many tags a header
    /// carries, and compared to every tag in constant time (`verify_slice` on a copy of it).
    pub fn match_any_tag(self, tags: &[Tag], secrets: &[Secret], message: &[u8]) -> Option<usize> {
        fn first<M: Mac + KeyInit + Clone>(
            tags: &[&[u8]],
            secrets: &[Secret],
            message: &[u8],
        ) -> Option<usize> {
            secrets.iter().position(|secret| {
                let computed = mac::<M>(secret.expose(), message);
                // Every tag is compared, a match or not, so the time says nothing of which.
                tags.iter().fold(false, |found, tag| {
                    computed.clone().verify_slice(tag).is_ok() | found
                })
            })
        }
        let tags: Vec<&[u8]> = tags
            .iter()
            .filter(|tag| tag.scheme == self)
            .map(Tag::bytes)
            .collect();
        if tags.is_empty() {
            return None;
        }
        match self.hash {
            Hash::Sha1 => first::<Hmac<Sha1>>(&tags, secrets, message),
            Hash::Sha256 => first::<Hmac<Sha256>>(&tags, secrets, message),
            Hash::Sha512 => first::<Hmac<Sha512>>(&tags, secrets, message),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// MACs computed on this thread, for the tests that count them.
    static MACS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn mac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> M {
    #[cfg(test)]
    MACS.with(|n| n.set(n.get() + 1));
    // HMAC takes keys of any length, so this never fails; the fallback keeps it panic-free.
    let mut mac =
        <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| M::new(&Default::default()));
    mac.update(message);
    mac
}

/// Constant-time equality for query-string secrets: both sides are MACed under a fixed key and
/// the tags compared with `verify_slice`, so neither timing nor length leaks which byte differed.
pub fn secret_equals(presented: &str, secret: &Secret) -> bool {
    const DOMAIN: &[u8] = b"alert-relay query secret";
    let expected = mac::<Hmac<Sha256>>(DOMAIN, secret.expose())
        .finalize()
        .into_bytes();
    mac::<Hmac<Sha256>>(DOMAIN, presented.as_bytes())
        .verify_slice(&expected)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Vec<Secret> {
        vec![Secret::new("old"), Secret::new("new")]
    }

    #[test]
    fn accepts_any_configured_secret() {
        for scheme in [Scheme::SHA1_BASE64, Scheme::SHA256_HEX, Scheme::SHA512_HEX] {
            let header = scheme.sign(b"new", b"body");
            let tag = scheme.parse(&header).unwrap();
            assert_eq!(tag.match_any(&secrets(), b"body"), Some(1));
            assert_eq!(tag.match_any(&secrets(), b"body!"), None);
            assert_eq!(tag.match_any(&[], b"body"), None);
        }
    }

    #[test]
    fn rejects_empty_and_truncated_signatures() {
        for scheme in [Scheme::SHA1_BASE64, Scheme::SHA256_HEX, Scheme::SHA512_HEX] {
            assert_eq!(scheme.parse(""), Err(SignatureError::Empty));
            assert_eq!(scheme.parse(" \t"), Err(SignatureError::Empty));
            let header = scheme.sign(b"k", b"m");
            let truncated = &header[..header.len() - 4];
            assert!(scheme.parse(truncated).is_err(), "{scheme:?}");
            assert_eq!(scheme.parse(&"a".repeat(600)), Err(SignatureError::TooLong));
        }
    }

    #[test]
    fn rejects_the_wrong_scheme() {
        let sha256 = Scheme::SHA256_HEX.sign(b"k", b"m");
        assert_eq!(
            Scheme::SHA256_HEX.parse(&sha256[7..]),
            Err(SignatureError::WrongScheme)
        );
        assert_eq!(
            Scheme::SHA256_HEX.parse(&sha256.replace("sha256=", "SHA256=")),
            Err(SignatureError::WrongScheme)
        );
        assert_eq!(
            Scheme::SHA512_HEX.parse(&sha256),
            Err(SignatureError::BadEncoding("hex"))
        );
        assert_eq!(
            Scheme::SHA512_HEX.parse(&sha256[7..]),
            Err(SignatureError::WrongLength)
        );
        let sha1 = Scheme::SHA1_BASE64.sign(b"k", b"m");
        assert_eq!(
            Scheme::SHA512_HEX.parse(&sha1),
            Err(SignatureError::BadEncoding("hex"))
        );
        assert_eq!(
            Scheme::SHA1_BASE64.parse(sha1.trim_end_matches('=')),
            Err(SignatureError::BadEncoding("base64"))
        );
    }

    #[test]
    fn tolerates_surrounding_whitespace_and_uppercase_hex() {
        let hex = Scheme::SHA512_HEX.sign(b"k", b"m");
        let tag = Scheme::SHA512_HEX
            .parse(&format!("  {}\t", hex.to_uppercase()))
            .unwrap();
        assert!(tag.matches(&Secret::new("k"), b"m"));
    }

    #[test]
    fn query_secrets_compare_exactly() {
        let secret = Secret::new("s3cret");
        assert!(secret_equals("s3cret", &secret));
        assert!(!secret_equals("s3cre", &secret));
        assert!(!secret_equals("s3cret ", &secret));
        assert!(!secret_equals("", &secret));
    }

    /// 16 tags cost one MAC per secret, not one per tag per secret; any tag may be the good one.
    #[test]
    fn many_tags_cost_one_mac_per_secret() {
        let scheme = Scheme::new(Hash::Sha256, Encoding::Base64, "v1,");
        let good = scheme.parse(&scheme.sign(b"new", b"body")).unwrap();
        let forged: Vec<Tag> = (0..16u8)
            .map(|i| scheme.parse(&scheme.sign(&[b'x', i], b"body")).unwrap())
            .collect();
        let counted = |tags: &[Tag]| {
            let before = MACS.with(std::cell::Cell::get);
            let found = scheme.match_any_tag(tags, &secrets(), b"body");
            (found, MACS.with(std::cell::Cell::get) - before)
        };
        assert_eq!(counted(&forged), (None, 2));
        for at in [0, 7, 15] {
            let mut tags = forged.clone();
            tags[at] = good.clone();
            assert_eq!(counted(&tags), (Some(1), 2), "the good tag at {at}");
        }
        assert_eq!(counted(&forged[..1]), (None, 2));
        // A tag of another scheme is never compared, and no tag costs no MAC.
        let other = Scheme::SHA256_HEX.parse(&Scheme::SHA256_HEX.sign(b"new", b"body"));
        assert_eq!(counted(&[other.unwrap()]), (None, 0));
        assert_eq!(counted(&[]), (None, 0));
    }

    #[test]
    fn tags_do_not_print_their_bytes() {
        let tag = Scheme::SHA256_HEX
            .parse(&Scheme::SHA256_HEX.sign(b"k", b"m"))
            .unwrap();
        assert!(!format!("{tag:?}").contains(&hex::encode(tag.bytes())));
    }
}
