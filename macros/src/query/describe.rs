//! Describing a query against a live server: Parse + Describe for the types,
//! the catalog for column origins and user types, EXPLAIN for nullability.
//!
//! One connection per rustc process serves every macro call (rustc loads the
//! macro library once per crate it compiles), on a current-thread runtime kept
//! alongside it. Connecting and each description have a timeout
//! (`PGPREPARE_TIMEOUT`, default 10 s), so a dead server fails the build with a
//! message instead of hanging it; after a failure to connect, later calls in the
//! same process fail at once with the same message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use quarry_driver::types::Oid;
use quarry_driver::{AssertSqlSafe, ConnectOptions, Connection, Error};

use super::aliases::Aliases;
use super::nullability::{self, Catalog};
use super::offline::{ColumnDesc, FORMAT, Origin, QueryData, TypeDesc, TypeKind};

/// Why a query could not be described.
#[derive(Debug)]
pub(crate) enum DescribeError {
    /// No session (connect failed or timed out).
    Connect(String),
    /// The server rejected the query: its message, position (1-based characters), hint.
    Query {
        message: String,
        position: Option<usize>,
        detail: Option<String>,
        hint: Option<String>,
    },
    /// Anything else (timeouts, broken connections).
    Other(String),
}

struct Session {
    runtime: tokio::runtime::Runtime,
    conn: Connection,
    url: String,
    /// Table OID -> its columns.
    tables: HashMap<u32, Table>,
    /// (schema, name) -> table OID.
    table_names: HashMap<(String, String), u32>,
    /// User type OID -> its description.
    types: HashMap<u32, TypeDesc>,
    /// Loaded with the first description.
    functions: Option<Functions>,
}

struct Table {
    name: String,
    /// attnum -> the column.
    columns: HashMap<i16, TableColumn>,
}

struct TableColumn {
    name: String,
    /// A `NOT NULL` constraint (not a `NOT NULL` domain: that is no proof).
    not_null: bool,
    /// The declared type (a domain, where RowDescription shows its base type).
    declared: u32,
    /// Not an array, or an array a validated CHECK keeps free of NULL elements.
    elements_not_null: bool,
}

/// What the session knows about functions the nullability rules name.
struct Functions {
    /// Names that may mean a function outside `pg_catalog`, or a non-strict built-in
    /// where the rules assume a strict one.
    untrusted: std::collections::HashSet<String>,
    /// Views and SQL functions whose definition holds an `IN`/`ANY`/`ALL` sublink,
    /// or names another that does (PostgreSQL < 17 only).
    quantified_names: Vec<String>,
}

enum State {
    Unused,
    Ready(Box<Session>),
    Failed { url: String, message: String },
}

static SESSION: Mutex<State> = Mutex::new(State::Unused);

/// Describes `sql` on the server at `url`.
pub(crate) fn describe(
    url: &str,
    sql: &str,
    timeout: Duration,
) -> Result<QueryData, DescribeError> {
    let mut state = SESSION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match &*state {
        State::Failed {
            url: failed,
            message,
        } if failed == url => {
            return Err(DescribeError::Connect(message.clone()));
        }
        State::Ready(s) if s.url == url && !s.conn.is_closed() => {}
        _ => match connect(url, timeout) {
            Ok(session) => *state = State::Ready(Box::new(session)),
            Err(message) => {
                *state = State::Failed {
                    url: url.to_owned(),
                    message: message.clone(),
                };
                return Err(DescribeError::Connect(message));
            }
        },
    }
    let State::Ready(session) = &mut *state else {
        unreachable!("the session was set just above");
    };
    let Session {
        runtime,
        conn,
        tables,
        table_names,
        types,
        functions,
        ..
    } = &mut **session;
    let parts = Parts {
        conn,
        tables,
        table_names,
        types,
        functions,
    };
    let result = runtime.block_on(async {
        match tokio::time::timeout(timeout, describe_on(parts, sql)).await {
            Ok(r) => r,
            Err(_) => Err(DescribeError::Other(format!(
                "describing the query took longer than {} s (PGPREPARE_TIMEOUT)",
                timeout.as_secs()
            ))),
        }
    });
    if let Err(DescribeError::Other(message)) = &result {
        // The connection may be mid-response: start afresh next time.
        *state = State::Failed {
            url: url.to_owned(),
            message: message.clone(),
        };
    }
    result
}

