//! Property tests: the diff parser and the embedded-SQL mapper never panic
//! and round-trip what they are given.

use proptest::prelude::*;
use tenant_lint::input::patch;
use tenant_lint::lang::{embedded, sql, Language, ParsedFile};

/// One edit: (position, lines removed, lines inserted).
type Edit = (usize, usize, Vec<String>);

/// A file and an edit script over it.
fn edits() -> impl Strategy<Value = (Vec<String>, Vec<Edit>)> {
    let line = "[a-z =(){}'\"#]{0,12}";
    (
        prop::collection::vec(line, 0..30),
        prop::collection::vec(
            (0usize..30, 0usize..4, prop::collection::vec(line, 0..4)),
            0..6,
        ),
    )
}

/// Apply non-overlapping edits and write them as a `-U0` unified diff.
fn make_patch(pre: &[String], raw: &[Edit]) -> (String, String) {
    let mut ops: Vec<Edit> = Vec::new();
    let mut next_free = 0;
    let mut sorted = raw.to_vec();
    sorted.sort_by_key(|e| e.0);
    for (pos, del, ins) in sorted {
        let pos = pos.min(pre.len());
        if pos < next_free {
            continue;
        }
        let del = del.min(pre.len() - pos);
        if del == 0 && ins.is_empty() {
            continue;
        }
        next_free = pos + del + 1;
        ops.push((pos, del, ins));
    }
    let mut post: Vec<String> = Vec::new();
    let mut diff = String::from("--- a/f.py\n+++ b/f.py\n");
    let mut cursor = 0;
    for (pos, del, ins) in &ops {
        post.extend(pre[cursor..*pos].iter().cloned());
        let old_start = if *del == 0 { *pos } else { pos + 1 };
        let new_start = if ins.is_empty() {
            post.len()
        } else {
            post.len() + 1
        };
        diff.push_str(&format!(
            "@@ -{old_start},{del} +{new_start},{} @@\n",
            ins.len()
        ));
        for l in &pre[*pos..pos + del] {
            diff.push_str(&format!("-{l}\n"));
        }
        for l in ins {
            diff.push_str(&format!("+{l}\n"));
            post.push(l.clone());
        }
        cursor = pos + del;
    }
    post.extend(pre[cursor..].iter().cloned());
    let post = post.iter().map(|l| format!("{l}\n")).collect::<String>();
    (diff, post)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn patch_parser_never_panics(input in "(?s).{0,400}") {
        let _ = patch::parse(&input);
        let _ = patch::parse(&format!("--- a/x\n+++ b/x\n{input}"));
    }

    #[test]
    fn reverse_apply_rebuilds_the_pre_image((pre, raw) in edits()) {
        let (diff, post) = make_patch(&pre, &raw);
        let files = patch::parse(&diff).expect("generated diff parses");
        prop_assert_eq!(files.len(), 1);
        let rebuilt = files[0].reverse_apply(Some(&post)).expect("applies");
        let expected: String = pre.iter().map(|l| format!("{l}\n")).collect();
        prop_assert_eq!(rebuilt, expected);
    }

    #[test]
    fn sql_splitter_stays_in_bounds(input in "(?s).{0,300}") {
        for r in sql::split_statements(&input) {
            prop_assert!(r.start <= r.end && r.end <= input.len());
            prop_assert!(input.is_char_boundary(r.start) && input.is_char_boundary(r.end));
        }
        let _ = sql::SqlFile::parse(&input);
    }

    #[test]
    fn python_literals_decode_and_map_back(body in "[ -~é€\\t\\n\\\\'\"]{0,60}") {
        let sql = format!("SELECT {body}");
        let mut lit = String::from("\"");
        for c in sql.chars() {
            match c {
                '"' => lit.push_str("\\\""),
                '\\' => lit.push_str("\\\\"),
                '\n' => lit.push_str("\\n"),
                '\t' => lit.push_str("\\t"),
                c => lit.push(c),
            }
        }
        lit.push('"');
        let src = format!("def f(db):\n    db.execute({lit})\n");
        let file = ParsedFile::parse("m.py", Language::Python, &src).expect("parses");
        let found = file.embedded_sql();
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(&found[0].text, &sql);
        // Every plain character maps to itself in the host file.
        for (i, c) in sql.char_indices() {
            if c == '"' || c == '\\' || c == '\n' || c == '\t' {
                continue;
            }
            let at = found[0].host_offset(i);
            prop_assert_eq!(src[at..].chars().next(), Some(c));
        }
    }

    #[test]
    fn rust_literals_decode_and_map_back(body in "[ -~é\\n\\\\\"]{0,60}") {
        let sql = format!("SELECT {body}");
        let lit: String = std::iter::once('"')
            .chain(sql.chars().flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                '\n' => vec!['\\', 'n'],
                c => vec![c],
            }))
            .chain(std::iter::once('"'))
            .collect();
        let src = format!("fn f() {{ let q = sqlx::query({lit}); }}\n");
        let file = ParsedFile::parse("m.rs", Language::Rust, &src).expect("parses");
        let found = file.embedded_sql();
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(&found[0].text, &sql);
        for (i, c) in sql.char_indices() {
            if matches!(c, '"' | '\\' | '\n') {
                continue;
            }
            let at = found[0].host_offset(i);
            prop_assert_eq!(src[at..].chars().next(), Some(c));
        }
    }

    #[test]
    fn decoders_never_panic(lit in "(?s).{0,80}") {
        let _ = embedded::decode_python_string(&lit, 0);
        let _ = embedded::decode_rust_string(&lit, 0);
        let _ = ParsedFile::parse("x.py", Language::Python, &lit);
        let _ = ParsedFile::parse("x.rs", Language::Rust, &lit);
    }
}
