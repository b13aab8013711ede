//! `QueryBuilder`: SQL whose shape is decided at run time, with every value bound (the
//! builder numbers `$n`) or quoted. The guide is the "Dynamic SQL" part of the public
//! `query` module.

use std::fmt;

use crate::arguments::Arguments;
use crate::querying::{
    AssertSqlSafe, IntoSql, Query, QueryAs, QueryScalar, query, query_as, query_scalar,
};
use crate::types::Encode;

/// Builds SQL whose shape is decided at run time: optional filters, a chosen sort
/// column, `VALUES` lists of any length.
///
/// Text goes in only through [`push`](QueryBuilder::push), which takes what
/// [`query`] takes (string literals, or [`AssertSqlSafe`] text): it is the trusted
/// part. Values go in through [`push_bind`](QueryBuilder::push_bind), which writes
/// `$1`, `$2`, ... and binds the value; names through
/// [`push_identifier`](QueryBuilder::push_identifier), quoted as PostgreSQL quotes
/// them. Build it into a [`Query`], [`QueryAs`] or [`QueryScalar`] and run it on any
/// executor.
///
/// ```no_run
/// # use quarry_driver as quarry;
/// # async fn f(pool: &quarry::Pool, name: Option<&str>, ids: Vec<i64>) -> quarry::Result<()> {
/// use quarry::QueryBuilder;
///
/// let mut b = QueryBuilder::new("SELECT id, name FROM users WHERE true");
/// if let Some(name) = name {
///     b.push(" AND name ILIKE ").push_bind(format!("%{name}%"));
/// }
/// if !ids.is_empty() {
///     b.push(" AND id = ANY(").push_bind(ids).push(")");
/// }
/// b.push(" ORDER BY ").push_identifier("name");
/// let users: Vec<(i64, String)> = b.build_query_as().fetch_all(pool).await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until it is built and run"]
#[derive(Default)]
pub struct QueryBuilder {
    sql: String,
    args: Arguments,
}

impl fmt::Debug for QueryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SQL holds `$n` placeholders, never the values.
        f.debug_struct("QueryBuilder")
            .field("sql", &self.sql)
            .field("args", &self.args)
            .finish()
    }
}

impl QueryBuilder {
    /// A builder starting with `sql` (trusted text).
    pub fn new(sql: impl IntoSql) -> QueryBuilder {
        QueryBuilder {
            sql: sql.into_sql().into_owned(),
            args: Arguments::new(),
        }
    }

    /// Appends trusted SQL text: a string literal, or [`AssertSqlSafe`] text in which no
    /// untrusted input went.
    pub fn push(&mut self, sql: impl IntoSql) -> &mut Self {
        self.sql.push_str(&sql.into_sql());
        self
    }

    /// Appends the next placeholder (`$1`, `$2`, ...) and binds `value` to it. A `Vec` or
    /// slice binds an array: `push("id = ANY(").push_bind(ids).push(")")` is the way to
    /// write `IN` for any number of values with one statement text.
    pub fn push_bind<T: Encode>(&mut self, value: T) -> &mut Self {
        self.args.add(value);
        self.sql.push('$');
        self.sql.push_str(&self.args.len().to_string());
        self
    }

    /// Appends a name (table, column, ...) quoted as PostgreSQL quotes it: `my "t"` is
    /// `"my ""t"""`, used exactly as given, case included. A name that cannot be an
    /// identifier (empty, or with a NUL character) makes the query fail when it runs.
    pub fn push_identifier(&mut self, name: &str) -> &mut Self {
        self.push_identifier_value(&Identifier::new(name))
    }

    /// Appends an [`Identifier`], such as a schema-qualified name.
    pub fn push_identifier_value(&mut self, name: &Identifier) -> &mut Self {
        if let Some(problem) = name.problem() {
            self.args.fail(problem);
        }
        name.write(&mut self.sql);
        self
    }

    /// Appends a [`Literal`]: a value written into the SQL text itself. Bind values
    /// instead wherever the server accepts a parameter; a literal is for the few places
    /// that take none (a `DEFAULT` in DDL, the text of a `COMMENT ON`).
    pub fn push_literal(&mut self, literal: &Literal) -> &mut Self {
        match &literal.0 {
            Ok(sql) => self.sql.push_str(sql),
            Err(problem) => self.args.fail(problem.clone()),
        }
        self
    }

