//! Project index: what the repository as a whole says about its schema —
//! tables, tenant columns, RLS state, policies, views, functions — built
//! once per revision from every file's facts, applied in migration order
//! (alembic `down_revision` chains, file-name order elsewhere) so that a
//! later `DISABLE` or `DROP POLICY` undoes an earlier `ENABLE` or
//! `CREATE POLICY`. Downgrades never change the index.

pub mod deploy;
pub mod facts;
pub mod fallback;

use crate::config::Config;
use facts::{Event, FileFacts, Origin, Policy, RlsChange, Site};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct ProjectIndex {
    pub tables: BTreeMap<String, TableState>,
    /// Directory → texts of its deploy files (Dockerfile, entrypoint, compose).
    pub deploy: BTreeMap<String, Vec<String>>,
    /// SQLAlchemy model class → its table.
    pub models: BTreeMap<String, String>,
    files: BTreeMap<String, FileFacts>,
    /// (path, host offset) of each fact → its position in migration order.
    seq: HashMap<(String, usize), usize>,
    /// Routers mounted by other modules (`include_router`).
    pub mounts: Vec<facts::Mount>,
    /// The setting most policies read, computed on first use.
    learned: std::sync::OnceLock<Option<String>>,
}

#[derive(Debug, Default, Clone)]
pub struct TableState {
    pub columns: BTreeSet<String>,
    /// Column → SQL type, where known.
    pub column_types: BTreeMap<String, String>,
    /// Where the table is created: migrations and models, with the
    /// columns each creation names.
    pub created: Vec<(Site, Origin, Vec<String>)>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: BTreeMap<String, (Policy, Site)>,
    /// Positions (migration order) of every CREATE POLICY on the table.
    pub policy_created: Vec<usize>,
    pub dropped: bool,
}

impl TableState {
    /// Created by a migration (SQL or alembic), not only declared by a
    /// model or a diesel schema.
    pub fn has_migration(&self) -> bool {
        self.created
            .iter()
            .any(|(_, o, _)| matches!(o, Origin::Sql | Origin::Alembic))
    }
}

impl ProjectIndex {
    pub fn build(files: Vec<FileFacts>) -> ProjectIndex {
        let mut idx = ProjectIndex::default();
        let order = migration_order(&files);
        let mut n = 0usize;
        for i in order {
            let f = &files[i];
            for fact in f.facts.iter().filter(|f| !f.reverting) {
                n += 1;
                idx.seq
                    .insert((fact.site.path.clone(), fact.site.range.start), n);
                idx.apply(&fact.event, &fact.site, n);
            }
        }
        for f in files {
            idx.mounts.extend(f.mounts.iter().cloned());
            if let Some(text) = &f.deploy {
                let dir = deploy::service_dir_of(&f.path);
                idx.deploy.entry(dir).or_default().push(text.clone());
            }
            idx.files.insert(f.path.clone(), f);
        }
        idx
    }

    /// The prefix under which another module mounts the router `router`
    /// of the Python file at `path` (`app/api/admin.py`, or
    /// `src/app/api/admin.py` for the module `app.api.admin`).
    pub fn mount_prefix(&self, path: &str, router: &str) -> Option<String> {
        self.mounts
            .iter()
            .find(|m| m.router == router && is_module(path, &m.module))
            .map(|m| m.prefix.clone())
    }

    /// Mounts one index has and the other has not (a router mounted,
    /// unmounted or moved to another prefix): the routes of those modules
    /// change path without their file changing.
    pub fn changed_mounts<'a>(&'a self, other: &'a ProjectIndex) -> Vec<&'a facts::Mount> {
        let only = |a: &'a ProjectIndex, b: &'a ProjectIndex| {
            a.mounts.iter().filter(move |m| !b.mounts.contains(m))
        };
        only(self, other).chain(only(other, self)).collect()
    }

    /// The nearest directory at or above `path`'s directory that holds
    /// deploy files, with their texts.
    pub fn service_of(&self, path: &str) -> Option<(&str, &[String])> {
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        loop {
            if let Some((d, texts)) = self.deploy.get_key_value(dir) {
                return Some((d.as_str(), texts.as_slice()));
            }
            if dir.is_empty() {
                return None;
            }
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        }
    }

    /// The setting existing policies read (`current_setting('app.x')`),
    /// the most common first.
    pub fn learned_setting(&self) -> Option<String> {
        self.learned.get_or_init(|| self.count_settings()).clone()
    }

    fn count_settings(&self) -> Option<String> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for t in self.tables.values() {
            for (p, _) in t.policies.values() {
                for e in p.using.iter().chain(&p.with_check) {
                    let toks = crate::lang::sql_tokens::tokenize(e);
                    for w in toks.windows(3) {
                        if w[0].is("current_setting") && w[1].is_punct('(') {
                            if let crate::lang::sql_tokens::Tok::Str(s) = &w[2].tok {
                                *counts.entry(s.clone()).or_default() += 1;
                            }
                        }
                    }
                }
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).map(|(s, _)| s)
    }

