//! Name heuristics shared by rules: is an identifier secret-like?
//!
//! Identifiers are split into lower-case word pieces (`X-Hub-Signature-256`
//! → `x hub signature 256`, `apiToken` → `api token`), so `sig` matches
//! `expected_sig` but not `signal`, and `token` matches `api_token` but not
//! `tokenizer`.

use crate::config::SecretsConfig;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};

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
    "totp",
    "hotp",
    "secrets",
    "signatures",
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
    ("api", "keys"),
    ("secret", "keys"),
    ("signing", "keys"),
    ("private", "keys"),
    ("access", "keys"),
    // The stored hash of a key verifies it: `key_hash`.
    ("key", "hash"),
    ("key", "digest"),
    // One-time codes: `stored_code`, `verification_code`, `X-Mfa-Code`.
    ("mfa", "code"),
    ("2fa", "code"),
    ("verification", "code"),
    ("confirmation", "code"),
    ("stored", "code"),
    ("sms", "code"),
    ("email", "code"),
    ("reset", "code"),
    ("recovery", "code"),
    ("backup", "code"),
    ("security", "code"),
    ("login", "code"),
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
    "budget",
    "budgets",
    "re",
    "regex",
    "pattern",
    "timeout",
    "window",
    "offset",
    "position",
    "encoding",
    "encodings",
    "option",
    "options",
];

/// Pieces before a final `code` that make it a status code
/// (`INVALID_API_KEY_EXIT_CODE`), not an authorisation code.
const STATUS_CODE_QUALIFIERS: &[&str] = &[
    "exit", "status", "error", "return", "http", "response", "result", "reason",
];

/// First pieces that mark counters and flags (`max_tokens`, `is_token`).
/// Also the qualifiers of pagination cursors (`next_page_token`,
/// `continuation_token`) and of a tokenizer's special tokens (`eos_token`).
const METADATA_FIRST: &[&str] = &[
    "max",
    "min",
    "num",
    "total",
    "is",
    "has",
    "n",
    "use",
    "should",
    "next",
    "prev",
    "previous",
    "last",
    "page",
    "continuation",
    "cursor",
    "eos",
    "bos",
    "pad",
    "unk",
    "sep",
    "cls",
    "mask",
    "stop",
    "special",
];

/// Words that make `token` an authentication token even in code that
/// works with language-model tokens (`api_token`, `access_token`).
const AUTH_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "refresh",
    "auth",
    "bearer",
    "session",
    "csrf",
    "xsrf",
    "id",
    "service",
    "admin",
    "internal",
    "webhook",
    "verification",
    "reset",
    "invite",
    "magic",
    "oauth",
    "jwt",
    "personal",
    "debug",
    "secret",
    "security",
    "provided",
    "expected",
    "presented",
    "stored",
    "client",
    "install",
    "installation",
    "app",
    "bot",
];

/// Words that make a digest a content hash rather than a MAC
/// (`content_digest`, `file_hexdigest`, `code_digest`).
const DIGEST_QUALIFIERS: &[&str] = &[
    "content",
    "file",
    "code",
    "body",
    "data",
    "etag",
    "checksum",
    "blob",
    "object",
    "source",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "fingerprint",
    "cache",
    "old",
    "new",
];

/// Words that make `mac` a hardware address.
const ADDRESS_WORDS: &[&str] = &[
    "address",
    "addr",
    "device",
    "hw",
    "hardware",
    "ether",
    "ethernet",
    "wifi",
    "bluetooth",
    "bssid",
];

/// What the surrounding code says about ambiguous words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordContext {
    /// The file works with language-model tokens (it imports a tokenizer or
    /// an LLM client): a `token` without an auth qualifier is text.
    pub llm_tokens: bool,
    /// The file computes MACs (it uses `hmac`): otherwise `mac` is a
    /// hardware address.
    pub computes_macs: bool,
}

impl Default for WordContext {
    fn default() -> Self {
        WordContext {
            llm_tokens: false,
            computes_macs: true,
        }
    }
}

