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

fn key(path: &str, bytes: &[u8]) -> String {
    super::fingerprint::of("facts", path, &String::from_utf8_lossy(bytes))
        + &format!("-{}", bytes.len())
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
    }
}