    fn apply(&mut self, event: &Event, site: &Site, n: usize) {
        match event {
            Event::CreateTable {
                table,
                columns,
                types,
                origin,
                class,
                ..
            } => {
                if let Some(c) = class {
                    self.models.insert(c.clone(), table.clone());
                }
                let t = self.tables.entry(table.clone()).or_default();
                if t.dropped {
                    *t = TableState::default();
                }
                t.columns.extend(columns.iter().cloned());
                for (c, ty) in columns.iter().zip(types) {
                    if !ty.is_empty() {
                        t.column_types.insert(c.clone(), ty.clone());
                    }
                }
                t.created.push((site.clone(), *origin, columns.clone()));
            }
            Event::AddColumn { table, column } => {
                self.tables
                    .entry(table.clone())
                    .or_default()
                    .columns
                    .insert(column.clone());
            }
            Event::DropTable { table } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.dropped = true;
                }
            }
            Event::Rls { table, change } => {
                let t = self.tables.entry(table.clone()).or_default();
                match change {
                    RlsChange::Enable => t.rls_enabled = true,
                    RlsChange::Disable => t.rls_enabled = false,
                    RlsChange::Force => t.rls_forced = true,
                    RlsChange::NoForce => t.rls_forced = false,
                }
            }
            Event::CreatePolicy { table, policy } => {
                let t = self.tables.entry(table.clone()).or_default();
                t.policies
                    .insert(policy.name.clone(), (policy.clone(), site.clone()));
                t.policy_created.push(n);
            }
            Event::DropPolicy { table, name } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.policies.remove(name);
                }
            }
            Event::AlterPolicy {
                table,
                name,
                using,
                with_check,
            } => {
                if let Some((p, _)) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.policies.get_mut(name))
                {
                    if using.is_some() {
                        p.using = using.clone();
                    }
                    if with_check.is_some() {
                        p.with_check = with_check.clone();
                    }
                }
            }
            _ => {}
        }
    }

    pub fn table(&self, name: &str) -> Option<&TableState> {
        self.tables
            .get(name)
            .or_else(|| self.tables.get(&name.to_ascii_lowercase()))
    }

    /// The tenant columns of `table` (empty when it is not a tenant table).
    pub fn tenant_columns(&self, table: &str, cfg: &Config) -> Vec<String> {
        if cfg
            .tenant
            .global_tables
            .iter()
            .any(|g| g.eq_ignore_ascii_case(table))
        {
            return Vec::new();
        }
        self.table(table)
            .map(|t| {
                t.columns
                    .iter()
                    .filter(|c| cfg.tenant.columns.contains(c))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_tenant_table(&self, table: &str, cfg: &Config) -> bool {
        !self.tenant_columns(table, cfg).is_empty()
    }

    /// Position of a fact in migration order.
    pub fn seq_of(&self, site: &Site) -> Option<usize> {
        self.seq
            .get(&(site.path.clone(), site.range.start))
            .copied()
    }

    pub fn file(&self, path: &str) -> Option<&FileFacts> {
        self.files.get(path)
    }

    /// Files that state facts about `table`.
    pub fn files_about(&self, table: &str) -> Vec<String> {
        self.files
            .values()
            .filter(|f| f.facts.iter().any(|x| event_table(&x.event) == Some(table)))
            .map(|f| f.path.clone())
            .collect()
    }

    /// Tables whose final state differs between two indexes.
    pub fn changed_tables(&self, other: &ProjectIndex) -> Vec<String> {
        let names: BTreeSet<&String> = self.tables.keys().chain(other.tables.keys()).collect();
        names
            .into_iter()
            .filter(|n| {
                let (a, b) = (self.tables.get(*n), other.tables.get(*n));
                match (a, b) {
                    (Some(a), Some(b)) => {
                        a.columns != b.columns
                            || a.rls_enabled != b.rls_enabled
                            || a.rls_forced != b.rls_forced
                            || a.dropped != b.dropped
                            || a.policies
                                .iter()
                                .map(|(k, v)| (k, &v.0))
                                .ne(b.policies.iter().map(|(k, v)| (k, &v.0)))
                    }
                    _ => true,
                }
            })
            .cloned()
            .collect()
    }

    /// Statements nobody could read, per file.
    pub fn unread(&self) -> impl Iterator<Item = (&str, usize)> {
        self.files
            .values()
            .filter(|f| f.unread > 0)
            .map(|f| (f.path.as_str(), f.unread))
    }
}

/// Is the Python file at `path` the module `module` (`app/api/admin.py`,
/// or `src/app/api/admin.py`, for `app.api.admin`)?
pub fn is_module(path: &str, module: &str) -> bool {
    let Some(stem) = path.strip_suffix(".py") else {
        return false;
    };
    let dotted = stem.trim_end_matches("/__init__").replace('/', ".");
    dotted == module || dotted.ends_with(&format!(".{module}"))
}

pub fn event_table(e: &Event) -> Option<&str> {
    match e {
        Event::CreateTable { table, .. }
        | Event::AddColumn { table, .. }
        | Event::DropTable { table }
        | Event::Rls { table, .. }
        | Event::CreatePolicy { table, .. }
        | Event::AlterPolicy { table, .. }
        | Event::DropPolicy { table, .. } => Some(table),
        _ => None,
    }
}

/// Models and diesel schemas first (they declare what migrations must
/// create), then migrations by directory, alembic chains by depth, file
/// name.
fn migration_order(files: &[FileFacts]) -> Vec<usize> {
    let by_rev: HashMap<&str, &FileFacts> = files
        .iter()
        .filter_map(|f| f.revision.as_deref().map(|r| (r, f)))
        .collect();
    let depth = |f: &FileFacts| {
        let mut d = 0usize;
        let mut cur = f.down_revision.as_deref();
        while let Some(r) = cur {
            d += 1;
            if d > 10_000 {
                break;
            }
            cur = by_rev.get(r).and_then(|p| p.down_revision.as_deref());
        }
        d
    };
    // (migration before model, directory, alembic depth, path, index)
    type Key = (u8, Vec<Chunk>, usize, Vec<Chunk>, usize);
    let mut keyed: Vec<Key> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let model_only = f.facts.iter().all(|x| {
                matches!(
                    x.event,
                    Event::CreateTable {
                        origin: Origin::Model | Origin::Schema,
                        ..
                    }
                )
            });
            let dir = f
                .path
                .rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default();
            (
                u8::from(!model_only),
                natural(&dir),
                depth(f),
                natural(&f.path),
                i,
            )
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|k| k.4).collect()
}

/// A piece of a path for natural ordering: `V2__` before `V10__`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Num(u128),
    Text(String),
}

