//! Languages: turn a file's bytes into a syntax tree, once per revision.
//!
//! Knows nothing about rules, git or reports. Python is parsed with
//! tree-sitter, Rust with syn, SQL with sqlparser (statement by statement);
//! SQL embedded in Python and Rust strings is extracted on demand with an
//! exact map back to the host file's bytes.

pub mod embedded;
pub mod python;
pub mod rust;
pub mod source;
pub mod sql;
pub mod sql_tokens;
pub mod template;

use std::sync::OnceLock;

pub use source::{Pos, SourceText};

/// A language tenant-lint reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Python,
    Rust,
    Sql,
}

impl Language {
    pub fn from_path(path: &str) -> Option<Language> {
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "py" | "pyi" => Some(Language::Python),
            "rs" => Some(Language::Rust),
            "sql" => Some(Language::Sql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::Sql => "sql",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
            Language::Sql => "SQL",
        }
    }

    /// The line-comment marker used by suppressions.
    pub fn comment_marker(self) -> &'static str {
        match self {
            Language::Python => "#",
            Language::Rust => "//",
            Language::Sql => "--",
        }
    }
}

/// Name of a language tenant-lint does not read, for the Confidence section.
pub fn unsupported_language_name(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "ts" | "tsx" => "TypeScript",
        "js" | "jsx" | "mjs" | "cjs" => "JavaScript",
        "go" => "Go",
        "java" => "Java",
        "kt" => "Kotlin",
        "rb" => "Ruby",
        "php" => "PHP",
        "cs" => "C#",
        "c" | "h" | "cc" | "cpp" | "hpp" => "C/C++",
        "swift" => "Swift",
        "scala" => "Scala",
        "ex" | "exs" => "Elixir",
        _ => return None,
    })
}

/// Why a file is not analysed because of its language.
pub fn unsupported_reason(path: &str) -> String {
    match unsupported_language_name(path) {
        Some(l) => format!("unsupported language ({l})"),
        None => "unsupported file type".into(),
    }
}

/// The syntax tree of one file.
pub enum Syntax {
    Python(tree_sitter::Tree),
    Rust(Box<syn::File>),
    Sql(sql::SqlFile),
}

/// A file read and parsed once for one revision.
pub struct ParsedFile {
    pub path: String,
    pub lang: Language,
    pub src: SourceText,
    pub syntax: Syntax,
    /// First syntax error, when the parser recovered from one (Python).
    pub syntax_error: Option<Pos>,
    embedded: OnceLock<Vec<embedded::EmbeddedSql>>,
    /// Values derived from this parse by the rules, by type: the first
    /// rule that asks computes one, the others share it.
    derived: crate::memo::Memo,
}

/// One SQL statement somewhere in a file.
pub struct SqlSite<'a> {
    pub stmt: &'a sql::SqlStatement,
    /// The SQL text the statement's range refers to.
    pub text: &'a str,
    embedded: Option<&'a embedded::EmbeddedSql>,
    /// In a migration's downgrade (alembic `downgrade()`, `down.sql`).
    pub reverting: bool,
}

impl SqlSite<'_> {
    pub fn sql(&self) -> &str {
        self.text.get(self.stmt.range.clone()).unwrap_or("")
    }

    /// Host byte range of a range relative to the statement's text.
    pub fn host_range(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let base = self.stmt.range.start;
        let abs = base + r.start..base + r.end;
        match self.embedded {
            Some(e) => e.host_range(abs),
            None => abs,
        }
    }

    /// Host byte range of the whole statement.
    pub fn host(&self) -> std::ops::Range<usize> {
        self.host_range(0..self.stmt.range.len())
    }

    /// The call the SQL was passed to, when embedded.
    pub fn host_call(&self) -> Option<&str> {
        self.embedded.map(|e| e.call.as_str())
    }
}

/// diesel `down.sql`, sqlx `*.down.sql`, Flyway undo `U1__*.sql`.
pub fn is_reverting_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "down.sql"
        || name.ends_with(".down.sql")
        || (name.starts_with('U') && name.contains("__") && name.ends_with(".sql"))
}

/// Why a file could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub reason: String,
}