/// The mutable parts of a session, borrowed apart from its runtime.
struct Parts<'s> {
    conn: &'s mut Connection,
    tables: &'s mut HashMap<u32, Table>,
    table_names: &'s mut HashMap<(String, String), u32>,
    types: &'s mut HashMap<u32, TypeDesc>,
    functions: &'s mut Option<Functions>,
}

fn connect(url: &str, timeout: Duration) -> Result<Session, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime to describe queries: {e}"))?;
    let options = ConnectOptions::parse(url)
        .map_err(|e| {
            format!(
                "DATABASE_URL is not a valid connection string: {}",
                e.display_chain()
            )
        })?
        .connect_timeout(timeout)
        .application_name("quarry query! macros");
    let conn = runtime.block_on(async {
        let work = async {
            let mut conn = Connection::connect_with(&options).await?;
            if conn.server_version().major() >= 12 {
                // The plan EXPLAIN shows must not depend on the (NULL) parameter values.
                conn.batch_execute("SET plan_cache_mode = force_generic_plan")
                    .await?;
            }
            Ok::<_, Error>(conn)
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r.map_err(|e| e.display_chain().to_string()),
            Err(_) => Err(format!(
                "no answer within {} s (PGPREPARE_TIMEOUT)",
                timeout.as_secs()
            )),
        }
    });
    let conn = conn.map_err(|e| {
        format!(
            "cannot connect to the database in DATABASE_URL to check queries: {e}\n\
             Start the database, or build from the offline cache: unset DATABASE_URL (or set \
             PGPREPARE_OFFLINE=true) after running `cargo pgprepare`"
        )
    })?;
    Ok(Session {
        runtime,
        conn,
        url: url.to_owned(),
        tables: HashMap::new(),
        table_names: HashMap::new(),
        types: HashMap::new(),
        functions: None,
    })
}

fn db_error(e: Error) -> DescribeError {
    match e.as_db_error() {
        Some(db) => DescribeError::Query {
            message: db.message().to_owned(),
            position: match db.position() {
                Some(quarry_driver::error::ErrorPosition::Original(p)) => usize::try_from(*p).ok(),
                _ => None,
            },
            detail: db.detail().map(str::to_owned),
            hint: db.hint().map(str::to_owned),
        },
        None => DescribeError::Other(e.display_chain().to_string()),
    }
}

fn other(e: Error) -> DescribeError {
    DescribeError::Other(format!("while describing the query: {}", e.display_chain()))
}

