//! Proof against a real PostgreSQL that the RLS rules (TL001, TL003, TL019)
//! tell the truth.
//!
//! Every directory under `fixtures/rls-proof/` is a case: migrations
//! (`001_*.sql`, `002_*.sql`, … applied in file-name order, connected as the
//! owner role) and a `case.toml` holding the verdict tenant-lint must reach.
//! One throwaway cluster (`initdb` + `pg_ctl` on a temp dir and a free port
//! on 127.0.0.1) serves every case; each case gets fresh roles and a fresh
//! database, two seeded tenants, and these attacks, each on its own
//! connection and in its own rolled-back transaction:
//!
//! | attack | role      | tenant set | tries                                         |
//! |--------|-----------|------------|-----------------------------------------------|
//! | a      | app_user  | A          | count B's rows in each `read_from` relation   |
//! | b      | app_user  | A          | run `insert` for B                            |
//! | c      | app_user  | none       | run `insert` for B                            |
//! | d      | app_owner | A          | count B's rows in each `read_from` relation   |
//! | e      | app_user  | A          | `read_sql` for B (function cases)             |
//!
//! Controls keep a "safe" result honest: app_user with tenant A set must read
//! A's rows, insert an A row and (with `read_sql`) get A's rows back. A
//! fixture that denies everyone everything proves nothing.
//!
//! "unsafe" means some attack leaked, "safe" that none did. The linter
//! (`tenant-lint --all <case> --format json --fail-on never`) must agree:
//! its verdict is "unsafe" iff it reports a HARD TL001/TL003/TL019 finding,
//! and every id in `rules` must be among those findings.
//! `TENANT_LINT_PROOF_SKIP_LINTER=1` skips only that comparison.
//!
//! `{tenant}` in `seed`, `insert` and `read_sql` is replaced by the tenant
//! the statement targets.
//!
//! Without PostgreSQL the test says how to install it and passes, except when
//! `CI` is set: there it fails. `TENANT_LINT_PG_BINDIR` points at a bin
//! directory holding `initdb`, `pg_ctl` and `psql` when they are elsewhere.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const CASES_DIR: &str = "fixtures/rls-proof";
const RLS_RULES: [&str; 3] = ["TL001", "TL003", "TL019"];
const MIN_CASES: usize = 14;
const SKIP_LINTER_VAR: &str = "TENANT_LINT_PROOF_SKIP_LINTER";
const BINDIR_VAR: &str = "TENANT_LINT_PG_BINDIR";
const INSTALL_HINT: &str = "PostgreSQL not found: install it with `apt-get install -y postgresql` \
     (Debian/Ubuntu) to run the RLS proof suite";

const SUPERUSER: &str = "postgres";
const OWNER: &str = "app_owner";
const APP: &str = "app_user";
/// The system user that runs the server when the test runs as root.
const SERVER_USER: &str = "postgres";

// ---------------------------------------------------------------- cases

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Safe,
    Unsafe,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Safe => "safe",
            Verdict::Unsafe => "unsafe",
        })
    }
}

/// `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    verdict: Verdict,
    rules: Vec<String>,
    why: String,
    table: String,
    tenant_column: String,
    setting: String,
    tenant_a: String,
    tenant_b: String,
    seed: String,
    insert: String,
    read_from: Vec<String>,
    #[serde(default)]
    read_sql: Option<String>,
}

struct Case {
    name: String,
    migrations: Vec<PathBuf>,
    spec: CaseSpec,
}