    /// Items separated by `separator` (trusted text, such as `", "` or `" AND "`): each
    /// push on the returned [`Separated`] after its first starts with the separator.
    pub fn separated(&mut self, separator: impl IntoSql) -> Separated<'_> {
        Separated {
            builder: self,
            separator: separator.into_sql().into_owned(),
            first: true,
        }
    }

    /// Appends `VALUES (...), (...)`: one parenthesized row per item, `row` pushing the
    /// row's values on a [`Separated`] (comma-separated).
    ///
    /// ```
    /// # use quarry_driver as quarry;
    /// let users = [("ada", 36), ("brian", 41)];
    /// let mut b = quarry::QueryBuilder::new("INSERT INTO users (name, age) ");
    /// b.push_values(users, |mut row, (name, age)| {
    ///     row.push_bind(name).push_bind(age);
    /// });
    /// assert_eq!(b.sql(), "INSERT INTO users (name, age) VALUES ($1, $2), ($3, $4)");
    /// ```
    ///
    /// Each value is a parameter and a statement takes at most 65535; for more rows, use
    /// several statements or COPY.
    pub fn push_values<I, F>(&mut self, rows: I, mut row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_>, I::Item),
    {
        self.sql.push_str("VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            row(self.separated(", "), item);
            self.sql.push(')');
        }
        self
    }

    /// The SQL so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// How many values are bound so far.
    pub fn bound(&self) -> usize {
        self.args.len()
    }

    /// The finished query.
    pub fn build(self) -> Query {
        query(AssertSqlSafe(self.sql)).bind_all(self.args)
    }

    /// The finished query, its rows becoming `T` (see [`query_as`]).
    pub fn build_query_as<T>(self) -> QueryAs<T>
    where
        T: for<'r> crate::row::FromRecord<'r> + Send,
    {
        query_as(AssertSqlSafe(self.sql)).bind_all(self.args)
    }

    /// The finished query, its single column becoming `T` (see [`query_scalar`]).
    pub fn build_query_scalar<T>(self) -> QueryScalar<T>
    where
        T: for<'r> crate::types::Decode<'r> + crate::types::Type + Send,
    {
        query_scalar(AssertSqlSafe(self.sql)).bind_all(self.args)
    }
}

/// Pushes separated by a separator; made by [`QueryBuilder::separated`].
#[must_use = "push items on it"]
pub struct Separated<'b> {
    builder: &'b mut QueryBuilder,
    separator: String,
    first: bool,
}

impl fmt::Debug for Separated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Separated")
            .field("separator", &self.separator)
            .finish_non_exhaustive()
    }
}

impl Separated<'_> {
    fn next(&mut self) -> &mut QueryBuilder {
        if !self.first {
            self.builder.sql.push_str(&self.separator);
        }
        self.first = false;
        self.builder
    }

    /// The separator (after the first item), then trusted SQL text.
    pub fn push(&mut self, sql: impl IntoSql) -> &mut Self {
        self.next().push(sql);
        self
    }

    /// The separator (after the first item), then a bound value.
    pub fn push_bind<T: Encode>(&mut self, value: T) -> &mut Self {
        self.next().push_bind(value);
        self
    }

    /// The separator (after the first item), then a quoted name.
    pub fn push_identifier(&mut self, name: &str) -> &mut Self {
        self.next().push_identifier(name);
        self
    }

    /// Trusted SQL text without a separator: the rest of the current item (`name = ` then
    /// `push_bind_unseparated(value)`).
    pub fn push_unseparated(&mut self, sql: impl IntoSql) -> &mut Self {
        self.builder.push(sql);
        self
    }

    /// A bound value without a separator: the rest of the current item.
    pub fn push_bind_unseparated<T: Encode>(&mut self, value: T) -> &mut Self {
        self.builder.push_bind(value);
        self
    }
}

/// A name for SQL: a column, a table, or a schema-qualified `schema.table`; quoted as
/// PostgreSQL quotes identifiers (psycopg's `sql.Identifier`).
///
/// ```
/// # use quarry_driver as quarry;
/// use quarry::query::Identifier;
/// assert_eq!(Identifier::new("Order Items").to_string(), r#""Order Items""#);
/// assert_eq!(Identifier::qualified(["app", "users"]).to_string(), r#""app"."users""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identifier(Vec<String>);

