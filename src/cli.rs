//! Command-line interface.

use crate::report::Format;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "tenant-lint",
    version,
    about = "Static analysis that stops tenant-isolation regressions before they merge",
    long_about = "With no arguments, in a git work tree: reviews the change between the merge-base of HEAD and the default base branch (main, else master, else origin/HEAD) and the work tree."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Compare against the merge-base of REF and HEAD.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Analyse REV's tree from the object database instead of the work tree.
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Review the staged changes (the index against HEAD).
    #[arg(long, conflicts_with_all = ["diff", "all", "head"])]
    pub staged: bool,
    /// Read a unified diff from FILE, or from stdin with `-`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["all", "base"])]
    pub diff: Option<String>,
    /// Analyse every supported file under PATHS (default `.`), honouring .gitignore.
    #[arg(long, value_name = "PATHS", num_args = 0.., conflicts_with = "base")]
    pub all: Option<Vec<PathBuf>>,
    /// Output format (default: text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Use this config file instead of discovering one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these rules (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub select: Vec<String>,
    /// Skip these rules (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value = "hard")]
    pub fail_on: FailOn,
    /// Ignore the findings recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// The pull-request description, for rules that check it.
    #[arg(long, value_name = "FILE")]
    pub pr_body: Option<PathBuf>,
    /// Also list suppressed findings.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Worker threads (default: available cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Print only findings.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print what was analysed, what the pre-filter let through to each
    /// rule and how long it took, on stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not read or write the schema-facts cache (.tenant-lint-cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Run every rule on every file (disables the byte pre-filter).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every rule.
    Rules,
    /// Print a rule's documentation.
    Rule {
        /// Rule id (TL013) or name (constant-time-compare).
        id: String,
    },
    /// Write a commented starter tenant-lint.toml.
    Init {
        /// Preset to start from (generic, klai).
        #[arg(long, default_value = "generic")]
        preset: String,
        /// Where to write it.
        #[arg(long, default_value = "tenant-lint.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Hard,
    Soft,
    Never,
}