impl Case {
    fn load(dir: &Path) -> Result<Case, String> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: directory name is not UTF-8", dir.display()))?
            .to_string();
        let toml_path = dir.join("case.toml");
        let text = std::fs::read_to_string(&toml_path)
            .map_err(|e| format!("{}: cannot read: {e}", toml_path.display()))?;
        let spec: CaseSpec =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", toml_path.display()))?;
        let mut migrations: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: cannot list: {e}", dir.display()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        migrations.sort();
        let case = Case {
            name,
            migrations,
            spec,
        };
        case.validate()
            .map_err(|e| format!("{CASES_DIR}/{}: {e}", case.name))?;
        Ok(case)
    }

    fn validate(&self) -> Result<(), String> {
        let s = &self.spec;
        if self.migrations.is_empty() {
            return Err("no *.sql migrations".into());
        }
        for m in &self.migrations {
            let file = m.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !file.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!("migration `{file}` is not named NNN_*.sql"));
            }
        }
        match (s.verdict, s.rules.is_empty()) {
            (Verdict::Unsafe, true) => return Err("an unsafe case must list its rules".into()),
            (Verdict::Safe, false) => return Err("a safe case must list no rules".into()),
            _ => {}
        }
        if let Some(r) = s.rules.iter().find(|r| !RLS_RULES.contains(&r.as_str())) {
            return Err(format!("rule `{r}` is not one of {RLS_RULES:?}"));
        }
        for ident in [&s.table, &s.tenant_column].into_iter().chain(&s.read_from) {
            if !is_identifier(ident) {
                return Err(format!("`{ident}` is not a plain SQL identifier"));
            }
        }
        if !s.setting.split('.').all(is_identifier) || !s.setting.contains('.') {
            return Err(format!("setting `{}` is not `prefix.name`", s.setting));
        }
        if !s.read_from.contains(&s.table) {
            return Err(format!("read_from must include the table `{}`", s.table));
        }
        for t in [&s.tenant_a, &s.tenant_b] {
            if t.is_empty() || t.contains(['\'', '\\']) {
                return Err(format!("tenant `{t}` must be non-empty and free of quotes"));
            }
        }
        if s.tenant_a == s.tenant_b {
            return Err("tenant_a and tenant_b must differ".into());
        }
        let templates = [Some(&s.seed), Some(&s.insert), s.read_sql.as_ref()];
        if templates.iter().flatten().any(|t| !t.contains("{tenant}")) {
            return Err("seed, insert and read_sql must contain `{tenant}`".into());
        }
        if s.why.trim().is_empty() {
            return Err("`why` is empty".into());
        }
        Ok(())
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn for_tenant(template: &str, tenant: &str) -> String {
    template.replace("{tenant}", tenant)
}

fn load_cases(root: &Path) -> Result<Vec<Case>, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| format!("{}: cannot list: {e}", root.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let cases = dirs
        .iter()
        .map(|d| Case::load(d))
        .collect::<Result<Vec<_>, _>>()?;
    let unsafe_count = cases
        .iter()
        .filter(|c| c.spec.verdict == Verdict::Unsafe)
        .count();
    if cases.len() < MIN_CASES || unsafe_count == 0 || unsafe_count == cases.len() {
        return Err(format!(
            "{CASES_DIR} holds {} cases ({unsafe_count} unsafe): at least {MIN_CASES}, \
             with both verdicts, are required",
            cases.len()
        ));
    }
    Ok(cases)
}

// ---------------------------------------------------------------- cluster

/// The result of a psql script that ran: its output, or the server's refusal
/// (psql exit status 3 under ON_ERROR_STOP: a statement failed).
enum Sql {
    Ran(String),
    Refused(String),
}