async fn describe_on(mut s: Parts<'_>, sql: &str) -> Result<QueryData, DescribeError> {
    let statement = s
        .conn
        .prepare(AssertSqlSafe(sql.to_owned()))
        .await
        .map_err(db_error)?;
    let param_oids: Vec<Oid> = statement.params().iter().map(|t| t.oid()).collect();
    let columns = statement.columns();

    // User types, with what they are built on.
    let mut wanted: Vec<Oid> = param_oids.clone();
    wanted.extend(columns.iter().map(|c| c.type_info().oid()));
    load_types(&mut s, &wanted).await?;

    // The tables the columns come from.
    let origins: Vec<u32> = columns
        .iter()
        .filter_map(|c| c.table_oid().map(|o| o.0))
        .filter(|o| !s.tables.contains_key(o))
        .collect();
    load_tables(&mut s, &origins, &[]).await?;
    // RowDescription gives the base type of a domain column: the origin column's
    // declared type tells the domain, which may have a Rust type of its own.
    let declared: Vec<Option<Oid>> = columns
        .iter()
        .map(|c| {
            let (t, a) = (c.table_oid()?, c.column_id()?);
            let ty = s.tables.get(&t.0)?.columns.get(&a)?.declared;
            (ty != c.type_info().oid().0 && Oid(ty).builtin().is_none()).then_some(Oid(ty))
        })
        .collect();
    let domains: Vec<Oid> = declared.iter().flatten().copied().collect();
    load_types(&mut s, &domains).await?;

    // Nullability from the plan. Without a plan nothing is proven: every column
    // is nullable (the catalog alone cannot see outer joins, aggregates, ...).
    let mut verdicts: Option<Vec<nullability::Verdict>> = None;
    if !columns.is_empty() {
        let major = s.conn.server_version().major();
        load_functions(&mut s, major).await?;
        let args = vec!["NULL"; param_oids.len()].join(", ");
        let explain = format!(
            "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE {}{}",
            quarry_driver::query::quote_identifier(statement.name()),
            if param_oids.is_empty() {
                String::new()
            } else {
                format!("({args})")
            }
        );
        let mut rows = s.conn.simple_query(&explain).await;
        if rows.is_err() && major >= 16 {
            // NULL does not fit every parameter (a NOT NULL domain): PostgreSQL 16+
            // plans the statement with its parameters unknown.
            rows = s
                .conn
                .simple_query(&format!(
                    "EXPLAIN (VERBOSE, FORMAT JSON, GENERIC_PLAN) {sql}"
                ))
                .await;
        }
        if let Ok(rows) = rows {
            // The plan is a `json` value (text format, simple protocol).
            let plan: Option<serde_json::Value> = rows
                .first()
                .and_then(|r| r.try_get_raw(0).ok())
                .and_then(|v| v.bytes())
                .and_then(|b| serde_json::from_slice(b).ok());
            if let Some(plan) = plan {
                let wanted: Vec<(String, String)> = nullability::relations(&plan)
                    .into_iter()
                    .filter(|k| !s.table_names.contains_key(k))
                    .collect();
                load_tables(&mut s, &[], &wanted).await?;
                let functions = s.functions.as_ref().ok_or_else(|| {
                    DescribeError::Other("the function catalog was not loaded".into())
                })?;
                let mut aliases = Aliases::read(sql);
                if !functions.quantified_names.is_empty()
                    && aliases.mentions(&functions.quantified_names)
                {
                    aliases.quantified_sublinks = true;
                }
                let context = nullability::Context {
                    params: param_oids.len(),
                    server_major: major,
                    aliases,
                };
                let catalog = SessionCatalog {
                    tables: s.tables,
                    names: s.table_names,
                    functions,
                };
                verdicts = nullability::infer(&plan, columns.len(), &catalog, &context);
            }
        }
    }

    let mut out_columns = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let origin = match (c.table_oid(), c.column_id()) {
            (Some(t), Some(a)) => s.tables.get(&t.0).and_then(|table| {
                table.columns.get(&a).map(|col| Origin {
                    table: table.name.clone(),
                    column: col.name.clone(),
                    table_oid: t.0,
                    column_id: a,
                })
            }),
            _ => None,
        };
        let verdict = verdicts.as_ref().and_then(|v| v.get(i).copied());
        let is_nullable = verdict.is_none_or(|v| v.nullable);
        let elements_nullable = verdict.is_none_or(|v| v.elements_nullable);
        let ty = match declared.get(i).copied().flatten() {
            Some(domain)
                if s.types.get(&domain.0).is_some_and(|d| {
                    d.kind == TypeKind::Domain
                        && d.of
                            .as_ref()
                            .is_some_and(|b| b.oid == c.type_info().oid().0)
                }) =>
            {
                type_desc(s.types, domain)
            }
            _ => type_desc(s.types, c.type_info().oid()),
        };
        out_columns.push(ColumnDesc {
            name: c.name().to_owned(),
            elements_not_null: super::types::is_array(&ty) && !elements_nullable,
            ty,
            nullable: is_nullable,
            origin,
        });
    }
    Ok(QueryData {
        format: FORMAT,
        query: sql.to_owned(),
        params: param_oids.iter().map(|o| type_desc(s.types, *o)).collect(),
        columns: out_columns,
    })
}

struct SessionCatalog<'a> {
    tables: &'a HashMap<u32, Table>,
    names: &'a HashMap<(String, String), u32>,
    functions: &'a Functions,
}

impl Catalog for SessionCatalog<'_> {
    fn not_null(&self, schema: &str, table: &str, column: &str) -> Option<bool> {
        let oid = self.names.get(&(schema.to_owned(), table.to_owned()))?;
        let table = self.tables.get(oid)?;
        table
            .columns
            .values()
            .find(|c| c.name == column)
            .map(|c| c.not_null)
    }

    fn elements_not_null(&self, schema: &str, table: &str, column: &str) -> bool {
        let Some(oid) = self.names.get(&(schema.to_owned(), table.to_owned())) else {
            return false;
        };
        self.tables.get(oid).is_some_and(|t| {
            t.columns
                .values()
                .any(|c| c.name == column && c.elements_not_null)
        })
    }

    fn builtin_function(&self, name: &str) -> bool {
        !self.functions.untrusted.contains(name)
    }
}

