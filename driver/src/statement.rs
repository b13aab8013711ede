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
                touches_session: crate::connection::touches_session(sql),
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

    /// A query that runs this statement, to `bind` values to. Run it on the connection
    /// that prepared the statement.
    pub fn query(&self) -> crate::query::Query {
        crate::query::Query::from_statement(self.clone())
    }
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
pub(crate) struct StatementCache {
    capacity: usize,
    max_sql_len: usize,
    tick: u64,
    len: usize,
    entries: HashMap<Box<str>, Vec<Entry>>,
    next_id: u64,
}

struct Entry {
    param_types: Box<[Oid]>,
    statement: Statement,
    used: u64,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize, max_sql_len: usize) -> StatementCache {
        StatementCache {
            capacity,
            max_sql_len,
            tick: 0,
            len: 0,
            entries: HashMap::new(),
            next_id: 0,
        }
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

    /// A fresh statement name for this connection.
    pub(crate) fn next_name(&mut self) -> Box<str> {
        self.next_id += 1;
        format!("quarry_s{}", self.next_id).into_boxed_str()
    }

    /// Adds a statement; returns the name of the one evicted to make room, which the
    /// caller must close on the server.
    pub(crate) fn insert(&mut self, param_types: &[Oid], statement: Statement) -> Option<Box<str>> {
        let sql = statement.sql();
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

    /// Forgets a statement (after the server said it no longer exists or is stale).
    pub(crate) fn remove(&mut self, sql: &str, param_types: &[Oid]) -> Option<Statement> {
        let list = self.entries.get_mut(sql)?;
        let index = list.iter().position(|e| *e.param_types == *param_types)?;
        let entry = list.swap_remove(index);
        if list.is_empty() {
            self.entries.remove(sql);
        }
        self.len -= 1;
        Some(entry.statement)
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

    fn stmt(cache: &mut StatementCache, sql: &str) -> Statement {
        Statement::new(0, cache.next_name(), sql, vec![], vec![])
    }

    #[test]
    fn least_recently_used_is_evicted() {
        let mut c = StatementCache::new(2, 1000);
        let a = stmt(&mut c, "a");
        let b = stmt(&mut c, "b");
        assert_eq!(c.insert(&[], a), None);
        assert_eq!(c.insert(&[], b), None);
        assert!(c.get("a", &[]).is_some()); // a is now more recent than b
        let d = stmt(&mut c, "d");
        assert_eq!(c.insert(&[], d).as_deref(), Some("quarry_s2"));
        assert!(c.get("b", &[]).is_none());
        assert!(c.get("a", &[]).is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn parameter_types_are_part_of_the_key() {
        let mut c = StatementCache::new(10, 1000);
        let s = stmt(&mut c, "SELECT $1");
        c.insert(&[Oid::INT4], s);
        assert!(c.get("SELECT $1", &[Oid::INT4]).is_some());
        assert!(c.get("SELECT $1", &[Oid::INT8]).is_none());
    }

    #[test]
    fn capacity_zero_and_long_queries_are_not_cached() {
        let c = StatementCache::new(0, 1000);
        assert!(!c.accepts("SELECT 1"));
        let c = StatementCache::new(10, 5);
        assert!(!c.accepts("SELECT 1"));
        assert!(c.accepts("SEL"));
    }
}