/// Files above this size are skipped (generated data, bundles).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Decide whether bytes are worth reading as text; `Err` carries the reason.
pub fn check_readable(bytes: &[u8]) -> Result<&str, ParseFailure> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ParseFailure {
            reason: format!(
                "file too large ({:.1} MB; limit {} MB)",
                bytes.len() as f64 / 1_048_576.0,
                MAX_FILE_BYTES / 1_048_576
            ),
        });
    }
    if bytes.iter().take(8000).any(|&b| b == 0) {
        return Err(ParseFailure {
            reason: "binary file".into(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ParseFailure {
        reason: format!("not valid UTF-8 (byte {})", e.valid_up_to()),
    })?;
    if looks_minified(text) {
        return Err(ParseFailure {
            reason: "minified or generated (very long lines)".into(),
        });
    }
    Ok(text)
}

fn looks_minified(text: &str) -> bool {
    if text.len() < 20_000 {
        return false;
    }
    let lines = text.lines().count().max(1);
    text.len() / lines > 1_000
}

impl ParsedFile {
    /// Parse `text` as `lang`. Python always yields a tree (tree-sitter
    /// recovers); Rust fails on a syntax error; SQL recovers per statement.
    pub fn parse(path: &str, lang: Language, text: &str) -> Result<ParsedFile, ParseFailure> {
        let src = SourceText::new(text.to_string());
        let (syntax, syntax_error) = match lang {
            Language::Python => {
                let tree = python::parse(text).ok_or_else(|| ParseFailure {
                    reason: "Python parser gave up".into(),
                })?;
                let err = python::first_error(&tree).map(|b| src.pos(b));
                (Syntax::Python(tree), err)
            }
            Language::Rust => {
                let file = syn::parse_file(text).map_err(|e| {
                    let start = e.span().start();
                    ParseFailure {
                        reason: format!(
                            "Rust syntax error at {}:{}: {}",
                            start.line,
                            start.column + 1,
                            e
                        ),
                    }
                })?;
                (Syntax::Rust(Box::new(file)), None)
            }
            Language::Sql => (Syntax::Sql(sql::SqlFile::parse(text)), None),
        };
        Ok(ParsedFile {
            path: path.to_string(),
            lang,
            src,
            syntax,
            syntax_error,
            embedded: OnceLock::new(),
            derived: Default::default(),
        })
    }

    /// A value derived from this file, computed by `make` the first time
    /// any rule asks for a `T` and shared afterwards (route discovery,
    /// which several endpoint rules read).
    pub fn derived<T: std::any::Any + Send + Sync>(
        &self,
        make: impl FnOnce(&ParsedFile) -> T,
    ) -> std::sync::Arc<T> {
        self.derived.get_or(|| make(self))
    }

    pub fn text(&self) -> &str {
        &self.src.text
    }

    /// SQL found in this file: the file itself for `.sql`, string literals
    /// passed to SQL-executing calls for Python and Rust.
    pub fn embedded_sql(&self) -> &[embedded::EmbeddedSql] {
        self.embedded.get_or_init(|| match &self.syntax {
            Syntax::Python(tree) => embedded::from_python(tree, self.text()),
            Syntax::Rust(file) => embedded::from_rust(file, &self.src),
            Syntax::Sql(_) => Vec::new(),
        })
    }

    /// Every SQL statement of the file: its own (`.sql`) or embedded in
    /// string literals (Python, Rust), with the way back to host bytes.
    pub fn sql_sites(&self) -> Vec<SqlSite<'_>> {
        let reverting_file = is_reverting_path(&self.path);
        match &self.syntax {
            Syntax::Sql(f) => f
                .statements
                .iter()
                .map(|stmt| SqlSite {
                    stmt,
                    text: self.text(),
                    embedded: None,
                    reverting: reverting_file,
                })
                .collect(),
            _ => {
                let down = match &self.syntax {
                    Syntax::Python(tree) => {
                        python::function_ranges(tree.root_node(), self.text(), "downgrade")
                    }
                    _ => Vec::new(),
                };
                self.embedded_sql()
                    .iter()
                    .flat_map(|e| {
                        let reverting =
                            reverting_file || down.iter().any(|r| r.contains(&e.host_offset(0)));
                        e.sql.statements.iter().map(move |stmt| SqlSite {
                            stmt,
                            text: &e.text,
                            embedded: Some(e),
                            reverting,
                        })
                    })
                    .collect()
            }
        }
    }

    /// Number of SQL statements that could not be read, in the file and
    /// in its embedded SQL.
    pub fn unread_sql_statements(&self) -> usize {
        let own = match &self.syntax {
            Syntax::Sql(f) => f.unread(),
            _ => 0,
        };
        own + self
            .embedded_sql()
            .iter()
            .map(|e| e.sql.unread())
            .sum::<usize>()
    }
}
