//! What a connection has learned of the user types it met: names, the base type of each
//! domain, the element type of each array. Shared by the connection (which writes it when
//! it looks types up) and the [`TypeInfo`]s it hands out (which read it), so a decoder
//! that finds a type OID inside a value (an array's elements, a record's fields) knows as
//! much as the connection does: a `positive_int` element reads as its base `int4`, a
//! `citext` field as text.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::{Oid, TypeInfo};

/// How deep a chain of domains over domains is followed. PostgreSQL has no limit, but a
/// catalog answer that loops must not hang a decoder.
const MAX_DOMAIN_DEPTH: usize = 32;

/// One user type as the catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KnownType {
    /// `format_type(oid, NULL)`: `citext`, `citext[]`, `myschema.mood`.
    pub(crate) name: Box<str>,
    /// For a domain, the type it is over (`typbasetype`), which may be a domain too.
    pub(crate) base: Option<Oid>,
    /// For an array type, its element type (`typelem`).
    pub(crate) element: Option<Oid>,
    /// For a range or multirange type, what it ranges over (`pg_range.rngsubtype`).
    pub(crate) range: Option<UserRange>,
}

/// A user range (`CREATE TYPE r AS RANGE (subtype = positive_int)`) or the multirange
/// PostgreSQL 14+ makes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserRange {
    /// The subtype, which may be a domain.
    pub(crate) subtype: Oid,
    /// Whether this is the multirange type rather than the range type.
    pub(crate) multi: bool,
}

/// The user types one connection knows (see the module docs), and the server's major
/// version, which decides what some values mean. Cloning shares it.
#[derive(Clone, Default)]
pub(crate) struct Catalog(Arc<Shared>);

#[derive(Default)]
struct Shared {
    types: RwLock<HashMap<Oid, KnownType>>,
    /// The server's major version; 0 until the connection has said it.
    server_major: AtomicU32,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Catalog({} user types)", self.read(HashMap::len))
    }
}

