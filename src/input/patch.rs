//! Unified diffs (`git diff`, `git format-patch`, a PR's `.diff`): parsing,
//! and rebuilding a pre-image by reverse-applying the hunks to the
//! post-image.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilePatch {
    /// `None` for an added file.
    pub old_path: Option<String>,
    /// `None` for a deleted file.
    pub new_path: Option<String>,
    pub binary: bool,
    pub hunks: Vec<Hunk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    pub lines: Vec<HunkLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HunkLine {
    Context(String),
    Removed(String),
    Added(String),
    /// `\ No newline at end of file` after the previous line.
    NoNewline,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    #[error("malformed patch at line {line}: {what}")]
    Malformed { line: usize, what: String },
    #[error("the input is not a unified diff (no `---`/`+++` file headers found)")]
    Empty,
}

impl FilePatch {
    /// Lines of the post-image the patch added (1-based, inclusive ranges).
    /// A pure deletion changes no line that still exists.
    pub fn changed_lines(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for h in &self.hunks {
            let mut new_line = h.new_start;
            for l in &h.lines {
                match l {
                    HunkLine::Context(_) => new_line += 1,
                    HunkLine::Added(_) => {
                        out.push((new_line, new_line));
                        new_line += 1;
                    }
                    HunkLine::Removed(_) | HunkLine::NoNewline => {}
                }
            }
        }
        out
    }

    /// Added plus removed lines.
    pub fn lines_changed(&self) -> usize {
        self.hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| matches!(l, HunkLine::Added(_) | HunkLine::Removed(_)))
            .count()
    }

    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }

    /// Rebuild the pre-image from the post-image. `None` post-image means
    /// the file was deleted; then the pre-image is the removed lines.
    pub fn reverse_apply(&self, post: Option<&str>) -> Result<String, String> {
        let post = post.unwrap_or("");
        let post_lines: Vec<&str> = split_keep_ends(post);
        let mut out = String::with_capacity(post.len());
        let mut cursor = 0usize; // index into post_lines
        for (hi, h) in self.hunks.iter().enumerate() {
            // A hunk with new_len 0 starts *after* line new_start.
            let start = if h.new_len == 0 {
                h.new_start as usize
            } else {
                (h.new_start as usize).saturating_sub(1)
            };
            if start < cursor || start > post_lines.len() {
                return Err(format!(
                    "hunk {} starts at line {} outside the file",
                    hi + 1,
                    h.new_start
                ));
            }
            for l in &post_lines[cursor..start] {
                out.push_str(l);
            }
            cursor = start;
            let mut pending_no_newline_old = false;
            let mut last_was: Option<bool> = None; // Some(true) old side
            for l in &h.lines {
                match l {
                    HunkLine::Context(t) | HunkLine::Added(t) => {
                        let got = post_lines.get(cursor).copied().unwrap_or("");
                        if got.trim_end_matches(['\n', '\r']) != t.trim_end_matches('\r') {
                            return Err(format!(
                                "line {} of the file does not match the patch (is the work tree at the patch's post-image?)",
                                cursor + 1
                            ));
                        }
                        cursor += 1;
                        if let HunkLine::Context(_) = l {
                            out.push_str(t);
                            out.push('\n');
                            last_was = Some(true);
                        } else {
                            last_was = Some(false);
                        }
                    }
                    HunkLine::Removed(t) => {
                        out.push_str(t);
                        out.push('\n');
                        last_was = Some(true);
                    }
                    HunkLine::NoNewline => {
                        if last_was == Some(true) {
                            pending_no_newline_old = true;
                        }
                    }
                }
            }
            if pending_no_newline_old && out.ends_with('\n') {
                out.pop();
            }
        }
        for l in &post_lines[cursor.min(post_lines.len())..] {
            out.push_str(l);
        }
        Ok(out)
    }
}