/// A throwaway PostgreSQL cluster; dropping it stops the server and removes
/// its directory.
struct Cluster {
    bindir: PathBuf,
    /// The system user that owns and runs the server when we are root.
    run_as: Option<&'static str>,
    port: u16,
    data: PathBuf,
    // Last, so that the directory is removed after `drop` stopped the server.
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(bindir: &Path) -> Result<Cluster, String> {
        let run_as = if running_as_root() {
            check_server_user()?;
            Some(SERVER_USER)
        } else {
            None
        };
        // Under root the server user must reach the directory: keep it in
        // /tmp rather than a TMPDIR that may be private to root.
        let builder = tempfile::Builder::new()
            .prefix("tenant-lint-pg-")
            .tempdir_in(if run_as.is_some() {
                PathBuf::from("/tmp")
            } else {
                std::env::temp_dir()
            });
        let dir = builder.map_err(|e| format!("cannot create a temp dir for the cluster: {e}"))?;
        if let Some(user) = run_as {
            run(Command::new("chown").arg(user).arg(dir.path()), "chown")?;
        }
        let mut cluster = Cluster {
            bindir: bindir.to_path_buf(),
            run_as,
            port: 0,
            data: dir.path().join("data"),
            dir,
        };
        cluster.initdb()?;
        cluster.configure()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A command for a server program, run as the server user when we are root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    fn initdb(&self) -> Result<(), String> {
        let mut cmd = self.server_command("initdb");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync"]);
        run(&mut cmd, "initdb").map(|_| ())
    }

    /// Trust for 127.0.0.1 only (a throwaway cluster), no fsync, sockets in
    /// the temp dir so that nothing touches /var/run/postgresql.
    fn configure(&self) -> Result<(), String> {
        let hba = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
        // Existing files are rewritten in place, so they keep their owner.
        write_existing(&self.data.join("pg_hba.conf"), hba, false)?;
        let conf = format!(
            "\n# tenant-lint RLS proof\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nmax_connections = 20\n",
            self.dir.path().display()
        );
        write_existing(&self.data.join("postgresql.conf"), &conf, true)
    }

    fn start_server(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("server.log");
        let mut last_error = String::new();
        for _attempt in 0..3 {
            self.port = free_port()?;
            let mut cmd = self.server_command("pg_ctl");
            cmd.arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {}", self.port))
                .arg("start");
            match run(&mut cmd, "pg_ctl start") {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{e}\nserver log:\n{}", last_lines(&tail, 15));
                    // Another process took the port between our probe and the bind.
                    if !tail.contains("could not bind") {
                        break;
                    }
                }
            }
        }
        Err(last_error)
    }