impl Catalog {
    fn read<R>(&self, f: impl FnOnce(&HashMap<Oid, KnownType>) -> R) -> R {
        f(&self.0.types.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records what the catalog said of `oid`.
    pub(crate) fn insert(&self, oid: Oid, known: KnownType) {
        self.0
            .types
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(oid, known);
    }

    /// The server's major version, once the connection has recorded it.
    pub(crate) fn server_major(&self) -> Option<u32> {
        Some(self.0.server_major.load(Ordering::Relaxed)).filter(|&m| m != 0)
    }

    /// Records the server's major version (from its `server_version` parameter).
    pub(crate) fn set_server_major(&self, major: u32) {
        self.0.server_major.store(major, Ordering::Relaxed);
    }

    /// Whether `oid` was looked up.
    pub(crate) fn contains(&self, oid: Oid) -> bool {
        self.read(|m| m.contains_key(&oid))
    }

    /// The name of `oid`, if it was looked up.
    pub(crate) fn name(&self, oid: Oid) -> Option<Box<str>> {
        self.read(|m| m.get(&oid).map(|k| k.name.clone()))
    }

    /// The element type of array type `oid`, if it was looked up.
    pub(crate) fn element(&self, oid: Oid) -> Option<Oid> {
        self.read(|m| m.get(&oid).and_then(|k| k.element))
    }

    /// What user range or multirange type `oid` ranges over, if it was looked up.
    pub(crate) fn range(&self, oid: Oid) -> Option<UserRange> {
        self.read(|m| m.get(&oid).and_then(|k| k.range))
    }

    /// The type a value of type `oid` is read as: a domain's base type (followed through
    /// domains over domains), else `oid` itself; with the name when it is a user type the
    /// connection looked up.
    fn resolve(&self, oid: Oid) -> (Oid, Option<Box<str>>) {
        self.read(|m| {
            let mut oid = oid;
            for _ in 0..MAX_DOMAIN_DEPTH {
                match m.get(&oid) {
                    Some(KnownType {
                        base: Some(base), ..
                    }) => oid = *base,
                    Some(known) => return (oid, Some(known.name.clone())),
                    None => return (oid, None),
                }
            }
            (oid, None)
        })
    }
}

impl TypeInfo {
    /// What is known of type `oid` found inside a value of this type (an array's
    /// element, a record's field): a built-in type as such; a domain as its base type,
    /// whose binary and text forms it shares; a user type with the name the connection
    /// looked up. The connection's catalog goes along, for values nested deeper.
    pub fn nested(&self, oid: Oid) -> TypeInfo {
        let (oid, name) = match &self.catalog {
            Some(catalog) if !TypeInfo::from_oid(oid).is_builtin() => catalog.resolve(oid),
            _ => (oid, None),
        };
        TypeInfo {
            oid,
            name,
            catalog: self.catalog.clone(),
        }
    }

    /// The element type of this array type: the built-in table's, or for a user array
    /// type (`positive_int[]`) what the connection looked up. `None` when unknown.
    pub(crate) fn element_oid(&self) -> Option<Oid> {
        super::array::array_element_oid(self.oid)
            .or_else(|| self.catalog.as_ref().and_then(|c| c.element(self.oid)))
    }

    /// For a user range or multirange type the connection looked up, its subtype as the
    /// bounds are read (a domain as its base type: see [`TypeInfo::nested`]), and whether
    /// it is the multirange.
    pub(crate) fn user_range(&self) -> Option<(TypeInfo, bool)> {
        let range = self.catalog.as_ref()?.range(self.oid)?;
        Some((self.nested(range.subtype), range.multi))
    }

    /// The major version of the server this type's values came from, when known (values
    /// read through a connection). Some bit patterns mean different things on different
    /// servers (an interval with every part at its maximum is `infinity` from
    /// PostgreSQL 17 on, an ordinary interval before).
    pub(crate) fn server_major(&self) -> Option<u32> {
        self.catalog.as_ref().and_then(Catalog::server_major)
    }

    /// The same type, reading the user types nested in its values through `catalog`.
    pub(crate) fn with_catalog(mut self, catalog: &Catalog) -> TypeInfo {
        self.catalog = Some(catalog.clone());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let c = Catalog::default();
        let known = |name: &str, base: Option<Oid>, element: Option<Oid>| KnownType {
            name: name.into(),
            base,
            element,
            range: None,
        };
        // positive_int over int4, small_positive over positive_int, its array, citext.
        c.insert(Oid(20_000), known("positive_int", Some(Oid::INT4), None));
        c.insert(
            Oid(20_001),
            known("positive_int[]", None, Some(Oid(20_000))),
        );
        c.insert(
            Oid(20_002),
            known("small_positive", Some(Oid(20_000)), None),
        );
        c.insert(Oid(20_003), known("citext", None, None));
        c.insert(Oid(20_004), known("email", Some(Oid(20_003)), None));
        c
    }

    #[test]
    fn domains_nest_as_their_base_type() {
        let c = catalog();
        let record = TypeInfo::from_oid(Oid::RECORD).with_catalog(&c);
        assert_eq!(record.nested(Oid(20_000)).oid(), Oid::INT4);
        assert_eq!(record.nested(Oid(20_002)).oid(), Oid::INT4);
        let email = record.nested(Oid(20_004));
        assert_eq!((email.oid(), email.name()), (Oid(20_003), "citext"));
        assert_eq!(record.nested(Oid::TEXT), TypeInfo::from_oid(Oid::TEXT));
        // Unknown user types stay unnamed.
        assert_eq!(record.nested(Oid(30_000)).known_name(), None);
        // Without a catalog nothing is resolved.
        assert_eq!(
            TypeInfo::from_oid(Oid::RECORD).nested(Oid(20_000)).oid(),
            Oid(20_000)
        );
    }

    #[test]
    fn user_arrays_know_their_element() {
        let c = catalog();
        let array = TypeInfo::with_name(Oid(20_001), "positive_int[]").with_catalog(&c);
        assert_eq!(array.element_oid(), Some(Oid(20_000)));
        assert_eq!(array.nested(Oid(20_000)).oid(), Oid::INT4);
        assert_eq!(
            TypeInfo::from_oid(Oid::INT4_ARRAY).element_oid(),
            Some(Oid::INT4)
        );
    }

    #[test]
    fn user_ranges_read_as_ranges_of_the_base_type() {
        use crate::types::{MultiRange, Range, Type};

        let c = catalog();
        let range = |subtype, multi| KnownType {
            name: "r".into(),
            base: None,
            element: None,
            range: Some(UserRange { subtype, multi }),
        };
        // A range and a multirange over positive_int, a range over citext.
        c.insert(Oid(20_010), range(Oid(20_000), false));
        c.insert(Oid(20_011), range(Oid(20_000), true));
        c.insert(Oid(20_012), range(Oid(20_003), false));
        let ty = |oid| TypeInfo::from_oid(oid).with_catalog(&c);
        assert_eq!(ty(Oid(20_010)).user_range().unwrap().0.oid(), Oid::INT4);
        assert!(Range::<i32>::compatible(&ty(Oid(20_010))));
        assert!(!Range::<i64>::compatible(&ty(Oid(20_010))));
        assert!(!Range::<i32>::compatible(&ty(Oid(20_011))));
        assert!(MultiRange::<i32>::compatible(&ty(Oid(20_011))));
        assert!(!MultiRange::<i32>::compatible(&ty(Oid(20_010))));
        assert!(!Range::<i32>::compatible(&ty(Oid(20_012))));
        // Unknown to the catalog: not a range of anything built in.
        assert!(!Range::<i32>::compatible(&ty(Oid(30_000))));
    }

    #[test]
    fn a_looping_catalog_does_not_hang() {
        let c = Catalog::default();
        let looped = |base| KnownType {
            name: "d".into(),
            base: Some(base),
            element: None,
            range: None,
        };
        c.insert(Oid(20_000), looped(Oid(20_001)));
        c.insert(Oid(20_001), looped(Oid(20_000)));
        let ty = TypeInfo::from_oid(Oid::RECORD).with_catalog(&c);
        assert_eq!(ty.nested(Oid(20_000)).known_name(), None);
    }
}
