//! A cache of per-file schema facts, keyed by path and content, so a diff
//! review does not re-parse every unchanged migration and model to build
//! the project index. Facts do not depend on configuration, so one cache
//! serves every run of one tenant-lint version.

use crate::index::facts::FileFacts;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Stored {
    version: String,
    entries: HashMap<String, FileFacts>,
}

pub struct FactsCache {
    file: PathBuf,
    stored: Mutex<Stored>,
    used: Mutex<HashMap<String, FileFacts>>,
}

/// The entry key of one file version: two 64-bit hashes of the path and
/// the exact bytes (whitespace included: indentation is meaning in
/// Python), read eight bytes at a time, and the length.
fn key(path: &str, bytes: &[u8]) -> String {
    let (mut a, mut b): (u64, u64) = (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344);
    let mut mix = |w: u64| {
        a = (a.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        b = (b ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    };
    for part in [path.as_bytes(), &[0xff], bytes] {
        let mut chunks = part.chunks_exact(8);
        for c in &mut chunks {
            mix(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
        }
    }
    format!("{a:016x}{b:016x}-{}", bytes.len())
}

impl FactsCache {
    /// Open (or start) the cache in `dir`; an unreadable cache is empty.
    pub fn open(dir: &Path) -> FactsCache {
        let file = dir.join(format!("facts-v{}-f3.json", env!("CARGO_PKG_VERSION")));
        let stored = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
            .filter(|s| s.version == env!("CARGO_PKG_VERSION"))
            .unwrap_or_default();
        FactsCache {
            file,
            stored: Mutex::new(stored),
            used: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, path: &str, bytes: &[u8]) -> Option<FileFacts> {
        let k = key(path, bytes);
        let hit = self.stored.lock().ok()?.entries.get(&k).cloned();
        if let (Some(f), Ok(mut used)) = (&hit, self.used.lock()) {
            used.insert(k, f.clone());
        }
        hit
    }

    pub fn put(&self, path: &str, bytes: &[u8], facts: &FileFacts) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(key(path, bytes), facts.clone());
        }
    }

    /// Keep exactly the entries this run used; best effort.
    pub fn save(self) {
        let Ok(used) = self.used.into_inner() else {
            return;
        };
        let stored = Stored {
            version: env!("CARGO_PKG_VERSION").to_string(),
            entries: used,
        };
        let Some(dir) = self.file.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let _ = std::fs::write(dir.join(".gitignore"), "# Created by tenant-lint.\n*\n");
        let tmp = self.file.with_extension("tmp");
        if let Ok(text) = serde_json::to_vec(&stored) {
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &self.file);
            }
        }
        // Caches of other versions or formats are never read again.
        for old in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = old.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("facts-") && name.ends_with(".json") && old.path() != self.file {
                let _ = std::fs::remove_file(old.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_see_every_byte_and_the_path() {
        let src =
            b"def upgrade():\n    op.execute(\"ALTER TABLE notes ENABLE ROW LEVEL SECURITY\")\n";
        let k = key("m/001.py", src);
        assert_eq!(k, key("m/001.py", src));
        assert_ne!(k, key("m/002.py", src));
        // Indentation alone changes what a Python file says: the same
        // bytes with the indent moved to the end of the line differ.
        let inside = b"def upgrade():\n    run()\n";
        let outside = b"def upgrade():\nrun()    \n";
        assert_ne!(key("m/001.py", inside), key("m/001.py", outside));
        for i in 0..src.len() {
            let mut flipped = src.to_vec();
            flipped[i] ^= 1;
            assert_ne!(key("m/001.py", &flipped), k, "byte {i}");
        }
    }
}