/// The description of a type: built-in from the table, others from the catalog.
fn type_desc(types: &HashMap<u32, TypeDesc>, oid: Oid) -> TypeDesc {
    if let Some(name) = oid.builtin_name() {
        return TypeDesc {
            oid: oid.0,
            name: name.to_owned(),
            kind: TypeKind::Builtin,
            of: None,
        };
    }
    types.get(&oid.0).cloned().unwrap_or_else(|| TypeDesc {
        oid: oid.0,
        name: format!("unknown type {}", oid.0),
        kind: TypeKind::Pseudo,
        of: None,
    })
}

const TYPES_SQL: &str = "SELECT t.oid, n.nspname, t.typname, t.typtype::text, t.typbasetype, \
     t.typelem, t.typcategory::text \
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     WHERE t.oid = ANY (string_to_array($1, ',')::oid[])";

/// Looks up the user types among `oids` (and the types they are built on).
async fn load_types(s: &mut Parts<'_>, oids: &[Oid]) -> Result<(), DescribeError> {
    struct Raw {
        name: String,
        typtype: String,
        base: u32,
        elem: u32,
        category: String,
    }
    let mut raw: HashMap<u32, Raw> = HashMap::new();
    let mut todo: Vec<u32> = oids
        .iter()
        .filter(|o| o.builtin().is_none() && o.0 != 0 && !s.types.contains_key(&o.0))
        .map(|o| o.0)
        .collect();
    // Domains of arrays of domains...: a few rounds at most.
    for _ in 0..6 {
        todo.sort_unstable();
        todo.dedup();
        todo.retain(|o| !raw.contains_key(o));
        if todo.is_empty() {
            break;
        }
        let list = todo
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let rows = quarry_driver::query(TYPES_SQL)
            .bind(list)
            .fetch_all(&mut *s.conn)
            .await
            .map_err(other)?;
        todo.clear();
        for row in rows {
            let oid: u32 = row.try_get(0).map_err(other)?;
            let schema: String = row.try_get(1).map_err(other)?;
            let name: String = row.try_get(2).map_err(other)?;
            let r = Raw {
                name: format!("{schema}.{name}"),
                typtype: row.try_get(3).map_err(other)?,
                base: row.try_get(4).map_err(other)?,
                elem: row.try_get(5).map_err(other)?,
                category: row.try_get(6).map_err(other)?,
            };
            for next in [r.base, r.elem] {
                if next != 0 && Oid(next).builtin().is_none() && !s.types.contains_key(&next) {
                    todo.push(next);
                }
            }
            raw.insert(oid, r);
        }
    }
    fn build(
        oid: u32,
        raw: &HashMap<u32, Raw>,
        known: &HashMap<u32, TypeDesc>,
        depth: u32,
    ) -> TypeDesc {
        if let Some(name) = Oid(oid).builtin_name() {
            return TypeDesc {
                oid,
                name: name.to_owned(),
                kind: TypeKind::Builtin,
                of: None,
            };
        }
        if let Some(t) = known.get(&oid) {
            return t.clone();
        }
        let Some(r) = raw.get(&oid).filter(|_| depth < 8) else {
            return TypeDesc {
                oid,
                name: format!("unknown type {oid}"),
                kind: TypeKind::Pseudo,
                of: None,
            };
        };
        let (kind, of) = if r.category == "A" && r.elem != 0 {
            (TypeKind::Array, Some(r.elem))
        } else {
            match r.typtype.as_str() {
                "d" => (TypeKind::Domain, Some(r.base)),
                "e" => (TypeKind::Enum, None),
                "c" => (TypeKind::Composite, None),
                "r" | "m" => (TypeKind::Range, None),
                "p" => (TypeKind::Pseudo, None),
                _ => (TypeKind::Base, None),
            }
        };
        TypeDesc {
            oid,
            name: r.name.clone(),
            kind,
            of: of.map(|o| Box::new(build(o, raw, known, depth + 1))),
        }
    }
    let built: Vec<(u32, TypeDesc)> = raw
        .keys()
        .map(|&oid| (oid, build(oid, &raw, s.types, 0)))
        .collect();
    s.types.extend(built);
    Ok(())
}

