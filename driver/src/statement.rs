//! Prepared statements and the per-connection statement cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::row::{Column, Columns};
use crate::types::{Oid, TypeInfo};

/// A statement the server has parsed: its parameter types and result columns.
///
/// Made by [`Connection::prepare`](crate::Connection::prepare); also what the
/// statement cache holds.
///
/// A named statement exists in the session that prepared it, so it runs by name only on
/// that connection; on another connection (or through a pool) it runs by its SQL text.
#[derive(Clone)]
pub struct Statement {
    pub(crate) inner: Arc<StatementInner>,
}

pub(crate) struct StatementInner {
    /// The server-side name; empty for the unnamed statement.
    pub(crate) name: Box<str>,
    pub(crate) sql: Box<str>,
    pub(crate) params: Vec<TypeInfo>,
    pub(crate) columns: Arc<Columns>,
    /// The connection the statement was prepared on (`Connection::id`): a named statement
    /// exists on that session only.
    pub(crate) owner: u64,
    /// Whether running it may change session state (see `Connection::session_changed`).
    pub(crate) touches_session: bool,
}

impl Statement {
    pub(crate) fn new(
        owner: u64,
        name: Box<str>,
        sql: &str,
        params: Vec<TypeInfo>,
        columns: Vec<Column>,
    ) -> Statement {
        Statement {
            inner: Arc::new(StatementInner {
                owner,
                name,
                sql: sql.into(),
                params,
                columns: Arc::new(Columns::new(columns)),
                touches_session: touches_session(sql),
            }),
        }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.inner.sql
    }

    /// The types of the parameters `$1`, `$2`, ...
    pub fn params(&self) -> &[TypeInfo] {
        &self.inner.params
    }

    /// The columns of its result (empty for statements that return no rows).
    pub fn columns(&self) -> &[Column] {
        self.inner.columns.as_slice()
    }

    /// The server-side statement name (empty for an unnamed statement).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether this statement is named: prepared once on its connection and run there by
    /// name (on another connection, or after the cache evicted it, it runs by its SQL).
    pub fn is_named(&self) -> bool {
        !self.inner.name.is_empty()
    }
}

/// Whether SQL calls functions that change session state (advisory locks, `set_config`).
pub(crate) fn touches_session(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    ["advisory", "set_config"].iter().any(|needle| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    })
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statement")
            .field("name", &self.inner.name)
            .field("sql", &self.inner.sql)
            .field("params", &self.inner.params)
            .field("columns", &self.inner.columns.as_slice())
            .finish()
    }
}

/// A least-recently-used cache of named statements.
///
/// Keyed by SQL text and then by the parameter types the statement was prepared
/// with (the same SQL bound with `i32` and with `i64` needs two statements).
/// Capacity 0 disables it: every query then uses the unnamed statement, which is
/// what works behind a pooler in transaction mode (PgBouncer before 1.21).
///
/// Statement names are the cache's `prefix` and a counter. The prefix is unique to the
/// connection in this process and unpredictable from any other process (see
/// [`statement_prefix`]), so a Bind can only ever reach a statement this connection
/// parsed, even where a pooler hands one server session to many clients.
pub(crate) struct StatementCache {
    capacity: usize,
    max_sql_len: usize,
    tick: u64,
    len: usize,
    entries: HashMap<Box<str>, Vec<Entry>>,
    prefix: Box<str>,
    next_id: u64,
}

/// The prefix of the statement (and portal) names of connection `id`: `q<id>_<64 random
/// bits>_`, both in hex. The id makes it unique in this process; the random part, a keyed
/// hash whose key the standard library draws from the operating system, makes it
/// unguessable from another process, so two clients behind one pooler never share a name.
/// At most 36 bytes, leaving room for a counter within PostgreSQL's 63-byte names.
pub(crate) fn statement_prefix(id: u64) -> Box<str> {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = std::hash::RandomState::new().hash_one((id, nanos, std::process::id()));
    format!("q{id:x}_{random:016x}_").into_boxed_str()
}