fn split_keep_ends(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// Parse every file section of a unified diff.
pub fn parse(text: &str) -> Result<Vec<FilePatch>, PatchError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut files: Vec<FilePatch> = Vec::new();
    let mut i = 0;
    let mut cur: Option<FilePatch> = None;
    let mut saw_header = false;
    while i < lines.len() {
        let line = lines[i].trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("diff --git ") {
            if let Some(f) = cur.take() {
                files.push(f);
            }
            let (a, b) = split_git_paths(rest);
            cur = Some(FilePatch {
                old_path: a,
                new_path: b,
                ..FilePatch::default()
            });
            saw_header = true;
            i += 1;
            continue;
        }
        if line.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")) {
            let old = header_path(&line[4..]);
            let new = header_path(lines[i + 1].trim_end_matches('\r')[4..].as_ref());
            let f = match cur.take() {
                Some(mut f) if f.hunks.is_empty() => {
                    f.old_path = old;
                    f.new_path = new;
                    f
                }
                Some(f) => {
                    files.push(f);
                    FilePatch {
                        old_path: old,
                        new_path: new,
                        ..FilePatch::default()
                    }
                }
                None => FilePatch {
                    old_path: old,
                    new_path: new,
                    ..FilePatch::default()
                },
            };
            cur = Some(f);
            saw_header = true;
            i += 2;
            continue;
        }
        if let Some(f) = cur.as_mut() {
            if line.starts_with("@@") {
                let (h, next) = parse_hunk(&lines, i)?;
                f.hunks.push(h);
                i = next;
                continue;
            }
            if line.starts_with("Binary files ") || line == "GIT binary patch" {
                f.binary = true;
            } else if line.starts_with("new file mode") {
                f.old_path = None;
            } else if line.starts_with("deleted file mode") {
                f.new_path = None;
            } else if let Some(p) = line.strip_prefix("rename from ") {
                f.old_path = Some(unquote(p));
            } else if let Some(p) = line.strip_prefix("rename to ") {
                f.new_path = Some(unquote(p));
            }
        }
        i += 1;
    }
    if let Some(f) = cur.take() {
        files.push(f);
    }
    if !saw_header {
        return Err(PatchError::Empty);
    }
    Ok(files)
}

fn parse_hunk(lines: &[&str], at: usize) -> Result<(Hunk, usize), PatchError> {
    let header = lines[at].trim_end_matches('\r');
    let bad = |what: &str| PatchError::Malformed {
        line: at + 1,
        what: what.to_string(),
    };
    let inner = header
        .strip_prefix("@@ ")
        .and_then(|r| r.split(" @@").next())
        .ok_or_else(|| bad("hunk header is not `@@ -a,b +c,d @@`"))?;
    let mut parts = inner.split_whitespace();
    let old = parts
        .next()
        .and_then(|p| p.strip_prefix('-'))
        .ok_or_else(|| bad("missing old range"))?;
    let new = parts
        .next()
        .and_then(|p| p.strip_prefix('+'))
        .ok_or_else(|| bad("missing new range"))?;
    let range = |s: &str| -> Option<(u32, u32)> {
        match s.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(old).ok_or_else(|| bad("old range is not numeric"))?;
    let (new_start, new_len) = range(new).ok_or_else(|| bad("new range is not numeric"))?;
    let mut h = Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        lines: Vec::new(),
    };
    let (mut old_seen, mut new_seen) = (0u32, 0u32);
    let mut i = at + 1;
    while i < lines.len() && (old_seen < old_len || new_seen < new_len) {
        let l = lines[i].trim_end_matches('\r');
        match l.as_bytes().first() {
            Some(b' ') => {
                h.lines.push(HunkLine::Context(l[1..].to_string()));
                old_seen += 1;
                new_seen += 1;
            }
            // An empty line inside a hunk is an empty context line whose
            // leading space was stripped (some tools do that).
            None => {
                h.lines.push(HunkLine::Context(String::new()));
                old_seen += 1;
                new_seen += 1;
            }
            Some(b'-') => {
                h.lines.push(HunkLine::Removed(l[1..].to_string()));
                old_seen += 1;
            }
            Some(b'+') => {
                h.lines.push(HunkLine::Added(l[1..].to_string()));
                new_seen += 1;
            }
            Some(b'\\') => h.lines.push(HunkLine::NoNewline),
            _ => {
                return Err(PatchError::Malformed {
                    line: i + 1,
                    what: format!(
                        "hunk ended early: expected {old_len} old and {new_len} new lines, got {old_seen} and {new_seen}"
                    ),
                })
            }
        }
        i += 1;
    }
    if old_seen != old_len || new_seen != new_len {
        return Err(PatchError::Malformed {
            line: i.min(lines.len()),
            what: format!("hunk is truncated: expected {old_len} old and {new_len} new lines"),
        });
    }
    if lines.get(i).is_some_and(|l| l.starts_with('\\')) {
        h.lines.push(HunkLine::NoNewline);
        i += 1;
    }
    Ok((h, i))
}

fn header_path(p: &str) -> Option<String> {
    let p = p.split('\t').next().unwrap_or(p).trim_end();
    if p == "/dev/null" {
        return None;
    }
    let p = unquote(p);
    Some(strip_prefix_dir(&p).to_string())
}

