//! User types (enums, composites, domains, extension types) known by name.
//!
//! Built-in types have fixed OIDs. A user type's OID differs per database, so
//! the first time a value of `#[derive(PgType)]` type is bound, the connection
//! asks the catalog for it and remembers the answer.

use std::borrow::Cow;
use std::collections::HashMap;

use super::Connection;
use crate::arguments::Arguments;
use crate::failure::{Error, Result};
use crate::types::{Catalog, EncodeBuf, KnownType, Oid, TypeInfo, TypeRef, UserRange};

/// Names -> OIDs (of the type and of its array type), and what the catalog said of each
/// user type met (name, a domain's base, an array's element), shared with the `TypeInfo`s
/// handed out so that decoders can read the user types nested in values.
#[derive(Debug, Default)]
pub(crate) struct TypeRegistry {
    by_name: HashMap<&'static str, (Oid, Oid)>,
    catalog: Catalog,
}

impl TypeRegistry {
    pub(crate) fn clear(&mut self) {
        self.by_name.clear();
        // A fresh catalog: rows already handed out keep the one they were read with.
        self.catalog = Catalog::default();
    }

    fn lookup(&self, name: &str, array: bool) -> Option<Oid> {
        self.by_name
            .get(name)
            .map(|&(oid, array_oid)| if array { array_oid } else { oid })
    }
}

/// PostgreSQL's `FirstNormalObjectId`: OIDs below it are built in.
const FIRST_USER_OID: u32 = 16384;