fn natural(s: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() != digits && !cur.is_empty() {
            out.push(chunk(&cur, digits));
            cur.clear();
        }
        digits = c.is_ascii_digit();
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(chunk(&cur, digits));
    }
    out
}

fn chunk(s: &str, digits: bool) -> Chunk {
    match (digits, s.parse::<u128>()) {
        (true, Ok(n)) => Chunk::Num(n),
        _ => Chunk::Text(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{Language, ParsedFile};

    #[test]
    fn flyway_versions_sort_naturally() {
        let idx = ProjectIndex::build(vec![
            facts("db/V10__force.sql", "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY;"),
            facts("db/V2__rls.sql", "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; ALTER TABLE notes FORCE ROW LEVEL SECURITY;"),
            facts("db/V1__notes.sql", "CREATE TABLE notes (id int, org_id int);"),
        ]);
        let t = idx.table("notes").unwrap();
        assert!(t.rls_enabled && !t.rls_forced, "V10 runs after V2");
    }

    fn facts(path: &str, text: &str) -> FileFacts {
        let lang = Language::from_path(path).unwrap();
        facts::extract(&ParsedFile::parse(path, lang, text).unwrap())
    }

    #[test]
    fn later_migrations_undo_earlier_ones() {
        let idx = ProjectIndex::build(vec![
            facts("migrations/002_undo.sql", "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY;\nDROP POLICY tenant_isolation ON notes;"),
            facts(
                "migrations/001_notes.sql",
                "CREATE TABLE public.notes (id uuid primary key, org_id uuid not null);
                 ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE notes FORCE ROW LEVEL SECURITY;
                 CREATE POLICY tenant_isolation ON notes USING (org_id = current_setting('app.org_id')::uuid) WITH CHECK (org_id = current_setting('app.org_id')::uuid);",
            ),
        ]);
        let t = idx.table("notes").unwrap();
        assert!(t.rls_enabled && !t.rls_forced);
        assert!(t.policies.is_empty());
        assert_eq!(t.policy_created.len(), 1);
        assert!(idx.is_tenant_table("notes", &Config::default()));
    }

    #[test]
    fn alembic_chains_models_and_downgrades() {
        let m2 = "revision = \"b2\"\ndown_revision = \"a1\"\nfrom alembic import op\n\ndef upgrade():\n    op.execute(\"ALTER TABLE notes ENABLE ROW LEVEL SECURITY\")\n    op.execute(\"ALTER TABLE notes FORCE ROW LEVEL SECURITY\")\n\ndef downgrade():\n    op.execute(\"ALTER TABLE notes DISABLE ROW LEVEL SECURITY\")\n";
        let m1 = "revision = \"a1\"\ndown_revision = None\nimport sqlalchemy as sa\nfrom alembic import op\n\ndef upgrade():\n    op.create_table(\"notes\", sa.Column(\"id\", sa.Integer), sa.Column(\"tenant_id\", sa.String))\n\ndef downgrade():\n    op.drop_table(\"notes\")\n";
        let model = "class TenantMixin:\n    org_id = Column(UUID)\n\nclass Doc(TenantMixin, Base):\n    __tablename__ = \"docs\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n";
        // File names deliberately sort against the chain.
        let idx = ProjectIndex::build(vec![
            facts("alembic/versions/aaa_rls.py", m2),
            facts("alembic/versions/zzz_create.py", m1),
            facts("app/models.py", model),
        ]);
        let t = idx.table("notes").unwrap();
        assert!(t.rls_enabled && t.rls_forced && !t.dropped, "{t:?}");
        assert!(t.has_migration());
        let d = idx.table("docs").unwrap();
        assert!(d.columns.contains("org_id") && !d.has_migration());
    }

    #[test]
    fn diesel_schema_declares_tables_and_columns() {
        let schema = r#"// @generated automatically by Diesel CLI.
pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "note_state"))]
    pub struct NoteState;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::NoteState;

    /// Notes of an org.
    notes (id) {
        id -> Uuid,
        org_id -> Uuid,
        state -> NoteState,
        tags -> Array<Nullable<Text>>,
        #[sql_name = "type"]
        kind -> Nullable<Varchar>,
    }
}

