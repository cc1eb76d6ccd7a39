//! `--all`: every supported file under some paths, `.gitignore` honoured.

use super::InputError;
use crate::lang::Language;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Supported files under `paths`, as (repository-relative path, disk path),
/// sorted. `root` is what paths are made relative to.
pub fn supported_files(
    root: &Path,
    paths: &[PathBuf],
    threads: usize,
) -> Result<Vec<(String, PathBuf)>, InputError> {
    for p in paths {
        if !p.exists() {
            return Err(InputError::Io(format!("{} does not exist", p.display())));
        }
    }
    let (first, rest) = paths
        .split_first()
        .ok_or_else(|| InputError::Io("no paths to scan".into()))?;
    let mut b = ignore::WalkBuilder::new(first);
    for p in rest {
        b.add(p);
    }
    b.hidden(true)
        .git_ignore(true)
        .require_git(false)
        .threads(threads.max(1));
    let found = Mutex::new(Vec::new());
    b.build_parallel().run(|| {
        Box::new(|entry| {
            if let Ok(e) = entry {
                if e.file_type().is_some_and(|t| t.is_file()) {
                    let disk = e.path();
                    let name = disk.to_string_lossy();
                    if Language::from_path(&name).is_some()
                        || crate::index::deploy::is_deploy_file(&name)
                    {
                        let rel = relative(root, disk);
                        if let Ok(mut v) = found.lock() {
                            v.push((rel, disk.to_path_buf()));
                        }
                    }
                }
            }
            ignore::WalkState::Continue
        })
    });
    let mut v = found.into_inner().unwrap_or_default();
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    Ok(v)
}

/// `disk` relative to `root`, with `/`.
pub fn relative(root: &Path, disk: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (r, d) = (abs(root), abs(disk));
    let rel = d
        .strip_prefix(&r)
        .map(Path::to_path_buf)
        .unwrap_or(d.clone());
    let s = rel.to_string_lossy().replace('\\', "/");
    s.trim_start_matches("./").to_string()
}