    fn psql(&self, user: &str, db: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", user, "-d", db]);
        for var in [
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PGPASSFILE",
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGOPTIONS",
            "PGSSLMODE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("PGCONNECT_TIMEOUT", "10");
        cmd
    }

    /// Run `sql` on a new connection. `Err` only when psql could not run or
    /// connect; a statement the server rejects is `Sql::Refused`.
    fn sql(&self, user: &str, db: &str, sql: &str) -> Result<Sql, String> {
        let mut child = self
            .psql(user, db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .map_err(|e| format!("cannot write to psql: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("psql did not finish: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        match out.status.code() {
            Some(0) => Ok(Sql::Ran(stdout)),
            Some(3) => Ok(Sql::Refused(first_error(&stderr))),
            _ => Err(format!(
                "psql as {user} on {db} failed ({}): {stderr}",
                out.status
            )),
        }
    }

    /// Run `sql` that must succeed (setup, not an attack).
    fn exec(&self, user: &str, db: &str, sql: &str) -> Result<String, String> {
        match self.sql(user, db, sql)? {
            Sql::Ran(out) => Ok(out),
            Sql::Refused(e) => Err(format!("as {user}: {e}\n  in: {}", one_line(sql))),
        }
    }

    fn apply_migration(&self, db: &str, file: &Path) -> Result<(), String> {
        let out = self
            .psql(OWNER, db)
            .arg("--single-transaction")
            .arg("-f")
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "migration {} failed as {OWNER}: {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }

    fn version(&self) -> String {
        match self.exec(SUPERUSER, "postgres", "SHOW server_version;") {
            Ok(v) => v,
            Err(e) => format!("unknown ({e})"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut cmd = self.server_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        if let Err(e) = run(&mut cmd, "pg_ctl stop") {
            eprintln!("warning: could not stop the test cluster: {e}");
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn check_server_user() -> Result<(), String> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(SERVER_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if exists {
        Ok(())
    } else {
        Err(format!(
            "running as root, but there is no `{SERVER_USER}` system user to run the server \
             (initdb refuses root): install the postgresql package, which creates it, or \
             `useradd --system {SERVER_USER}`"
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free TCP port on 127.0.0.1: {e}"))
}

fn write_existing(path: &Path, text: &str, append: bool) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Run a setup command; its output on success, a message naming it otherwise.
fn run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what} ({:?}): {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("ERROR:"))
        .unwrap_or(stderr)
        .trim()
        .to_string()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------- finding PostgreSQL

/// The bin directory of the newest PostgreSQL: `TENANT_LINT_PG_BINDIR`, then
/// `/usr/lib/postgresql/*/bin` (Debian), then `pg_config --bindir`, then `initdb` on PATH.
fn find_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    if let Some(dir) = std::env::var_os(BINDIR_VAR) {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    let mut debian: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.to_string();
            let key = version
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((key, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(bin) = from_pg_config.filter(|b| has_tools(b)) {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file())
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|real| real.parent().map(Path::to_path_buf))
        .filter(|bin| has_tools(bin))
}

// ---------------------------------------------------------------- attacks

struct Attack {
    /// `a:notes`, `b`, `c`, `d:notes_feed`, `e`.
    label: String,
    leaked: bool,
    detail: String,
}

/// A case's database with its roles, migrations, grants and seed rows.
struct Scene<'a> {
    cluster: &'a Cluster,
    db: String,
    case: &'a Case,
}

impl<'a> Scene<'a> {
    fn build(cluster: &'a Cluster, case: &'a Case, index: usize) -> Result<Scene<'a>, String> {
        let scene = Scene {
            cluster,
            db: format!("rls_proof_{index}"),
            case,
        };
        scene.create_roles_and_database()?;
        for migration in &case.migrations {
            cluster.apply_migration(&scene.db, migration)?;
        }
        scene.grant_and_seed()?;
        Ok(scene)
    }

    fn create_roles_and_database(&self) -> Result<(), String> {
        let attrs = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE";
        let sql = format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE);\n\
             DROP ROLE IF EXISTS {APP};\nDROP ROLE IF EXISTS {OWNER};\n\
             CREATE ROLE {OWNER} {attrs};\nCREATE ROLE {APP} {attrs};\n\
             CREATE DATABASE {db} OWNER {OWNER};\n",
            db = self.db
        );
        self.cluster
            .exec(SUPERUSER, "postgres", &sql)
            .map(|_| ())
            .map_err(|e| format!("creating roles and database: {e}"))
    }

    fn grant_and_seed(&self) -> Result<(), String> {
        let s = &self.case.spec;
        let mut sql = format!(
            "GRANT USAGE ON SCHEMA public TO {APP};\n\
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP};\n\
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP};\n\
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP};\n"
        );
        for tenant in [&s.tenant_a, &s.tenant_b] {
            sql.push_str(&for_tenant(&s.seed, tenant));
            sql.push_str(";\n");
        }
        self.cluster
            .exec(SUPERUSER, &self.db, &sql)
            .map(|_| ())
            .map_err(|e| format!("grants and seed: {e}"))
    }

    /// A script for one connection: optionally set tenant A, then run
    /// `statement` in a transaction that is rolled back.
    fn script(&self, tenant_a_set: bool, statement: &str) -> String {
        let s = &self.case.spec;
        let set = if tenant_a_set {
            format!("SET {} = '{}';\n", s.setting, s.tenant_a)
        } else {
            String::new()
        };
        format!("{set}BEGIN;\n{statement};\nROLLBACK;\n")
    }

    /// The count a `SELECT count(*) …` returns, or the server's refusal.
    fn count(&self, role: &str, tenant_a_set: bool, query: &str) -> Result<Count, String> {
        match self
            .cluster
            .sql(role, &self.db, &self.script(tenant_a_set, query))?
        {
            Sql::Ran(out) => {
                let last = out.lines().last().unwrap_or("").trim();
                last.parse::<i64>()
                    .map(Count::Rows)
                    .map_err(|_| format!("expected a count from `{query}`, got `{out}`"))
            }
            Sql::Refused(e) => Ok(Count::Refused(e)),
        }
    }

    fn tenant_rows(&self, relation: &str, tenant: &str) -> String {
        format!(
            "SELECT count(*) FROM {relation} WHERE {} = '{tenant}'",
            self.case.spec.tenant_column
        )
    }

    fn read_attack(&self, label: String, role: &str, query: &str) -> Result<Attack, String> {
        Ok(match self.count(role, true, query)? {
            Count::Rows(n) => Attack {
                label,
                leaked: n > 0,
                detail: format!("{n} rows of tenant B"),
            },
            Count::Refused(e) => Attack {
                label,
                leaked: false,
                detail: e,
            },
        })
    }

    fn insert_attack(&self, label: &str, tenant_a_set: bool) -> Result<Attack, String> {
        let s = &self.case.spec;
        let script = self.script(tenant_a_set, &for_tenant(&s.insert, &s.tenant_b));
        Ok(match self.cluster.sql(APP, &self.db, &script)? {
            Sql::Ran(_) => Attack {
                label: label.into(),
                leaked: true,
                detail: "row for tenant B accepted".into(),
            },
            Sql::Refused(e) => Attack {
                label: label.into(),
                leaked: false,
                detail: e,
            },
        })
    }

    fn attacks(&self) -> Result<Vec<Attack>, String> {
        let s = &self.case.spec;
        let mut attacks = Vec::new();
        for relation in &s.read_from {
            let query = self.tenant_rows(relation, &s.tenant_b);
            attacks.push(self.read_attack(format!("a:{relation}"), APP, &query)?);
        }
        attacks.push(self.insert_attack("b", true)?);
        attacks.push(self.insert_attack("c", false)?);
        for relation in &s.read_from {
            let query = self.tenant_rows(relation, &s.tenant_b);
            attacks.push(self.read_attack(format!("d:{relation}"), OWNER, &query)?);
        }
        if let Some(read_sql) = &s.read_sql {
            let query = for_tenant(read_sql, &s.tenant_b);
            attacks.push(self.read_attack("e".into(), APP, &query)?);
        }
        Ok(attacks)
    }

    /// What a working application must be able to do for its own tenant;
    /// each failure is a description.
    fn control_failures(&self) -> Result<Vec<String>, String> {
        let s = &self.case.spec;
        let mut failures = Vec::new();
        let mut reads: Vec<(String, String)> = s
            .read_from
            .iter()
            .map(|r| (r.clone(), self.tenant_rows(r, &s.tenant_a)))
            .collect();
        if let Some(read_sql) = &s.read_sql {
            reads.push(("read_sql".into(), for_tenant(read_sql, &s.tenant_a)));
        }
        for (what, query) in reads {
            match self.count(APP, true, &query)? {
                Count::Rows(n) if n > 0 => {}
                Count::Rows(_) => {
                    failures.push(format!("{APP} sees no rows of its own tenant in {what}"))
                }
                Count::Refused(e) => failures.push(format!("{APP} cannot read {what}: {e}")),
            }
        }
        let own_insert = self.script(true, &for_tenant(&s.insert, &s.tenant_a));
        if let Sql::Refused(e) = self.cluster.sql(APP, &self.db, &own_insert)? {
            failures.push(format!("{APP} cannot insert for its own tenant: {e}"));
        }
        Ok(failures)
    }
}

impl Drop for Scene<'_> {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE);", self.db);
        if let Err(e) = self.cluster.exec(SUPERUSER, "postgres", &sql) {
            eprintln!("warning: could not drop {}: {e}", self.db);
        }
    }
}

enum Count {
    Rows(i64),
    Refused(String),
}

// ---------------------------------------------------------------- linter

struct LinterResult {
    verdict: Verdict,
    /// Rule ids of unsuppressed HARD TL001/TL003/TL019 findings.
    hard_rules: BTreeSet<String>,
    /// `TL001 path:line title` for each of those findings.
    described: Vec<String>,
}

fn run_linter(case: &Case) -> Result<LinterResult, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let target = format!("{CASES_DIR}/{}", case.name);
    let out = Command::new(env!("CARGO_BIN_EXE_tenant-lint"))
        .args(["--all", &target, "--format", "json", "--fail-on", "never"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run tenant-lint: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tenant-lint exited with {}: {}",
            out.status,
            one_line(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("tenant-lint printed no JSON report: {e}"))?;
    let findings = report["findings"]
        .as_array()
        .ok_or("the JSON report has no `findings` array")?;
    let hard: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["severity"] == "HARD" && f["suppressed"] != true)
        .filter(|f| f["rule"].as_str().is_some_and(|r| RLS_RULES.contains(&r)))
        .collect();
    let hard_rules: BTreeSet<String> = hard
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .map(String::from)
        .collect();
    let described = hard
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                f["rule"].as_str().unwrap_or("?"),
                f["path"].as_str().unwrap_or("?"),
                f["line"],
                f["title"].as_str().unwrap_or("")
            )
        })
        .collect();
    let verdict = if hard_rules.is_empty() {
        Verdict::Safe
    } else {
        Verdict::Unsafe
    };
    Ok(LinterResult {
        verdict,
        hard_rules,
        described,
    })
}

// ---------------------------------------------------------------- one case

/// One row of the summary table, with what went wrong for it.
struct Row {
    case: String,
    expected: Verdict,
    postgres: String,
    linter: String,
    leaked: String,
    problems: Vec<String>,
}

fn prove_in_postgres(cluster: &Cluster, case: &Case, index: usize, row: &mut Row) {
    let outcome = Scene::build(cluster, case, index).and_then(|scene| {
        let controls = scene.control_failures()?;
        let attacks = scene.attacks()?;
        Ok((controls, attacks))
    });
    let (controls, attacks) = match outcome {
        Ok(found) => found,
        Err(e) => {
            row.postgres = "error".into();
            row.problems.push(format!("[setup] {e}"));
            return;
        }
    };
    for failure in controls {
        row.problems.push(format!(
            "[fixture] control failed: {failure} (a fixture that denies its own tenant proves nothing)"
        ));
    }
    let leaked: Vec<&Attack> = attacks.iter().filter(|a| a.leaked).collect();
    row.leaked = if leaked.is_empty() {
        "-".into()
    } else {
        leaked
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let actual = if leaked.is_empty() {
        Verdict::Safe
    } else {
        Verdict::Unsafe
    };
    row.postgres = actual.to_string();
    if actual != case.spec.verdict {
        let details = attacks
            .iter()
            .map(|a| {
                let mark = if a.leaked { "LEAKED" } else { "held" };
                format!("{}={mark} ({})", a.label, a.detail)
            })
            .collect::<Vec<_>>()
            .join("; ");
        row.problems.push(format!(
            "[postgres] expected {} ({}), but PostgreSQL says {actual}: {details}",
            case.spec.verdict, case.spec.why
        ));
    }
}

fn compare_linter(case: &Case, row: &mut Row) {
    let result = match run_linter(case) {
        Ok(r) => r,
        Err(e) => {
            row.linter = "error".into();
            row.problems.push(format!("[linter] {e}"));
            return;
        }
    };
    let fired: Vec<&str> = result.hard_rules.iter().map(String::as_str).collect();
    row.linter = if fired.is_empty() {
        result.verdict.to_string()
    } else {
        format!("{} {}", result.verdict, fired.join(","))
    };
    if result.verdict != case.spec.verdict {
        let findings = if result.described.is_empty() {
            String::new()
        } else {
            format!(": {}", result.described.join("; "))
        };
        row.problems.push(format!(
            "[linter] expected {} ({}), linter says {}{findings}",
            case.spec.verdict, case.spec.why, result.verdict
        ));
    }
    let missing: Vec<&str> = case
        .spec
        .rules
        .iter()
        .map(String::as_str)
        .filter(|r| !result.hard_rules.contains(*r))
        .collect();
    if !missing.is_empty() {
        row.problems.push(format!(
            "[linter] expected HARD {} to fire, missing: {}",
            case.spec.rules.join(", "),
            missing.join(", ")
        ));
    }
}

fn render(rows: &[Row]) -> String {
    let header = ["case", "expected", "postgres", "linter", "leaked attacks"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.case.clone(),
                r.expected.to_string(),
                r.postgres.clone(),
                r.linter.clone(),
                r.leaked.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].len())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |c: [&str; 5]| {
        let mark = |i: usize| format!("{:w$}", c[i], w = widths[i]);
        format!(
            "{}  {}  {}  {}  {}",
            mark(0),
            mark(1),
            mark(2),
            mark(3),
            c[4]
        )
    };
    let mut out = line(header) + "\n";
    for (row, c) in rows.iter().zip(&cells) {
        let flag = if row.problems.is_empty() {
            ""
        } else {
            "  <-- "
        };
        out += &line([&c[0], &c[1], &c[2], &c[3], &c[4]]);
        out += flag;
        if !row.problems.is_empty() {
            out += &format!("{} problem(s)", row.problems.len());
        }
        out += "\n";
    }
    out
}

// ---------------------------------------------------------------- the test

#[test]
fn rls_fixtures_leak_exactly_when_the_linter_says_unsafe() {
    let started = Instant::now();
    let Some(bindir) = find_bindir() else {
        let hint = match std::env::var(BINDIR_VAR) {
            Ok(dir) => format!("{INSTALL_HINT} ({BINDIR_VAR}={dir} lacks initdb, pg_ctl or psql)"),
            Err(_) => INSTALL_HINT.to_string(),
        };
        if std::env::var_os("CI").is_some() {
            panic!("{hint}. CI is set: the RLS proof suite must run in CI, not skip.");
        }
        // Straight to stderr, past the test harness's capture: never a silent skip.
        let _ = writeln!(std::io::stderr(), "{hint}");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES_DIR);
    let cases = match load_cases(&root) {
        Ok(c) => c,
        Err(e) => panic!("cannot load the RLS proof cases: {e}"),
    };
    let skip_linter = std::env::var(SKIP_LINTER_VAR).is_ok_and(|v| !v.is_empty() && v != "0");
    let cluster = match Cluster::start(&bindir) {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot start a throwaway PostgreSQL cluster with {}: {e}",
            bindir.display()
        ),
    };
    let version = cluster.version();

    let mut rows = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let mut row = Row {
            case: case.name.clone(),
            expected: case.spec.verdict,
            postgres: String::new(),
            linter: "skipped".into(),
            leaked: String::new(),
            problems: Vec::new(),
        };
        prove_in_postgres(&cluster, case, index, &mut row);
        if !skip_linter {
            compare_linter(case, &mut row);
        }
        rows.push(row);
    }
    drop(cluster);

    let table = render(&rows);
    let summary = format!(
        "RLS proof: {} cases against PostgreSQL {version} ({}) in {:.1}s{}",
        rows.len(),
        bindir.display(),
        started.elapsed().as_secs_f64(),
        if skip_linter {
            format!("; linter comparison SKIPPED ({SKIP_LINTER_VAR} is set)")
        } else {
            String::new()
        }
    );
    if skip_linter {
        let _ = writeln!(std::io::stderr(), "{summary}");
    }
    let problems: Vec<String> = rows
        .iter()
        .flat_map(|r| r.problems.iter().map(move |p| format!("{}: {p}", r.case)))
        .collect();
    if problems.is_empty() {
        // Shown with `--nocapture`; on failure the panic message carries it.
        println!("{summary}\n{table}");
    }
    assert!(
        problems.is_empty(),
        "{summary}\n\n{table}\n{} problem(s) — [postgres]/[setup]/[fixture]: the fixture or the \
         database side; [linter]: tenant-lint disagrees with what PostgreSQL proved\n{}\n\n\
         attacks: a = app_user reads tenant B with tenant A set, b = app_user inserts for B with A \
         set, c = app_user inserts for B with no tenant set, d = app_owner reads B with A set, \
         e = app_user calls read_sql for B with A set",
        problems.len(),
        problems.join("\n")
    );
}