table! {
    orgs { id -> Int4, name -> Text, }
    #[sql_name = "audit_events"]
    audit.events (id, at) { id -> Int8, tenant_id -> Int8, at -> Timestamptz, }
}

diesel::joinable!(notes -> orgs (org_id));
diesel::allow_tables_to_appear_in_same_query!(notes, orgs);
"#;
        let f = facts("src/schema.rs", schema);
        let idx = ProjectIndex::build(vec![
            f,
            // Applied after the schema, whatever the file names say.
            facts(
                "migrations/2024_01_01/up.sql",
                "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;",
            ),
        ]);
        let cfg = Config::default();
        let notes = idx.table("notes").unwrap();
        assert_eq!(
            notes.columns.iter().collect::<Vec<_>>(),
            ["id", "org_id", "state", "tags", "type"],
            "`#[sql_name]` on a column: the SQL name counts"
        );
        assert_eq!(
            notes.column_types.get("org_id").map(String::as_str),
            Some("uuid")
        );
        assert!(notes.rls_enabled && !notes.has_migration());
        assert_eq!(idx.tenant_columns("notes", &cfg), ["org_id"]);
        assert!(!idx.is_tenant_table("orgs", &cfg));
        assert_eq!(idx.table("orgs").unwrap().column_types["id"], "integer");
        // `#[sql_name]` on a table: indexed under the SQL name, mapped from the Rust one.
        assert_eq!(idx.tenant_columns("audit_events", &cfg), ["tenant_id"]);
        assert_eq!(
            idx.models.get("events").map(String::as_str),
            Some("audit_events")
        );
        // Other `table!` macros (prettytable) state nothing.
        let other = facts(
            "src/report.rs",
            "fn f() { let t = table!([\"a\", \"b\"], [1, 2]); }",
        );
        assert!(other.facts.is_empty());
    }

    #[test]
    fn token_facts_for_views_functions_roles_grants() {
        let f = facts(
            "m.sql",
            "CREATE VIEW v WITH (security_invoker = true) AS SELECT * FROM notes;
             CREATE OR REPLACE VIEW w AS SELECT n.body FROM notes n;
             CREATE FUNCTION f(o uuid) RETURNS SETOF notes LANGUAGE sql SECURITY DEFINER AS $$ SELECT * FROM notes WHERE org_id = o $$;
             ALTER ROLE app_user BYPASSRLS;
             GRANT SELECT ON notes, tags TO PUBLIC;",
        );
        let ev: Vec<&Event> = f.facts.iter().map(|x| &x.event).collect();
        assert!(
            matches!(
                ev[0],
                Event::CreateView {
                    security_invoker: true,
                    ..
                }
            ),
            "{ev:?}"
        );
        assert!(
            matches!(ev[1], Event::CreateView { security_invoker: false, reads, .. } if reads == &vec!["notes".to_string()])
        );
        assert!(
            matches!(ev[2], Event::CreateFunction { security_definer: true, search_path: false, reads, .. } if reads.contains(&"notes".to_string())),
            "{ev:?}"
        );
        assert!(matches!(ev[3], Event::RoleBypass { role, .. } if role == "app_user"));
        assert!(
            matches!(ev[4], Event::Grant { tables, grantees } if tables.len() == 2 && grantees == &vec!["public".to_string()])
        );
    }
}
