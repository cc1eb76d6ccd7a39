//! Name heuristics shared by rules: is an identifier secret-like?
//!
//! Identifiers are split into lower-case word pieces (`X-Hub-Signature-256`
//! → `x hub signature 256`, `apiToken` → `api token`), so `sig` matches
//! `expected_sig` but not `signal`, and `token` matches `api_token` but not
//! `tokenizer`.

use crate::config::SecretsConfig;

/// Single pieces that make a name secret-like.
const SECRET_PIECES: &[&str] = &[
    "secret",
    "token",
    "signature",
    "sig",
    "digest",
    "hexdigest",
    "hmac",
    "mac",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "apikey",
    "nonce",
    "credential",
    "credentials",
    "otp",
    "authorization",
    "psk",
    "kek",
];

/// Two-piece names that are secret-like (`api_key`, `X-Api-Key`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("access", "key"),
    ("encryption", "key"),
    ("client", "secret"),
    ("shared", "key"),
];

/// A final piece that turns a secret-sounding name into metadata about it
/// (`token_type`, `signature_header`, `max_tokens`).
const METADATA_LAST: &[&str] = &[
    "type",
    "types",
    "id",
    "ids",
    "count",
    "counts",
    "limit",
    "len",
    "length",
    "size",
    "at",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "url",
    "uri",
    "name",
    "names",
    "field",
    "header",
    "headers",
    "kind",
    "index",
    "idx",
    "version",
    "format",
    "scheme",
    "path",
    "file",
    "dir",
    "prefix",
    "alg",
    "algorithm",
    "algorithms",
    "tokens",
    "env",
    "var",
    "label",
    "enabled",
    "required",
    "valid",
    "present",
    "set",
    "exists",
    "provider",
    "endpoint",
    "store",
    "cache",
    "service",
    "manager",
    "client",
    "class",
    "mode",
    "status",
    "source",
    "location",
    "param",
];

/// First pieces that mark counters and flags (`max_tokens`, `is_token`).
const METADATA_FIRST: &[&str] = &[
    "max", "min", "num", "total", "is", "has", "n", "use", "should",
];

pub struct SecretWords {
    extra: Vec<String>,
    not_secret: Vec<String>,
}

impl SecretWords {
    pub fn new(cfg: &SecretsConfig) -> SecretWords {
        SecretWords {
            extra: cfg.names.iter().map(|s| s.to_ascii_lowercase()).collect(),
            not_secret: cfg
                .not_secret
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Every word that must appear in a file for a secret-like name to be
    /// in it (for pre-filters).
    pub fn triggers(cfg: &SecretsConfig) -> Vec<String> {
        let mut t: Vec<String> = SECRET_PIECES.iter().map(|s| s.to_string()).collect();
        t.extend(
            [
                "api_key",
                "apikey",
                "api-key",
                "private_key",
                "secret_key",
                "signing_key",
            ]
            .map(String::from),
        );
        t.extend(["access_key", "encryption_key", "shared_key"].map(String::from));
        t.extend(["apiKey", "privateKey", "signingKey", "accessKey"].map(String::from));
        t.extend(cfg.names.iter().cloned());
        t
    }

    pub fn is_secret(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        if self.not_secret.contains(&lower) {
            return false;
        }
        let pieces = split_pieces(name);
        let Some(last) = pieces.last() else {
            return false;
        };
        if pieces.len() > 1 && METADATA_LAST.contains(&last.as_str()) {
            return false;
        }
        if pieces.len() > 1 && METADATA_FIRST.contains(&pieces[0].as_str()) {
            return false;
        }
        let single = pieces
            .iter()
            .any(|p| SECRET_PIECES.contains(&p.as_str()) || self.extra.iter().any(|e| e == p));
        single
            || pieces
                .windows(2)
                .any(|w| SECRET_PAIRS.contains(&(w[0].as_str(), w[1].as_str())))
    }
}

/// `X-Hub-Signature-256` → `["x", "hub", "signature", "256"]`,
/// `apiToken` → `["api", "token"]`.
pub fn split_pieces(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> SecretWords {
        SecretWords::new(&SecretsConfig::default())
    }

    #[test]
    fn secret_like_names() {
        let w = words();
        for n in [
            "signature",
            "expected_sig",
            "X-Hub-Signature-256",
            "api_key",
            "X-Api-Key",
            "apiToken",
            "internal_secret",
            "webhook_token",
            "password_hash",
            "nonce",
            "hexdigest",
            "mac",
            "provided_token",
            "Authorization",
            "client_secret",
        ] {
            assert!(w.is_secret(n), "{n} should be secret-like");
        }
    }

    #[test]
    fn look_alikes_are_not_secrets() {
        let w = words();
        for n in [
            "signal",
            "design_id",
            "machine_id",
            "token_count",
            "max_tokens",
            "tokenizer",
            "total_tokens",
            "token_type",
            "signature_header",
            "macro",
            "token_url",
            "secret_name",
            "is_token",
            "api_key_id",
            "key",
            "digestive",
        ] {
            assert!(!w.is_secret(n), "{n} should not be secret-like");
        }
    }

    #[test]
    fn config_extends_and_excludes() {
        let w = SecretWords::new(&SecretsConfig {
            names: vec!["pin".into()],
            not_secret: vec!["csrf_token".into()],
        });
        assert!(w.is_secret("user_pin"));
        assert!(!w.is_secret("csrf_token"));
        assert!(w.is_secret("refresh_token"));
    }
}