/// How a name relates to secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// Secret-like: `api_token`, `X-Hub-Signature-256`.
    Secret,
    /// Mentions a secret word but names something else about it
    /// (`token_type`, `next_page_token`, `content_digest`, `device_mac`):
    /// evidence that the value is not a secret.
    Metadata,
    /// No secret word at all.
    Plain,
}

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
        for (a, b) in SECRET_PAIRS {
            t.extend([format!("{a}_{b}"), format!("{a}-{b}"), format!("{a}{b}")]);
        }
        t.extend(cfg.names.iter().cloned());
        t.sort();
        t.dedup();
        t
    }

    /// Whether the configuration declares this name never secret
    /// (`[secrets] not-secret`).
    pub fn declared_not_secret(&self, name: &str) -> bool {
        self.not_secret.contains(&name.to_ascii_lowercase())
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.classify(name, WordContext::default()) == NameKind::Secret
    }

    /// `is_secret` with the file's context for ambiguous words.
    pub fn is_secret_in(&self, name: &str, cx: WordContext) -> bool {
        self.classify(name, cx) == NameKind::Secret
    }

    pub fn classify(&self, name: &str, cx: WordContext) -> NameKind {
        let lower = name.to_ascii_lowercase();
        let pieces = split_pieces(name);
        let hits = self.secret_hits(&pieces);
        if hits.is_empty() {
            return NameKind::Plain;
        }
        if self.not_secret.contains(&lower) {
            return NameKind::Metadata;
        }
        let last = pieces.last().map(String::as_str).unwrap_or("");
        if pieces.len() > 1
            && (METADATA_LAST.contains(&last) || METADATA_FIRST.contains(&pieces[0].as_str()))
        {
            return NameKind::Metadata;
        }
        if let [.., q, code] = pieces.as_slice() {
            if code == "code" && STATUS_CODE_QUALIFIERS.contains(&q.as_str()) {
                return NameKind::Metadata;
            }
        }
        let has = |words: &[&str]| pieces.iter().any(|p| words.contains(&p.as_str()));
        let counts = |(start, len): &(usize, usize)| -> bool {
            if *len > 1 {
                return true;
            }
            match pieces[*start].as_str() {
                "mac" => cx.computes_macs && !has(ADDRESS_WORDS),
                "token" if cx.llm_tokens => has(AUTH_QUALIFIERS),
                "digest" | "hexdigest" => !has(DIGEST_QUALIFIERS),
                _ => true,
            }
        };
        if hits.iter().any(counts) {
            NameKind::Secret
        } else {
            NameKind::Metadata
        }
    }

    /// The secret word of a name as (first piece, number of pieces):
    /// `expected_sig` → (1, 1), `x_api_key` → (1, 2).
    fn secret_hits(&self, pieces: &[String]) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        for (i, w) in pieces.windows(2).enumerate() {
            if SECRET_PAIRS.contains(&(w[0].as_str(), w[1].as_str())) {
                hits.push((i, 2));
            }
        }
        for (i, p) in pieces.iter().enumerate() {
            if SECRET_PIECES.contains(&p.as_str()) || self.extra.iter().any(|e| e == p) {
                hits.push((i, 1));
            }
        }
        hits
    }

    /// The pieces of a name's secret word (`["api", "key"]` for
    /// `x_api_key`), plural `s` dropped, and the pieces before it.
    pub fn secret_word(&self, name: &str) -> Option<(Vec<String>, Vec<String>)> {
        let pieces = split_pieces(name);
        let (start, len) = *self.secret_hits(&pieces).first()?;
        let word = pieces[start..start + len]
            .iter()
            .map(|p| singular(p))
            .collect();
        Some((word, pieces[..start].to_vec()))
    }
}

/// Whether a name matches a configured pattern, case-insensitively: `*`
/// matches any text, and `*_x` also matches `x` itself.
pub fn name_pattern_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    if let Some(bare) = p.strip_prefix("*_") {
        if !bare.contains('*') && n == bare {
            return true;
        }
    }
    wildcard(p.as_bytes(), n.as_bytes())
}

fn wildcard(p: &[u8], n: &[u8]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some((b'*', rest)) => (0..=n.len()).any(|i| wildcard(rest, &n[i..])),
        Some((c, rest)) => n.first() == Some(c) && wildcard(rest, &n[1..]),
    }
}

fn singular(p: &str) -> String {
    match p {
        "secrets" | "signatures" | "tokens" | "keys" | "nonces" | "digests" | "passwords" => {
            p[..p.len() - 1].to_string()
        }
        _ => p.to_string(),
    }
}