// A NOT NULL domain is no proof that a column holds no NULL (an empty scalar
// subquery inserts one: the CREATE DOMAIN page shows it), so only attnotnull counts.
// Array elements are non-null only under a validated CHECK that says so, in the
// one spelling recognised: `array_position(col, NULL) IS NULL`.
const TABLES_SQL: &str = "SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, \
     a.attnotnull, a.atttypid, \
     t.typcategory <> 'A' OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k \
       WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated \
       AND k.conkey = ARRAY[a.attnum] \
       AND pg_catalog.pg_get_constraintdef(k.oid) ~ ('^CHECK \\(\\(array_position\\(' \
         || pg_catalog.regexp_replace(pg_catalog.quote_ident(a.attname), '([^a-zA-Z0-9_])', '\\\\\\1', 'g') \
         || ', NULL(::[^()]+)?\\) IS NULL\\)\\)$')) \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
     WHERE a.attnum > 0 AND NOT a.attisdropped \
     AND (c.oid = ANY (string_to_array($1, ',')::oid[]) \
     OR (n.nspname, c.relname) IN (SELECT e->>0, e->>1 FROM json_array_elements($2::json) e))";

/// Loads the columns of tables given by OID or by `(schema, name)`.
async fn load_tables(
    s: &mut Parts<'_>,
    oids: &[u32],
    names: &[(String, String)],
) -> Result<(), DescribeError> {
    if oids.is_empty() && names.is_empty() {
        return Ok(());
    }
    let list = oids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let pairs: Vec<[&str; 2]> = names
        .iter()
        .map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let json = serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into());
    let rows = quarry_driver::query(TABLES_SQL)
        .bind(list)
        .bind(json)
        .fetch_all(&mut *s.conn)
        .await
        .map_err(other)?;
    for row in rows {
        let oid: u32 = row.try_get(0).map_err(other)?;
        let schema: String = row.try_get(1).map_err(other)?;
        let table: String = row.try_get(2).map_err(other)?;
        let attnum: i16 = row.try_get(3).map_err(other)?;
        let attname: String = row.try_get(4).map_err(other)?;
        let not_null: bool = row.try_get(5).map_err(other)?;
        let declared: u32 = row.try_get(6).map_err(other)?;
        let elements_not_null: bool = row.try_get(7).map_err(other)?;
        s.table_names.insert((schema.clone(), table.clone()), oid);
        s.tables
            .entry(oid)
            .or_insert_with(|| Table {
                name: format!("{schema}.{table}"),
                columns: HashMap::new(),
            })
            .columns
            .insert(
                attnum,
                TableColumn {
                    name: attname,
                    not_null,
                    declared,
                    elements_not_null,
                },
            );
    }
    Ok(())
}

