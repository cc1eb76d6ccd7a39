//! tenant-lint: static analysis that stops tenant-isolation regressions.
//!
//! The pipeline, one module each, data flowing one way:
//! `input` (git, patches, paths) → `lang` (parse once) → `index` (project
//! facts) → `rules` (pure checks) → `engine` (pre-filter, suppressions,
//! fingerprints) → `report` (one renderer per format). `app` wires them.

pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod index;
pub mod input;
pub mod lang;
pub mod memo;
pub mod report;
pub mod rules;
