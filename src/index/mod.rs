//! Project index: facts about the repository as a whole that single-file
//! rules need — which tables exist, which are tenant tables, their RLS
//! state and policies. Built once per run from the head revision's SQL
//! (standalone files and SQL embedded in Python/Rust), in path order, so a
//! later migration's statement overrides an earlier one's.

use crate::lang::sql::SqlFile;
use sqlparser::ast::{AlterTableOperation, ObjectName, Statement};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct ProjectIndex {
    pub tables: BTreeMap<String, TableFacts>,
}

#[derive(Debug, Default, Clone)]
pub struct TableFacts {
    pub columns: Vec<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: BTreeMap<String, PolicyFacts>,
    /// Where the table was created (`path`).
    pub defined_in: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PolicyFacts {
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE`, `DELETE`.
    pub command: String,
    pub permissive: bool,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

/// Bytes that must appear in a file for it to hold schema facts.
pub const SCHEMA_TRIGGERS: &[&str] = &[
    "create table",
    "alter table",
    "create policy",
    "drop policy",
    "drop table",
];

impl ProjectIndex {
    /// Fold one piece of SQL (a file or an embedded string) into the index.
    pub fn add_sql(&mut self, path: &str, sql: &SqlFile) {
        for stmt in &sql.statements {
            if let Ok(ast) = &stmt.ast {
                self.apply(path, ast);
            }
        }
    }

    fn apply(&mut self, path: &str, ast: &Statement) {
        match ast {
            Statement::CreateTable(ct) => {
                let t = self.tables.entry(table_key(&ct.name)).or_default();
                t.columns = ct
                    .columns
                    .iter()
                    .map(|c| c.name.value.to_ascii_lowercase())
                    .collect();
                t.defined_in = Some(path.to_string());
            }
            Statement::AlterTable(at) => {
                let t = self.tables.entry(table_key(&at.name)).or_default();
                for op in &at.operations {
                    match op {
                        AlterTableOperation::EnableRowLevelSecurity => t.rls_enabled = true,
                        AlterTableOperation::DisableRowLevelSecurity => t.rls_enabled = false,
                        AlterTableOperation::ForceRowLevelSecurity => t.rls_forced = true,
                        AlterTableOperation::NoForceRowLevelSecurity => t.rls_forced = false,
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            t.columns.push(column_def.name.value.to_ascii_lowercase())
                        }
                        _ => {}
                    }
                }
            }
            Statement::CreatePolicy(p) => {
                let t = self.tables.entry(table_key(&p.table_name)).or_default();
                t.policies.insert(
                    p.name.value.clone(),
                    PolicyFacts {
                        command: p
                            .command
                            .as_ref()
                            .map_or("ALL".into(), |c| c.to_string().to_ascii_uppercase()),
                        permissive: !p
                            .policy_type
                            .as_ref()
                            .is_some_and(|t| t.to_string().eq_ignore_ascii_case("restrictive")),
                        using: p.using.as_ref().map(|e| e.to_string()),
                        with_check: p.with_check.as_ref().map(|e| e.to_string()),
                    },
                );
            }
            Statement::DropPolicy(d) => {
                if let Some(t) = self.tables.get_mut(&table_key(&d.table_name)) {
                    t.policies.remove(&d.name.value);
                }
            }
            _ => {}
        }
    }

    /// Is `table` a tenant table under these tenant column names?
    pub fn is_tenant_table(&self, table: &str, tenant_columns: &[String]) -> bool {
        self.tables
            .get(&table.to_ascii_lowercase())
            .is_some_and(|t| t.columns.iter().any(|c| tenant_columns.contains(c)))
    }
}

/// Tables are keyed by their unqualified, lower-cased name.
fn table_key(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_statements_undo_earlier_ones() {
        let mut idx = ProjectIndex::default();
        idx.add_sql(
            "migrations/001.sql",
            &SqlFile::parse(
                "CREATE TABLE public.notes (id uuid primary key, org_id uuid not null);
                 ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE notes FORCE ROW LEVEL SECURITY;
                 CREATE POLICY tenant_isolation ON notes USING (org_id = current_setting('app.org_id')::uuid) WITH CHECK (org_id = current_setting('app.org_id')::uuid);",
            ),
        );
        let t = &idx.tables["notes"];
        assert!(t.rls_enabled && t.rls_forced);
        assert_eq!(t.policies["tenant_isolation"].command, "ALL");
        assert!(t.policies["tenant_isolation"].with_check.is_some());
        assert!(idx.is_tenant_table("notes", &["org_id".into()]));

        idx.add_sql(
            "migrations/002.sql",
            &SqlFile::parse("ALTER TABLE notes NO FORCE ROW LEVEL SECURITY; DROP POLICY tenant_isolation ON notes;"),
        );
        let t = &idx.tables["notes"];
        assert!(t.rls_enabled && !t.rls_forced);
        assert!(t.policies.is_empty());
    }
}