fn strip_prefix_dir(p: &str) -> &str {
    for pre in ["a/", "b/", "i/", "w/", "c/", "o/"] {
        if let Some(r) = p.strip_prefix(pre) {
            return r;
        }
    }
    p
}

fn split_git_paths(rest: &str) -> (Option<String>, Option<String>) {
    let rest = rest.trim_end();
    if rest.starts_with('"') {
        let parts: Vec<&str> = rest.splitn(2, "\" ").collect();
        if parts.len() == 2 {
            let a = unquote(&format!("{}\"", parts[0]));
            let b = unquote(parts[1]);
            return (
                Some(strip_prefix_dir(&a).into()),
                Some(strip_prefix_dir(&b).into()),
            );
        }
    }
    // `a/x b/x`: split in the middle when both halves agree in length.
    if let Some(idx) = rest.find(" b/") {
        let (a, b) = rest.split_at(idx);
        return (
            Some(strip_prefix_dir(a).into()),
            Some(strip_prefix_dir(b.trim_start()).into()),
        );
    }
    (None, None)
}

fn unquote(p: &str) -> String {
    let p = p.trim();
    if !(p.starts_with('"') && p.ends_with('"') && p.len() >= 2) {
        return p.to_string();
    }
    let inner = &p[1..p.len() - 1];
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let e = b[i + 1];
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'"' | b'\\' => out.push(e),
                b'0'..=b'7' => {
                    let oct = &inner[i + 1..(i + 4).min(inner.len())];
                    out.push(u8::from_str_radix(oct, 8).unwrap_or(b'?'));
                    i += 4;
                    continue;
                }
                _ => out.push(e),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/app/w.py b/app/w.py\nindex 1..2 100644\n--- a/app/w.py\n+++ b/app/w.py\n@@ -1,4 +1,4 @@\n import hmac\n-if hmac.compare_digest(a, b):\n+if a == b:\n     pass\n x = 1\n@@ -10,2 +10,3 @@ def f():\n y = 2\n+z = 3\n w = 4\ndiff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\ndiff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a = 1\n-b = 2\ndiff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n";

    #[test]
    fn parses_modifications_renames_deletions_and_binaries() {
        let files = parse(PATCH).unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(files[0].hunks.len(), 2);
        assert_eq!(files[0].changed_lines(), vec![(2, 2), (11, 11)]);
        assert_eq!(files[0].lines_changed(), 3);
        assert_eq!(files[1].old_path.as_deref(), Some("old.py"));
        assert_eq!(files[1].new_path.as_deref(), Some("new.py"));
        assert_eq!(files[2].new_path, None);
        assert!(files[3].binary);
    }

    #[test]
    fn reverse_apply_rebuilds_the_pre_image() {
        let files = parse(PATCH).unwrap();
        let mut post = String::from("import hmac\nif a == b:\n    pass\nx = 1\n");
        for i in 5..=9 {
            post.push_str(&format!("l{i}\n"));
        }
        post.push_str("y = 2\nz = 3\nw = 4\ntail\n");
        let pre = files[0].reverse_apply(Some(&post)).unwrap();
        assert!(pre.contains("if hmac.compare_digest(a, b):\n"));
        assert!(!pre.contains("z = 3"));
        assert!(pre.ends_with("y = 2\nw = 4\ntail\n"));
        assert_eq!(files[2].reverse_apply(None).unwrap(), "a = 1\nb = 2\n");
    }

    #[test]
    fn mismatched_and_malformed_patches_are_errors() {
        let files = parse(PATCH).unwrap();
        assert!(files[0].reverse_apply(Some("something else\n")).is_err());
        let bad = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n";
        assert!(matches!(parse(bad), Err(PatchError::Malformed { .. })));
        assert_eq!(parse("hello\n"), Err(PatchError::Empty));
        assert!(parse("--- a/x\n+++ b/x\n@@ nonsense @@\n").is_err());
    }

    #[test]
    fn added_file_and_no_newline_marker() {
        let p =
            "--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n";
        let f = &parse(p).unwrap()[0];
        assert_eq!(f.old_path, None);
        assert_eq!(f.changed_lines(), vec![(1, 1), (2, 2)]);
        let q =
            "--- a/n.py\n+++ b/n.py\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n";
        let f = &parse(q).unwrap()[0];
        assert_eq!(f.reverse_apply(Some("a\nc\n")).unwrap(), "a\nb");
    }
}
