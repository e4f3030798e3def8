//! A provider's configuration: its `<P>_…` variables, read once at start. A provider with none of
//! them set is disabled.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::Provider;
use crate::secret::Secret;

/// How one provider authenticates its requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Signing secrets; any one may match, so a secret can be rotated without downtime.
    pub webhook_secrets: Vec<Secret>,
    /// Secrets accepted as `?secret=` or `?token=`; empty means query secrets are refused.
    pub query_secrets: Vec<Secret>,
    /// Explicit opt-in: a request with no credential at all is accepted.
    pub allow_unsigned: bool,
}

/// A variable that is set wrong; its value is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} is invalid: {reason}")]
pub struct SettingsError {
    pub var: String,
    pub reason: &'static str,
}

/// Secret lists fetched at cold start (Secrets Manager), as written, by the plain variable they
/// stand in for (`ATLAS_WEBHOOK_SECRETS` for `ATLAS_WEBHOOK_SECRETS_ARN`).
pub type Fetched = HashMap<String, Vec<Secret>>;

/// How a provider writes a signing secret: a prefix, then the key as text or in base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretForm {
    pub prefix: &'static str,
    pub encoding: SecretEncoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretEncoding {
    /// The text is the key (its UTF-8 bytes).
    Text,
    /// Standard base64 of the key's bytes.
    Base64,
}

impl SecretForm {
    /// The key is the secret's text, as the providers' consoles show it.
    pub const TEXT: SecretForm = SecretForm {
        prefix: "",
        encoding: SecretEncoding::Text,
    };

    /// The key a written secret stands for.
    pub fn read(self, written: &str) -> Result<Secret, &'static str> {
        let Some(rest) = written.strip_prefix(self.prefix) else {
            return Err("has a secret without the provider's prefix");
        };
        match self.encoding {
            SecretEncoding::Text => Ok(Secret::new(rest)),
            SecretEncoding::Base64 => match BASE64.decode(rest) {
                Ok(key) if !key.is_empty() => Ok(Secret::from_bytes(key)),
                _ => Err("has a secret that is not base64 after the provider's prefix"),
            },
        }
    }

    /// How `key` is written, the inverse of `read`.
    pub fn write(self, key: &[u8]) -> String {
        let body = match self.encoding {
            SecretEncoding::Text => String::from_utf8_lossy(key).into_owned(),
            SecretEncoding::Base64 => BASE64.encode(key),
        };
        format!("{}{body}", self.prefix)
    }
}

impl ProviderConfig {
    /// A provider with none of its variables set is disabled and answers 404.
    pub fn is_enabled(&self) -> bool {
        !self.webhook_secrets.is_empty() || !self.query_secrets.is_empty() || self.allow_unsigned
    }

    /// Reads `<P>_WEBHOOK_SECRETS`, `<P>_QUERY_SECRETS` (or what their `_ARN` variables fetched)
    /// and `<P>_ALLOW_UNSIGNED`; `get` treats a blank variable as unset.
    pub fn read(
        provider: Provider,
        get: impl Fn(&str) -> Option<String>,
        fetched: &Fetched,
    ) -> Result<Self, SettingsError> {
        let prefix = provider.env_prefix();
        let var = |suffix: &str| format!("{prefix}_{suffix}");
        let invalid = |var: &str, reason| SettingsError {
            var: var.to_owned(),
            reason,
        };
        let secrets = |suffix: &str, form: SecretForm| -> Result<Vec<Secret>, SettingsError> {
            let name = var(suffix);
            match (get(&name), fetched.get(&name)) {
                (Some(_), Some(_)) => Err(invalid(
                    &name,
                    "is set together with its _ARN variable; set only one",
                )),
                (None, Some(list)) => Ok(list.clone()),
                (Some(raw), None) => {
                    parse_secrets(&raw, form).map_err(|reason| invalid(&name, reason))
                }
                (None, None) => Ok(Vec::new()),
            }
        };
        let allow_unsigned = match get(&var("ALLOW_UNSIGNED")).as_deref().map(str::trim) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(invalid(&var("ALLOW_UNSIGNED"), "must be true or false")),
        };
        Ok(ProviderConfig {
            webhook_secrets: secrets("WEBHOOK_SECRETS", provider.spec().secrets)?,
            query_secrets: secrets("QUERY_SECRETS", SecretForm::TEXT)?,
            allow_unsigned,
        })
    }
}

impl Provider {
    /// The variables that may instead name an AWS Secrets Manager secret, with `_ARN` appended,
    /// and how the secrets in each are written: signing secrets in the provider's form, query
    /// secrets as text (they are compared as sent).
    pub fn secret_variables() -> impl Iterator<Item = (String, SecretForm)> {
        Provider::ALL.into_iter().flat_map(|p| {
            [
                ("WEBHOOK_SECRETS", p.spec().secrets),
                ("QUERY_SECRETS", SecretForm::TEXT),
            ]
            .map(move |(kind, form)| (format!("{}_{kind}", p.env_prefix()), form))
        })
    }
}

/// Comma-separated secrets written in `form`, surrounding whitespace ignored; an empty item is a
/// mistake, not a secret that matches an empty signature.
pub fn parse_secrets(raw: &str, form: SecretForm) -> Result<Vec<Secret>, &'static str> {
    raw.split(',')
        .map(str::trim)
        .map(|s| {
            if s.is_empty() {
                Err("has an empty secret in its comma-separated list")
            } else {
                form.read(s)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHSEC: SecretForm = SecretForm {
        prefix: "whsec_",
        encoding: SecretEncoding::Base64,
    };

    #[test]
    fn secret_forms_read_what_they_write() {
        assert_eq!(SecretForm::TEXT.read("abc"), Ok(Secret::new("abc")));
        assert_eq!(SecretForm::TEXT.write(b"abc"), "abc");
        let written = WHSEC.write(b"\x00key\xff");
        assert_eq!(written, "whsec_AGtlef8=");
        assert_eq!(
            WHSEC.read(&written),
            Ok(Secret::from_bytes(*b"\x00key\xff"))
        );
        for bad in ["AGtlef8=", "whsec_", "whsec_not base64!"] {
            assert!(WHSEC.read(bad).is_err(), "{bad}");
        }
    }
}
