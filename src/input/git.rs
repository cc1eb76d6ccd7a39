//! Git through libgit2: the default base, merge-bases, and the files a
//! change touched, with base and head bytes read from the object database
//! (or the work tree).

use super::{Change, ChangedFile, InputError};
use git2::{Delta, Diff, DiffFindOptions, DiffOptions, Oid, Repository, Tree};
use std::path::{Path, PathBuf};

pub struct Repo {
    pub repo: Repository,
}

fn err(msg: impl Into<String>) -> InputError {
    InputError::Git(msg.into())
}

impl Repo {
    pub fn discover(dir: &Path) -> Result<Repo, InputError> {
        Repository::discover(dir)
            .map(|repo| Repo { repo })
            .map_err(|_| err(format!("{} is not inside a git repository; run tenant-lint in a checkout, or use `--all PATH` or `--diff FILE`", dir.display())))
    }

    /// Work-tree root (the repository directory for a bare repository).
    pub fn root(&self) -> PathBuf {
        self.repo
            .workdir()
            .unwrap_or_else(|| self.repo.path())
            .to_path_buf()
    }

    pub fn is_bare(&self) -> bool {
        self.repo.is_bare()
    }

    /// `main`, else `master`, else `origin/HEAD`'s target.
    pub fn default_base(&self) -> Result<String, InputError> {
        const TRIED: [&str; 5] = [
            "main",
            "master",
            "origin/main",
            "origin/master",
            "origin/HEAD",
        ];
        for r in TRIED {
            if self
                .repo
                .revparse_single(r)
                .and_then(|o| o.peel_to_commit())
                .is_ok()
            {
                return Ok(r.to_string());
            }
        }
        Err(err(format!(
            "no base branch found (tried {}); pass the branch to compare against with --base REF",
            TRIED.join(", ")
        )))
    }

