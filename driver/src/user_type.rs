//! User types made with `#[derive(PgType)]`, described for a check against the catalog.
//!
//! A derived enum, composite or domain is sent and read by name: the connection
//! looks its OID up on first use (see `connection/type_registry.rs`). What the
//! wire cannot show is whether the Rust definition still matches the database:
//! a composite's fields travel without names, so two swapped `text` fields would
//! read without complaint. [`Connection::check_type`] compares the description
//! below with `pg_type`, `pg_enum` and `pg_attribute`; call it at start-up (or in
//! a test) for each type.

use crate::connection::Connection;
use crate::failure::{Error, ErrorKind, Result};
use crate::querying::query;
use crate::types::{Oid, Type, TypeInfo};

/// A Rust type that is a PostgreSQL user type. Implemented by `#[derive(PgType)]`.
pub trait UserType: Type {
    /// The PostgreSQL type name (optionally schema-qualified), as in `#[pg(type_name)]`.
    const TYPE_NAME: &'static str;
    /// What the type looks like from Rust.
    const SHAPE: UserTypeShape;
}

/// What a [`UserType`] looks like from Rust.
#[derive(Clone, Copy, Debug)]
pub enum UserTypeShape {
    /// A PostgreSQL enum with these labels.
    Enum {
        /// The labels the Rust variants map to.
        labels: &'static [&'static str],
    },
    /// A composite type with these fields, in order.
    Composite {
        /// The fields, in declaration order.
        fields: &'static [CompositeField],
    },
    /// A domain over a type the Rust value reads.
    Domain {
        /// Whether the Rust field's type reads the domain's base type.
        base: fn(&TypeInfo) -> bool,
    },
}

/// One field of a composite [`UserType`].
#[derive(Clone, Copy)]
pub struct CompositeField {
    name: &'static str,
    rust_type: &'static str,
    compatible: fn(&TypeInfo) -> bool,
}

impl CompositeField {
    /// A field called `name` (in PostgreSQL), of Rust type `rust_type`, that reads
    /// attributes whose type `compatible` accepts.
    pub const fn new(
        name: &'static str,
        rust_type: &'static str,
        compatible: fn(&TypeInfo) -> bool,
    ) -> CompositeField {
        CompositeField {
            name,
            rust_type,
            compatible,
        }
    }

    /// The attribute name in PostgreSQL.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Rust type, as written in the struct.
    pub fn rust_type(&self) -> &'static str {
        self.rust_type
    }
}

impl std::fmt::Debug for CompositeField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeField")
            .field("name", &self.name)
            .field("rust_type", &self.rust_type)
            .finish_non_exhaustive()
    }
}

fn mismatch(message: String) -> Error {
    Error::new(ErrorKind::Decode, message)
}

impl Connection {
    /// Checks that `T`, a `#[derive(PgType)]` type, matches its PostgreSQL type in this
    /// database: the type exists and is of the same kind; an enum has exactly the
    /// Rust labels; a composite has the Rust fields, by name, in order, each of a type
    /// the Rust field reads; a domain's base type is one the Rust field reads.
    ///
    /// The error lists every difference found.
    pub async fn check_type<T: UserType>(&mut self) -> Result<()> {
        let name = T::TYPE_NAME;
        let row = query(
            "SELECT t.oid, t.typtype::text, t.typrelid, t.typbasetype \
             FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype($1)",
        )
        .bind(name)
        .fetch_optional(&mut *self)
        .await?
        .ok_or_else(|| {
            mismatch(format!(
                "type \"{name}\" does not exist in this database; create it, or check its \
                 name and search_path"
            ))
        })?;
        let oid: Oid = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let relid: Oid = row.try_get(2)?;
        let base: Oid = row.try_get(3)?;
        let rust = crate::types::short_type_name::<T>();
        let kind_name = match kind.as_str() {
            "e" => "an enum",
            "c" => "a composite type",
            "d" => "a domain",
            "b" => "a base type",
            "r" => "a range type",
            "m" => "a multirange type",
            "p" => "a pseudo-type",
            _ => "a type of unknown kind",
        };
        match T::SHAPE {
            UserTypeShape::Enum { labels } => {
                if kind != "e" {
                    return Err(mismatch(format!(
                        "{rust} is a Rust enum but \"{name}\" is {kind_name}"
                    )));
                }
                let rows = query(
                    "SELECT enumlabel::text FROM pg_catalog.pg_enum \
                     WHERE enumtypid = $1 ORDER BY enumsortorder",
                )
                .bind(oid)
                .fetch_all(&mut *self)
                .await?;
                let db: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<_>>()?;
                let missing: Vec<&str> = labels
                    .iter()
                    .copied()
                    .filter(|l| !db.iter().any(|d| d == l))
                    .collect();
                let extra: Vec<&str> = db
                    .iter()
                    .map(String::as_str)
                    .filter(|d| !labels.contains(d))
                    .collect();
                let mut problems = Vec::new();
                if !missing.is_empty() {
                    problems.push(format!(
                        "labels of {rust} missing from \"{name}\": {}",
                        missing.join(", ")
                    ));
                }
                if !extra.is_empty() {
                    problems.push(format!(
                        "labels of \"{name}\" that {rust} cannot read: {}",
                        extra.join(", ")
                    ));
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(mismatch(problems.join("; ")))
                }
            }
            UserTypeShape::Composite { fields } => {
                if kind != "c" {
                    return Err(mismatch(format!(
                        "{rust} is a composite (a struct) but \"{name}\" is {kind_name}"
                    )));
                }
                let rows = query(
                    "SELECT a.attname::text, a.atttypid FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                )
                .bind(relid)
                .fetch_all(&mut *self)
                .await?;
                let mut db = Vec::with_capacity(rows.len());
                for r in &rows {
                    let attname: String = r.try_get(0)?;
                    let atttype: Oid = r.try_get(1)?;
                    db.push((attname, self.type_info(atttype)));
                }
                let mut problems = Vec::new();
                if db.len() != fields.len() {
                    let names: Vec<&str> = db.iter().map(|(n, _)| n.as_str()).collect();
                    problems.push(format!(
                        "\"{name}\" has {} attributes ({}) but {rust} has {} fields",
                        db.len(),
                        names.join(", "),
                        fields.len()
                    ));
                }
                for (i, (field, (attname, atttype))) in fields.iter().zip(&db).enumerate() {
                    if field.name != attname {
                        problems.push(format!(
                            "attribute {} of \"{name}\" is \"{attname}\" but field {} of {rust} \
                             is \"{}\" (composite fields travel by position)",
                            i + 1,
                            i + 1,
                            field.name
                        ));
                    } else if !(field.compatible)(atttype) {
                        problems.push(format!(
                            "\"{name}\".{attname} is {atttype}, which {} cannot read",
                            field.rust_type
                        ));
                    }
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(mismatch(problems.join("; ")))
                }
            }
            UserTypeShape::Domain { base: reads } => {
                if kind != "d" {
                    return Err(mismatch(format!(
                        "{rust} is a domain (#[pg(transparent)] with a type_name) but \
                         \"{name}\" is {kind_name}"
                    )));
                }
                let base_info = self.type_info(base);
                if reads(&base_info) {
                    Ok(())
                } else {
                    Err(mismatch(format!(
                        "\"{name}\" is a domain over {base_info}, which {rust} cannot read"
                    )))
                }
            }
        }
    }
}