/// Does a piece of a name (in the sense of [`split_pieces`]) start at byte
/// `at` of `text`: at a non-alphanumeric character or the text's start, or
/// at an upper-case letter after a lower-case letter or digit?
pub fn starts_piece(text: &str, at: usize) -> bool {
    let Some(prev) = text.get(..at).and_then(|t| t.chars().next_back()) else {
        return true;
    };
    if !prev.is_alphanumeric() {
        return true;
    }
    let cur = text.get(at..).and_then(|t| t.chars().next());
    cur.is_some_and(|c| c.is_uppercase()) && (prev.is_lowercase() || prev.is_ascii_digit())
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

/// The names of this project's tenant tables and of the models mapped to
/// them, for pre-filters: does a file name any of them as a whole word?
/// Tables match in any case (SQL folds unquoted names); model classes
/// match exactly.
pub struct TenantNames {
    tables: AhoCorasick,
    models: AhoCorasick,
}

impl TenantNames {
    pub fn new(ctx: &super::Ctx) -> TenantNames {
        let tenant = |t: &String| ctx.index.is_tenant_table(t, ctx.config);
        let tables: Vec<&str> = ctx
            .index
            .tables
            .keys()
            .filter(|t| tenant(t))
            .map(|t| t.rsplit('.').next().unwrap_or(t))
            .collect();
        let models: Vec<&str> = ctx
            .index
            .models
            .iter()
            .filter(|(_, t)| tenant(t))
            .map(|(m, _)| m.as_str())
            .collect();
        let build = |case_insensitive: bool, words: &[&str]| {
            // Built once per index (twice in a diff review) and run on few
            // files: a contiguous NFA builds far faster than a DFA.
            AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .ascii_case_insensitive(case_insensitive)
                .build(words)
                .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
        };
        TenantNames {
            tables: build(true, &tables),
            models: build(false, &models),
        }
    }

    pub fn mentions_table(&self, text: &str) -> bool {
        mentions(&self.tables, text)
    }

    pub fn mentions_model(&self, text: &str) -> bool {
        mentions(&self.models, text)
    }
}

/// Does one of `m`'s words occur in `text` between non-identifier bytes?
fn mentions(m: &AhoCorasick, text: &str) -> bool {
    let b = text.as_bytes();
    let ident = |i: usize| {
        b.get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    };
    m.patterns_len() > 0
        && m.find_overlapping_iter(text)
            .any(|hit| !ident(hit.end()) && (hit.start() == 0 || !ident(hit.start() - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_starts_agree_with_split_pieces() {
        for name in [
            "dataclass",
            "allow_all",
            "orgId",
            "HTTPAuth",
            "x-org",
            "_tenant",
            "v2Org",
            "forget",
        ] {
            let pieces = split_pieces(name);
            let mut rebuilt = Vec::new();
            let mut cur = String::new();
            for (i, c) in name.char_indices() {
                if !c.is_alphanumeric() {
                    continue;
                }
                if starts_piece(name, i) && !cur.is_empty() {
                    rebuilt.push(std::mem::take(&mut cur));
                }
                cur.extend(c.to_lowercase());
            }
            if !cur.is_empty() {
                rebuilt.push(cur);
            }
            assert_eq!(rebuilt, pieces, "{name}");
        }
        assert!(!starts_piece("dataclass", 3));
        assert!(starts_piece("v2Org", 2));
    }

    #[test]
    fn tenant_names_match_whole_words() {
        let tables = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(["notes", "payment_methods"])
            .unwrap();
        let models = AhoCorasick::new(["Note"]).unwrap();
        for hit in [
            "SELECT * FROM notes WHERE id = $1",
            "select * from public.NOTES",
            "notes::table.find(id)",
            "UPDATE \"payment_methods\" SET x = 1",
        ] {
            assert!(mentions(&tables, hit), "{hit}");
        }
        for miss in [
            "footnotes are fine",
            "notes_archive",
            "my_payment_methods2",
            "",
        ] {
            assert!(!mentions(&tables, miss), "{miss}");
        }
        assert!(mentions(&models, "select(Note).where(Note.id == i)"));
        assert!(mentions(&models, "models.Note"));
        assert!(!mentions(&models, "NoteBook(note)"));
        assert!(!mentions(&models, "a note"));
    }

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
    fn name_patterns() {
        assert!(name_pattern_matches("*_internal_secret", "internal_secret"));
        assert!(name_pattern_matches(
            "*_internal_secret",
            "PORTAL_INTERNAL_SECRET"
        ));
        assert!(name_pattern_matches("*_kek", "sso_cookie_kek"));
        assert!(!name_pattern_matches("*_kek", "kekkonen"));
        assert!(!name_pattern_matches("*_token", "max_tokens"));
        assert!(name_pattern_matches("api_*", "api_key"));
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