    fn commit_oid(&self, rev: &str, what: &str) -> Result<Oid, InputError> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|_| {
                let shallow = if self.repo.is_shallow() {
                    " This clone is shallow: fetch full history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)."
                } else {
                    ""
                };
                err(format!("{what} `{rev}` does not name a commit in this repository.{shallow}"))
            })
    }

    fn merge_base(&self, base: &str, head: Oid) -> Result<Oid, InputError> {
        let b = self.commit_oid(base, "base")?;
        self.repo.merge_base(b, head).map_err(|_| {
            let hint = if self.repo.is_shallow() {
                "the clone is shallow: fetch full history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)"
            } else {
                "the histories are unrelated; pass a base that shares history with HEAD via --base"
            };
            err(format!("no merge-base between `{base}` and the head: {hint}"))
        })
    }

    fn head_oid(&self) -> Result<Oid, InputError> {
        self.commit_oid("HEAD", "HEAD")
            .map_err(|_| err("HEAD has no commit yet; commit something first, or use `--all`"))
    }

    fn tree(&self, oid: Oid) -> Result<Tree<'_>, InputError> {
        self.repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| err(format!("cannot read the tree of {oid}: {}", e.message())))
    }

    /// The name of what is reviewed: the PR branch in GitHub Actions, the
    /// revision's branch name, else the revision as given.
    pub fn review_name(&self, rev: &str) -> String {
        if let Some(b) = std::env::var("GITHUB_HEAD_REF")
            .ok()
            .filter(|b| !b.is_empty())
        {
            return b;
        }
        if rev == "HEAD" {
            return self.branch_name();
        }
        short_rev(rev)
    }

    pub fn branch_name(&self) -> String {
        if let Some(b) = std::env::var("GITHUB_HEAD_REF")
            .ok()
            .filter(|b| !b.is_empty())
        {
            return b;
        }
        self.repo
            .head()
            .ok()
            .and_then(|h| h.shorthand().map(String::from))
            .unwrap_or_else(|| "HEAD".into())
    }

    /// Merge-base of `base` and HEAD → work tree (committed, staged,
    /// unstaged and untracked files).
    pub fn worktree_change(&self, base: &str) -> Result<Change, InputError> {
        if self.is_bare() {
            return Err(err("this is a bare repository: there is no work tree; pass --head REV to lint a commit"));
        }
        let mb = self.merge_base(base, self.head_oid()?)?;
        let tree = self.tree(mb)?;
        let mut opts = diff_options();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .show_untracked_content(true);
        let diff = self
            .repo
            .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
            .map_err(|e| err(format!("git diff failed: {}", e.message())))?;
        let files = self.collect(diff, Side::Workdir)?;
        Ok(Change {
            description: format!("git diff {base}"),
            branch: self.branch_name(),
            files,
        })
    }

    /// Merge-base of `base` and `head` → `head`, all from the object database.
    pub fn commit_change(&self, base: &str, head: &str) -> Result<Change, InputError> {
        let h = self.commit_oid(head, "head")?;
        let mb = self.merge_base(base, h)?;
        let diff = self
            .repo
            .diff_tree_to_tree(
                Some(&self.tree(mb)?),
                Some(&self.tree(h)?),
                Some(&mut diff_options()),
            )
            .map_err(|e| err(format!("git diff failed: {}", e.message())))?;
        let files = self.collect(diff, Side::Objects)?;
        Ok(Change {
            description: format!("git diff {}...{}", short_rev(base), short_rev(head)),
            branch: self.review_name(head),
            files,
        })
    }

    /// HEAD → index (what `git commit` would record).
    pub fn staged_change(&self) -> Result<Change, InputError> {
        let tree = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        let diff = self
            .repo
            .diff_tree_to_index(tree.as_ref(), None, Some(&mut diff_options()))
            .map_err(|e| err(format!("git diff --staged failed: {}", e.message())))?;
        let files = self.collect(diff, Side::Objects)?;
        Ok(Change {
            description: "staged changes".into(),
            branch: self.branch_name(),
            files,
        })
    }

    /// Bytes of `path` in revision `rev`.
    pub fn read_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, InputError> {
        let oid = self.commit_oid(rev, "head")?;
        let tree = self.tree(oid)?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        Ok(self
            .repo
            .find_blob(entry.id())
            .ok()
            .map(|b| b.content().to_vec()))
    }

    /// Every blob path in revision `rev` (for `--all` with `--head`).
    pub fn list_tree(&self, rev: &str) -> Result<Vec<String>, InputError> {
        let tree = self.tree(self.commit_oid(rev, "head")?)?;
        let mut out = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                out.push(format!("{dir}{}", entry.name().unwrap_or("")));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(|e| err(format!("cannot list {rev}: {}", e.message())))?;
        Ok(out)
    }

    fn blob(&self, oid: Oid) -> Option<Vec<u8>> {
        if oid.is_zero() {
            return None;
        }
        self.repo.find_blob(oid).ok().map(|b| b.content().to_vec())
    }

    fn collect(&self, mut diff: Diff, side: Side) -> Result<Vec<ChangedFile>, InputError> {
        diff.find_similar(Some(
            DiffFindOptions::new().renames(true).for_untracked(true),
        ))
        .map_err(|e| err(format!("rename detection failed: {}", e.message())))?;
        let root = self.root();
        let mut out = Vec::new();
        for (i, delta) in diff.deltas().enumerate() {
            let status = delta.status();
            if matches!(status, Delta::Unmodified | Delta::Ignored) {
                continue;
            }
            let path_of =
                |f: git2::DiffFile| f.path().map(|p| p.to_string_lossy().replace('\\', "/"));
            let old_path = match status {
                Delta::Added | Delta::Untracked => None,
                _ => path_of(delta.old_file()),
            };
            let new_path = match status {
                Delta::Deleted => None,
                _ => path_of(delta.new_file()),
            };
            let base = old_path
                .as_ref()
                .and_then(|_| self.blob(delta.old_file().id()));
            let head = match (&new_path, side) {
                (None, _) => None,
                (Some(p), Side::Workdir) => std::fs::read(root.join(p)).ok(),
                (Some(_), Side::Objects) => self.blob(delta.new_file().id()),
            };
            let mut file = ChangedFile {
                old_path,
                new_path,
                base,
                head,
                binary: delta.flags().is_binary(),
                ..ChangedFile::default()
            };
            if let Ok(Some(patch)) = git2::Patch::from_diff(&diff, i) {
                file.binary |= delta.flags().is_binary();
                for h in 0..patch.num_hunks() {
                    let Ok((_, n)) = patch.hunk(h) else { continue };
                    for l in 0..n {
                        let Ok(line) = patch.line_in_hunk(h, l) else {
                            continue;
                        };
                        match line.origin() {
                            '+' => {
                                file.lines_changed += 1;
                                if let Some(n) = line.new_lineno() {
                                    file.changed.push((n, n));
                                }
                            }
                            '-' => file.lines_changed += 1,
                            _ => {}
                        }
                    }
                }
            }
            out.push(file);
        }
        Ok(out)
    }
}

/// A 40-hex object id shortened for people; names are kept.
pub fn short_rev(rev: &str) -> String {
    if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        rev[..12].to_string()
    } else {
        rev.to_string()
    }
}

#[derive(Clone, Copy)]
enum Side {
    Workdir,
    Objects,
}

fn diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    o.context_lines(0).ignore_submodules(true);
    o
}
