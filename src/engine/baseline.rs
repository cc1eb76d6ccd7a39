//! Baselines: the findings a repository accepted when it adopted
//! tenant-lint. Stored as fingerprints with counts, so that identical
//! findings in one file are matched one for one.

use super::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    /// For people reading the file; not used for matching.
    pub title: String,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl Baseline {
    pub fn from_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Baseline {
        let mut map: BTreeMap<(String, String), Entry> = BTreeMap::new();
        for f in findings {
            map.entry((f.path.clone(), f.fingerprint.clone()))
                .and_modify(|e| e.count += 1)
                .or_insert_with(|| Entry {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.id.to_string(),
                    path: f.path.clone(),
                    title: f.title.clone(),
                    count: 1,
                });
        }
        Baseline {
            version: 1,
            findings: map.into_values().collect(),
        }
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline =
            serde_json::from_str(text).map_err(|e| format!("not a tenant-lint baseline ({e})"))?;
        if b.version != 1 {
            return Err(format!("unsupported baseline version {}", b.version));
        }
        Ok(b)
    }

    /// Remove the findings the baseline accounts for; returns how many.
    pub fn filter(&self, findings: &mut Vec<Finding>) -> usize {
        let mut budget: BTreeMap<&str, u32> = BTreeMap::new();
        for e in &self.findings {
            *budget.entry(e.fingerprint.as_str()).or_default() += e.count;
        }
        let before = findings.len();
        findings.retain(|f| match budget.get_mut(f.fingerprint.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        });
        before - findings.len()
    }
}