impl Identifier {
    /// One name.
    pub fn new(name: impl Into<String>) -> Identifier {
        Identifier(vec![name.into()])
    }

    /// A dotted name: `["schema", "table"]`, or `["table", "column"]`.
    pub fn qualified<I, S>(parts: I) -> Identifier
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Identifier(parts.into_iter().map(Into::into).collect())
    }

    /// Why this cannot be an identifier, if it cannot.
    fn problem(&self) -> Option<String> {
        if self.0.is_empty() {
            return Some("an identifier needs at least one part".into());
        }
        for part in &self.0 {
            if part.is_empty() {
                return Some("an empty identifier cannot be written in SQL".into());
            }
            if part.contains('\0') {
                return Some(format!(
                    "identifier {:?} contains a NUL character, which SQL cannot hold",
                    part.replace('\0', "\\0")
                ));
            }
        }
        None
    }

    fn write(&self, out: &mut String) {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(&crate::querying::quote_identifier(part));
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// A value written into the SQL text as a literal (psycopg's `sql.Literal`), for the
/// rare places a parameter cannot go: `DEFAULT` in DDL, `COMMENT ON ... IS`,
/// `SET ... TO`. Bind values everywhere else.
///
/// Text is written as `E'...'` with quotes and backslashes escaped, which reads the same
/// whatever `standard_conforming_strings` says; a NUL character makes the query fail
/// when it runs.
///
/// ```
/// # use quarry_driver as quarry;
/// use quarry::query::Literal;
/// assert_eq!(Literal::from("it's").to_string(), r"E'it''s'");
/// assert_eq!(Literal::from(r"a\b").to_string(), r"E'a\\b'");
/// assert_eq!(Literal::from(-5_i64).to_string(), "-5");
/// assert_eq!(Literal::from(true).to_string(), "true");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal(Result<String, String>);

impl From<&str> for Literal {
    fn from(text: &str) -> Literal {
        if text.contains('\0') {
            return Literal(Err(
                "a literal contains a NUL character, which PostgreSQL text cannot hold".into(),
            ));
        }
        let mut out = String::with_capacity(text.len() + 3);
        out.push_str("E'");
        for c in text.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
        Literal(Ok(out))
    }
}

impl From<String> for Literal {
    fn from(text: String) -> Literal {
        Literal::from(text.as_str())
    }
}

macro_rules! integer_literal {
    ($($t:ty),*) => {$(
        impl From<$t> for Literal {
            fn from(v: $t) -> Literal {
                Literal(Ok(v.to_string()))
            }
        }
    )*};
}
integer_literal!(i16, i32, i64);

impl From<bool> for Literal {
    fn from(v: bool) -> Literal {
        Literal(Ok(if v { "true" } else { "false" }.into()))
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(sql) => f.write_str(sql),
            Err(problem) => write!(f, "<invalid literal: {problem}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_values() {
        let mut b = QueryBuilder::new("SELECT * FROM t WHERE a = ");
        b.push_bind(1_i32)
            .push(" AND b = ANY(")
            .push_bind(vec![1_i64, 2])
            .push(")");
        let mut s = b.separated(" OR ");
        s.push("x = ").push_bind_unseparated("y");
        s.push_identifier("c").push_unseparated(" IS NULL");
        assert_eq!(
            b.sql(),
            r#"SELECT * FROM t WHERE a = $1 AND b = ANY($2)x = $3 OR "c" IS NULL"#
        );
        assert_eq!(b.bound(), 3);
    }

    #[test]
    fn bad_identifiers_and_literals_fail_the_query() {
        let mut b = QueryBuilder::new("SELECT 1 FROM ");
        b.push_identifier("a\0b");
        assert!(b.args.check().unwrap_err().to_string().contains("NUL"));
        let mut b = QueryBuilder::new("SELECT ");
        b.push_literal(&Literal::from("x\0"));
        assert!(b.args.check().is_err());
        let mut b = QueryBuilder::new("SELECT 1 FROM ");
        b.push_identifier("");
        assert!(b.args.check().unwrap_err().to_string().contains("empty"));
    }
}