/// Escapes a string literal for the simple protocol.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Connection {
    /// What we know of type `oid`: built-in name, or a user type's name if looked up;
    /// with the connection's catalog, for the user types nested in its values.
    pub(crate) fn type_info(&self, oid: Oid) -> TypeInfo {
        let info = TypeInfo::from_oid(oid);
        let info = match info.is_builtin() {
            true => info,
            false => match self.types.catalog.name(oid) {
                Some(name) => TypeInfo::with_name(oid, name),
                None => info,
            },
        };
        let catalog = &self.types.catalog;
        if catalog.server_major().is_none() {
            let major = self.server_version().major();
            if major != 0 {
                catalog.set_server_major(major);
            }
        }
        info.with_catalog(catalog)
    }

    /// Looks up (once per connection) every user type named in `names`.
    async fn resolve_names(&mut self, names: &[&'static str]) -> Result<()> {
        let missing: Vec<&'static str> = names
            .iter()
            .copied()
            .filter(|n| !self.types.by_name.contains_key(n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = missing.iter().map(|n| literal(n)).collect();
        let sql = format!(
            "SELECT n.name, t.oid::int8, t.typarray::int8, t.typbasetype::int8, t.typtype::text \
             FROM unnest(ARRAY[{}]::text[]) AS n(name) \
             LEFT JOIN pg_catalog.pg_type t ON t.oid = pg_catalog.to_regtype(n.name)",
            list.join(", ")
        );
        let rows = self.simple_query(&sql).await?;
        for row in rows {
            let text = |i: usize| -> Result<Option<String>> {
                let raw = row.try_get_raw(i)?;
                raw.bytes()
                    .map(|b| {
                        String::from_utf8(b.to_vec())
                            .map_err(|_| Error::protocol("pg_type lookup returned invalid UTF-8"))
                    })
                    .transpose()
            };
            let name = text(0)?.unwrap_or_default();
            let oid = text(1)?.and_then(|s| s.parse::<i64>().ok());
            let array = text(2)?.and_then(|s| s.parse::<i64>().ok());
            let base = text(3)?.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            // A range's subtype is learned by `name_user_types`, when a column of it is
            // read: left out of the catalog here, the type is looked up there in full.
            let is_range = matches!(text(4)?.as_deref(), Some("r" | "m"));
            let Some(&static_name) = missing.iter().find(|n| **n == name) else {
                continue;
            };
            let (Some(oid), Some(array)) = (oid, array) else {
                return Err(Error::encode(format!(
                    "type \"{name}\" does not exist in this database \
                     (used by a #[derive(PgType)] value); create it, or check its name and search_path"
                )));
            };
            let to_oid = |v: i64| {
                u32::try_from(v)
                    .map(Oid)
                    .map_err(|_| Error::protocol(format!("OID {v} out of range")))
            };
            let (oid, array, base) = (to_oid(oid)?, to_oid(array)?, to_oid(base)?);
            self.types.by_name.insert(static_name, (oid, array));
            if is_range {
                continue;
            }
            let catalog = &self.types.catalog;
            catalog.insert(
                oid,
                KnownType {
                    name: name.clone().into_boxed_str(),
                    base: (base != Oid(0)).then_some(base),
                    element: None,
                    range: None,
                },
            );
            catalog.insert(
                array,
                KnownType {
                    name: format!("{name}[]").into_boxed_str(),
                    base: None,
                    element: Some(oid),
                    range: None,
                },
            );
        }
        Ok(())
    }

    /// Looks up the user types seen only by OID (in a result's columns), and every user
    /// type reachable from them (array elements, domains' base types, composites' fields),
    /// so that types matched by name (`citext` into `String`, a `#[derive(PgType)]`) can
    /// check them and decoders can read what is nested in their values (a
    /// `positive_int[]` as `Vec<i32>`). Once per type per connection.
    /// Records a user type's name that the server told us without being asked (a
    /// pgoutput Type message, during replication when no query can be sent), unless the
    /// catalog knows it already (then it knows more: a domain's base, an array's element).
    pub(crate) fn note_type_name(&mut self, oid: Oid, namespace: &str, name: &str) {
        if oid.0 < FIRST_USER_OID || self.types.catalog.contains(oid) {
            return;
        }
        let name = match namespace {
            "" | "public" | "pg_catalog" => name.to_owned(),
            ns => format!("{ns}.{name}"),
        };
        self.types.catalog.insert(
            oid,
            KnownType {
                name: name.into_boxed_str(),
                base: None,
                element: None,
                range: None,
            },
        );
    }

    pub(crate) async fn name_user_types(&mut self, oids: &[Oid]) -> Result<()> {
        let missing: Vec<String> = oids
            .iter()
            .filter(|o| !self.types.catalog.contains(**o))
            .map(|o| o.0.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // format_type gives `citext`, `citext[]`, `myschema.mood` (qualified when not on
        // the search path): the same forms the registry records for named lookups. A
        // range's subtype comes from pg_range; a multirange's (PostgreSQL 14+) through its
        // `rngmultitypid`, read through to_jsonb so that the query also runs on 13.
        let range_of = |t: &str| {
            format!(
                "SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE {t}.typtype IN ('r', 'm') \
                 AND (r.rngtypid = {t}.oid \
                      OR (pg_catalog.to_jsonb(r) ->> 'rngmultitypid')::oid = {t}.oid)"
            )
        };
        let sql = format!(
            "WITH RECURSIVE reach(oid) AS ( \
               SELECT t.oid FROM pg_catalog.pg_type t WHERE t.oid IN ({}) \
               UNION \
               SELECT d.dep FROM reach JOIN pg_catalog.pg_type t ON t.oid = reach.oid \
               CROSS JOIN LATERAL ( \
                 SELECT t.typelem WHERE t.typelem <> 0 \
                 UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0 \
                 UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a \
                   WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid \
                     AND a.attnum > 0 AND NOT a.attisdropped \
                 UNION ALL {} \
               ) AS d(dep) \
               WHERE d.dep >= {FIRST_USER_OID} \
             ) \
             SELECT t.oid::int8, pg_catalog.format_type(t.oid, NULL), \
                    t.typbasetype::int8, t.typelem::int8, t.typlen::int8, t.typtype::text, \
                    ({})::int8 \
             FROM reach JOIN pg_catalog.pg_type t ON t.oid = reach.oid",
            missing.join(", "),
            range_of("t"),
            range_of("t"),
        );
        let rows = self.simple_query_inner(&sql).await?;
        for row in rows {
            let text = |i: usize| -> Result<String> {
                let raw = row.try_get_raw(i)?;
                let bytes = raw.bytes().unwrap_or_default();
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| Error::protocol("pg_type lookup returned invalid UTF-8"))
            };
            let oid_at = |i: usize| -> Result<Oid> {
                text(i)?
                    .parse::<u32>()
                    .map(Oid)
                    .map_err(|_| Error::protocol("pg_type lookup returned a bad OID"))
            };
            let (oid, name, base, element) = (oid_at(0)?, text(1)?, oid_at(2)?, oid_at(3)?);
            // `typelem` is also set on fixed-length types read by subscript (`point`'s
            // float8): an array is a variable-length type (typlen -1) with an element.
            let is_array = text(4)? == "-1" && element != Oid(0);
            let range = match text(5)?.as_str() {
                kind @ ("r" | "m") => Some(UserRange {
                    subtype: oid_at(6)?,
                    multi: kind == "m",
                }),
                _ => None,
            };
            self.types.catalog.insert(
                oid,
                KnownType {
                    name: name.into_boxed_str(),
                    base: (base != Oid(0)).then_some(base),
                    element: is_array.then_some(element),
                    range,
                },
            );
        }
        Ok(())
    }

    /// `columns` with the names of their user types looked up, or `None` when every
    /// type was already known. Also updates the cached statement they came from.
    pub(crate) async fn name_columns(
        &mut self,
        statement: &str,
        columns: &crate::row::Columns,
    ) -> Result<Option<std::sync::Arc<crate::row::Columns>>> {
        let unnamed = columns.unnamed_user_types();
        if unnamed.is_empty() {
            return Ok(None);
        }
        self.name_user_types(&unnamed).await?;
        let named = std::sync::Arc::new(columns.renamed(|oid| self.type_info(oid)));
        if !statement.is_empty() {
            self.cache.replace_columns(statement, named.clone());
        }
        Ok(Some(named))
    }

    /// The OIDs of the user types among `args`' parameters, in order.
    pub(crate) async fn resolve_param_types(&mut self, args: &Arguments) -> Result<Vec<Oid>> {
        let names: Vec<&'static str> = type_names(args).map(|(n, _)| n).collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.resolve_names(&names).await?;
        self.known_param_types(args)
    }

    /// Whether every user type `args` names was looked up already, so that
    /// [`Connection::known_param_types`] needs no round trip.
    pub(crate) fn knows_param_types(&self, args: &Arguments) -> bool {
        type_names(args).all(|(n, array)| self.types.lookup(n, array).is_some())
    }

    /// The OIDs of the user types among `args`' parameters, from what was looked up
    /// already.
    pub(crate) fn known_param_types(&self, args: &Arguments) -> Result<Vec<Oid>> {
        param_type_names(args)
            .map(|(n, array)| {
                self.types
                    .lookup(n, array)
                    .ok_or_else(|| Error::encode(format!("type \"{n}\" could not be resolved")))
            })
            .collect()
    }

    /// The encoded values as a Bind (or COPY) carries them to this server: refused when a
    /// value needs a newer server than this one (see [`Connection::check_server_needs`]),
    /// with every user-type placeholder OID filled in (a copy only when there is one).
    pub(crate) fn bind_values<'v>(&self, values: &'v EncodeBuf) -> Result<Cow<'v, [u8]>> {
        self.check_server_needs(values)?;
        Ok(if values.patches().is_empty() {
            Cow::Borrowed(values.as_bytes())
        } else {
            Cow::Owned(self.patch_oids(values)?)
        })
    }

    /// Fails when a value in `values` means what it says only on a newer server than this
    /// one (an infinite interval before PostgreSQL 17), rather than let it store another.
    pub(crate) fn check_server_needs(&self, values: &EncodeBuf) -> Result<()> {
        if values.server_needs().is_empty() {
            return Ok(());
        }
        values
            .check_server(self.server_version().major())
            .map_err(|e| {
                Error::encode("a bound value cannot be sent to this server").with_source(e)
            })
    }

    /// A copy of the encoded values with every user-type placeholder OID filled in.
    pub(crate) fn patch_oids(&self, values: &EncodeBuf) -> Result<Vec<u8>> {
        let mut out = values.as_bytes().to_vec();
        for p in values.patches() {
            let oid = self.types.lookup(p.name, p.array).ok_or_else(|| {
                Error::encode(format!("type \"{}\" could not be resolved", p.name))
            })?;
            let slot = out.get_mut(p.at..p.at + 4).ok_or_else(|| {
                Error::encode("an encoder recorded a type placeholder outside its value")
            })?;
            slot.copy_from_slice(&oid.0.to_be_bytes());
        }
        Ok(out)
    }
}

/// The user type names `args` refers to (by parameter type or inside a value), each with
/// whether its array type is meant.
fn type_names(args: &Arguments) -> impl Iterator<Item = (&'static str, bool)> + '_ {
    param_type_names(args).chain(args.encoded().patches().iter().map(|p| (p.name, p.array)))
}

/// The user type names among `args`' parameter types, in order.
fn param_type_names(args: &Arguments) -> impl Iterator<Item = (&'static str, bool)> + '_ {
    args.type_refs().iter().filter_map(|t| match t {
        TypeRef::Named(n) => Some((*n, false)),
        TypeRef::ArrayOf(n) => Some((*n, true)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(literal("mood"), "'mood'");
        assert_eq!(literal("o'brien"), "'o''brien'");
    }
}
