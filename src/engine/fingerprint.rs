//! Line-independent fingerprints: rule + path + the offending code with its
//! whitespace normalised. Moving code, reformatting other code or editing
//! other lines leaves a finding's fingerprint unchanged.

/// 64-bit FNV-1a, written out so fingerprints never change with a
/// dependency's hashing.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Collapse every run of whitespace to one space, trim the ends.
pub fn normalise(code: &str) -> String {
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn of(rule: &str, path: &str, code: &str) -> String {
    format!(
        "{:016x}",
        fnv1a(&[rule.as_bytes(), path.as_bytes(), normalise(code).as_bytes()])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_does_not_matter_but_code_and_path_do() {
        let a = of("TL013", "app/w.py", "signature == expected");
        assert_eq!(a, of("TL013", "app/w.py", "signature  ==\n    expected"));
        assert_ne!(a, of("TL013", "app/x.py", "signature == expected"));
        assert_ne!(a, of("TL013", "app/w.py", "signature == other"));
        assert_eq!(a.len(), 16);
    }
}