struct Entry {
    param_types: Box<[Oid]>,
    statement: Statement,
    used: u64,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize, max_sql_len: usize, prefix: Box<str>) -> StatementCache {
        StatementCache {
            capacity,
            max_sql_len,
            tick: 0,
            len: 0,
            entries: HashMap::new(),
            prefix,
            next_id: 0,
        }
    }

    /// Stops caching for good: every query from now on uses the unnamed statement.
    /// Returns the names that were cached (the caller decides whether to close them).
    pub(crate) fn disable(&mut self) -> Vec<Box<str>> {
        self.capacity = 0;
        self.clear()
    }

    /// Whether caching is on.
    pub(crate) fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Whether a statement with this text may be cached.
    pub(crate) fn accepts(&self, sql: &str) -> bool {
        self.capacity > 0 && sql.len() <= self.max_sql_len
    }

    /// Finds a statement and marks it used.
    pub(crate) fn get(&mut self, sql: &str, param_types: &[Oid]) -> Option<Statement> {
        if self.len == 0 {
            return None;
        }
        self.tick += 1;
        let entry = self
            .entries
            .get_mut(sql)?
            .iter_mut()
            .find(|e| *e.param_types == *param_types)?;
        entry.used = self.tick;
        Some(entry.statement.clone())
    }

    /// A fresh name for this connection: never used before by any connection of this
    /// process, nor guessable by another process.
    pub(crate) fn next_name(&mut self) -> Box<str> {
        self.next_id += 1;
        format!("{}{:x}", self.prefix, self.next_id).into_boxed_str()
    }

    /// Adds a statement; returns the name of the one evicted to make room, which the
    /// caller must close on the server.
    pub(crate) fn insert(&mut self, param_types: &[Oid], statement: Statement) -> Option<Box<str>> {
        let sql = statement.sql();
        if self.capacity == 0 {
            // Disabled (possibly while this statement's description was on its way, after
            // a pooler was spotted): nothing is cached, so nothing binds it by name again.
            return None;
        }
        if self.get(sql, param_types).is_some() {
            return None;
        }
        let evicted = if self.len >= self.capacity {
            self.evict_oldest()
        } else {
            None
        };
        self.tick += 1;
        self.len += 1;
        self.entries.entry(sql.into()).or_default().push(Entry {
            param_types: param_types.into(),
            statement,
            used: self.tick,
        });
        evicted
    }

    fn evict_oldest(&mut self) -> Option<Box<str>> {
        let (sql, index) = self
            .entries
            .iter()
            .flat_map(|(sql, v)| v.iter().enumerate().map(move |(i, e)| (sql, i, e.used)))
            .min_by_key(|(_, _, used)| *used)
            .map(|(sql, i, _)| (sql.clone(), i))?;
        let list = self.entries.get_mut(&sql)?;
        let entry = list.swap_remove(index);
        if list.is_empty() {
            self.entries.remove(&sql);
        }
        self.len -= 1;
        Some(entry.statement.inner.name.clone())
    }

    /// Replaces the columns of the cached statement called `name` (their user types were
    /// named after the description arrived).
    pub(crate) fn replace_columns(&mut self, name: &str, columns: Arc<Columns>) {
        for entry in self.entries.values_mut().flatten() {
            if &*entry.statement.inner.name == name {
                let old = &entry.statement.inner;
                entry.statement = Statement {
                    inner: Arc::new(StatementInner {
                        owner: old.owner,
                        name: old.name.clone(),
                        sql: old.sql.clone(),
                        params: old.params.clone(),
                        columns,
                        touches_session: old.touches_session,
                    }),
                };
                return;
            }
        }
    }

    /// Replaces the cached statement of the same name (its types were named after the
    /// description arrived); does nothing if it is not cached.
    pub(crate) fn replace_statement(&mut self, statement: Statement) {
        if let Some(entry) = self
            .entries
            .values_mut()
            .flatten()
            .find(|e| e.statement.inner.name == statement.inner.name)
        {
            entry.statement = statement;
        }
    }

    /// Whether the named statement `name` is still cached (so still exists on the server).
    pub(crate) fn holds(&self, name: &str) -> bool {
        !name.is_empty()
            && self
                .entries
                .values()
                .flatten()
                .any(|e| &*e.statement.inner.name == name)
    }

    /// Forgets the statement called `name`, wherever it is filed.
    pub(crate) fn remove_name(&mut self, name: &str) {
        for list in self.entries.values_mut() {
            if let Some(i) = list.iter().position(|e| &*e.statement.inner.name == name) {
                list.swap_remove(i);
                self.len -= 1;
                break;
            }
        }
        self.entries.retain(|_, list| !list.is_empty());
    }

    /// Forgets everything; returns the names to close.
    pub(crate) fn clear(&mut self) -> Vec<Box<str>> {
        self.len = 0;
        self.entries
            .drain()
            .flat_map(|(_, v)| v.into_iter().map(|e| e.statement.inner.name.clone()))
            .collect()
    }

    /// How many statements are cached.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_touching_sql() {
        assert!(touches_session("SELECT pg_advisory_lock(1)"));
        assert!(touches_session("select SET_CONFIG('a.b', 'c', false)"));
        assert!(!touches_session("SELECT 1"));
    }

    fn stmt(cache: &mut StatementCache, sql: &str) -> Statement {
        Statement::new(0, cache.next_name(), sql, vec![], vec![])
    }

    fn cache(capacity: usize, max_sql_len: usize) -> StatementCache {
        StatementCache::new(capacity, max_sql_len, "p_".into())
    }

    #[test]
    fn least_recently_used_is_evicted() {
        let mut c = cache(2, 1000);
        let a = stmt(&mut c, "a");
        let b = stmt(&mut c, "b");
        assert_eq!(c.insert(&[], a), None);
        assert_eq!(c.insert(&[], b), None);
        assert!(c.get("a", &[]).is_some()); // a is now more recent than b
        let d = stmt(&mut c, "d");
        assert_eq!(c.insert(&[], d).as_deref(), Some("p_2"));
        assert!(c.get("b", &[]).is_none());
        assert!(c.get("a", &[]).is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn parameter_types_are_part_of_the_key() {
        let mut c = cache(10, 1000);
        let s = stmt(&mut c, "SELECT $1");
        c.insert(&[Oid::INT4], s);
        assert!(c.get("SELECT $1", &[Oid::INT4]).is_some());
        assert!(c.get("SELECT $1", &[Oid::INT8]).is_none());
    }

    #[test]
    fn capacity_zero_and_long_queries_are_not_cached() {
        let c = cache(0, 1000);
        assert!(!c.accepts("SELECT 1"));
        let c = cache(10, 5);
        assert!(!c.accepts("SELECT 1"));
        assert!(c.accepts("SEL"));
    }

    #[test]
    fn disabled_caches_nothing_and_gives_back_the_names() {
        let mut c = cache(10, 1000);
        let s = stmt(&mut c, "SELECT 1");
        c.insert(&[], s);
        assert_eq!(c.disable(), vec![Box::<str>::from("p_1")]);
        assert!(!c.accepts("SELECT 1"));
        assert!(!c.is_enabled());
        assert_eq!(c.len(), 0);
        // A description that arrives after the switch is not filed either.
        let late = stmt(&mut c, "SELECT 2");
        assert_eq!(c.insert(&[], late), None);
        assert!(!c.holds("p_2"));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn names_are_unique_and_unpredictable() {
        // Two connections with the same id in two processes (or two runs) must not share
        // a prefix; two connections of one process never do.
        let a = statement_prefix(1);
        let b = statement_prefix(1);
        let c = statement_prefix(2);
        assert_ne!(a, b, "the random part differs per call");
        assert_ne!(a, c);
        assert!(a.starts_with("q1_") && c.starts_with("q2_"));
        // The longest prefix leaves room for a 64-bit counter in 63 bytes.
        let longest = statement_prefix(u64::MAX);
        assert!(longest.len() + 16 <= 63, "{longest}");
    }
}
