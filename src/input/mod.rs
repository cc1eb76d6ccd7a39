//! Input: what to analyse. Turns git state, a patch or a set of paths into
//! revisions of files (base and head bytes, changed line ranges). Knows
//! nothing about languages or rules.

pub mod git;
pub mod patch;
pub mod walk;

/// A file the change touched, with both revisions' bytes.
#[derive(Debug, Clone, Default)]
pub struct ChangedFile {
    /// Path at the base (`None` for an added file).
    pub old_path: Option<String>,
    /// Path at the head (`None` for a deleted file).
    pub new_path: Option<String>,
    pub base: Option<Vec<u8>>,
    pub head: Option<Vec<u8>>,
    /// Changed head lines (1-based, inclusive).
    pub changed: Vec<(u32, u32)>,
    /// Added plus removed lines.
    pub lines_changed: usize,
    pub binary: bool,
    /// Set when the base could not be rebuilt; all head findings count as new.
    pub base_unknown: Option<String>,
}

impl ChangedFile {
    pub fn display_path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

/// A change to review.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// What was compared, in words (`git diff main...HEAD`).
    pub description: String,
    /// The branch or revision under review, for the report title.
    pub branch: String,
    pub files: Vec<ChangedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Git(String),
    #[error("{0}")]
    Patch(String),
    #[error("{0}")]
    Io(String),
}