/// The names among `defs` (name, definition) whose definition holds a sublink that
/// PostgreSQL 16 and older print as a bare `(SubPlan n)` though it is not a scalar
/// subquery (see `Aliases::quantified_sublinks`), directly or by naming another
/// such view or function.
fn quantified_definitions(defs: &[(String, String)]) -> Vec<String> {
    let mut found: Vec<bool> = defs
        .iter()
        .map(|(_, def)| Aliases::read(&strip_dollar_quotes(def)).quantified_sublinks)
        .collect();
    // Each pass adds at least one name or stops, so at most `defs.len()` passes.
    for _ in 0..defs.len() {
        let names: Vec<String> = defs
            .iter()
            .zip(&found)
            .filter(|(_, f)| **f)
            .map(|((n, _), _)| n.to_ascii_lowercase())
            .collect();
        let mut grew = false;
        for (i, (_, def)) in defs.iter().enumerate() {
            if !found[i] && names.iter().any(|n| mentions_word(def, n)) {
                found[i] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    defs.iter()
        .zip(found)
        .filter(|(_, f)| *f)
        .map(|((n, _), _)| n.clone())
        .collect()
}

/// A function's definition with its dollar-quoted body opened up, so the body is read
/// as SQL rather than as one string literal. Over-reading is safe here: it can only
/// find more sublinks, never fewer.
fn strip_dollar_quotes(def: &str) -> String {
    let mut out = String::with_capacity(def.len());
    let mut rest = def;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('$') {
            // A tag is empty or an identifier; `$1` is a parameter.
            Some(end)
                if !after.starts_with(|c: char| c.is_ascii_digit())
                    && after[..end]
                        .bytes()
                        .all(|b| b == b'_' || b.is_ascii_alphanumeric()) =>
            {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `text` names `word` (lower case) as a whole identifier, ignoring case.
fn mentions_word(text: &str, word: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let ident = |b: u8| b == b'_' || b == b'$' || b.is_ascii_alphanumeric();
    let bytes = lower.as_bytes();
    lower.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Which function names the nullability rules may trust, and (before
/// PostgreSQL 17, where `IN (subquery)` prints like a scalar subquery) which
/// views hold such sublinks. Loaded once per session.
async fn load_functions(s: &mut Parts<'_>, major: u32) -> Result<(), DescribeError> {
    if s.functions.is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = nullability::STRICT_FUNCTIONS.to_vec();
    names.extend(nullability::AGGREGATES);
    names.extend(nullability::OTHER_FUNCTIONS);
    let strict: Vec<&str> = nullability::STRICT_FUNCTIONS.to_vec();
    // A name is untrusted when a function of that name lives outside pg_catalog
    // (a call may resolve to it), or when a built-in one the strict rule covers
    // is not strict.
    let rows = quarry_driver::query(
        "SELECT DISTINCT p.proname::text FROM pg_catalog.pg_proc p \
         WHERE p.proname = ANY (string_to_array($1, ',')) \
         AND (p.pronamespace <> 'pg_catalog'::regnamespace \
              OR (p.proname = ANY (string_to_array($2, ',')) AND NOT p.proisstrict))",
    )
    .bind(names.join(","))
    .bind(strict.join(","))
    .fetch_all(&mut *s.conn)
    .await
    .map_err(other)?;
    let mut untrusted = std::collections::HashSet::new();
    for row in rows {
        let name: String = row.try_get(0).map_err(other)?;
        untrusted.insert(name);
    }
    let mut quantified_names = Vec::new();
    if major < 17 {
        // Views and SQL functions (a set-returning one is inlined into the caller, its
        // sublinks with it), with whether their own text holds such a sublink. One that
        // only names another such view or function holds it too, so the set is closed
        // over mentions.
        let rows = quarry_driver::query(
            "SELECT c.relname::text, pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c \
             WHERE c.relkind = 'v' \
             AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
             UNION ALL \
             SELECT p.proname::text, pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p \
             WHERE p.prokind = 'f' AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'sql') \
             AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)",
        )
        .fetch_all(&mut *s.conn)
        .await
        .map_err(other)?;
        let mut defs = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0).map_err(other)?;
            let def: Option<String> = row.try_get(1).map_err(other)?;
            defs.push((name, def.unwrap_or_default()));
        }
        quantified_names = quantified_definitions(&defs);
    }
    *s.functions = Some(Functions {
        untrusted,
        quantified_names,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantified_definitions_close_over_mentions() {
        let defs = vec![
            (
                "f".to_string(),
                "CREATE FUNCTION public.f() RETURNS TABLE(m boolean) LANGUAGE sql \
                 AS $function$SELECT x IN (SELECT 1) FROM t$function$"
                    .to_string(),
            ),
            ("v".to_string(), " SELECT f.m FROM f() f(m);".to_string()),
            ("w".to_string(), " SELECT v.m FROM v;".to_string()),
            // Names that merely contain another name do not count.
            ("u".to_string(), " SELECT ff.m, v_1 FROM ff;".to_string()),
            (
                "g".to_string(),
                "CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql \
                 AS $body$SELECT (SELECT 1)$body$"
                    .to_string(),
            ),
        ];
        assert_eq!(quantified_definitions(&defs), ["f", "v", "w"]);
    }

    #[test]
    fn dollar_quotes_open_up_but_parameters_stay() {
        assert_eq!(strip_dollar_quotes("AS $f$SELECT $1$f$"), "AS  SELECT $1 ");
        assert_eq!(strip_dollar_quotes("a $$ b $$"), "a   b  ");
    }
}
