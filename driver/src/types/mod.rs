//! Moving values between Rust and PostgreSQL.
//!
//! Three traits:
//! - [`Type`]: which PostgreSQL type a Rust type is sent as, and which column types it reads.
//! - [`Encode`]: write a value in PostgreSQL's binary format.
//! - [`Decode`]: read a value (binary, or text from the simple protocol).
//!
//! `Option<T>` is NULL. Decoders are total: any bytes give a value or a
//! [`DecodeError`], never a panic. This module never does IO.
//!
//! # Type table
//!
//! Each Rust type is sent as the first PostgreSQL type listed and reads
//! (`Type::compatible`) exactly the types listed: no silent widening or
//! narrowing. Decoders read both the binary and the text format (the text
//! format as printed under the session settings the connection sets:
//! `DateStyle=ISO, MDY`, `client_encoding=UTF8`; under any `TimeZone`,
//! `IntervalStyle` but `sql_standard`, `extra_float_digits` of 1 or more, and either
//! `bytea_output`);
//! encoders write binary.
//!
//! ```
//! # use quarry_driver as quarry;
//! use quarry::types::{Oid, Type, TypeInfo};
//!
//! // An `int4` column is read with `i32`; `i64` is refused rather than widened.
//! assert!(i32::compatible(&TypeInfo::from_oid(Oid::INT4)));
//! assert!(!i64::compatible(&TypeInfo::from_oid(Oid::INT4)));
//! // `String` reads the text types, and is sent as `text`.
//! assert!(String::compatible(&TypeInfo::from_oid(Oid::VARCHAR)));
//! assert_eq!(String::type_ref(), quarry::types::TypeRef::Oid(Oid::TEXT));
//! ```
//!
//! <!-- scalar families: keep these rows together -->
//!
//! | Rust type | PostgreSQL type(s) | feature |
//! |---|---|---|
//! | `bool` | `bool` | |
//! | `i8` | `"char"` | |
//! | `i16` | `int2` (`smallint`) | |
//! | `i32` | `int4` (`integer`) | |
//! | `i64` | `int8` (`bigint`) | |
//! | `u32`, [`Oid`] | `oid` | |
//! | `f32` | `float4` (`real`) | |
//! | `f64` | `float8` (`double precision`) | |
//! | [`Numeric`] | `numeric` (with `NaN`, `±Infinity`) | |
//! | `rust_decimal::Decimal` | `numeric` | `rust_decimal` |
//! | `bigdecimal::BigDecimal` | `numeric` | `bigdecimal` |
//! | [`Money`] | `money` | |
//! | `String`, `&str`, `Box<str>`, `Arc<str>`, `Rc<str>` (read), `Cow<str>`, `char` | `text`; reads `varchar`, `bpchar` (with its padding), `name`, `unknown`, and `citext` once the connection knows the column's type name (see below) | |
//! | `Vec<u8>`, `&[u8]`, `Box<[u8]>`, `Arc<[u8]>`, `Rc<[u8]>` (read), `Cow<[u8]>`, `bytes::Bytes`, `[u8; N]` | `bytea` | |
//! | `uuid::Uuid` | `uuid` | `uuid` (default) |
//! | `serde_json::Value`, `&RawValue`, `Box<RawValue>`, [`Json<T>`](Json) | `jsonb`; reads `json` | `json` (default) |
//! | [`Date`] | `date` (with `±infinity`) | |
//! | [`Time`] | `time` | |
//! | [`TimeTz`] | `timetz` | |
//! | [`Timestamp`] | `timestamp` (with `±infinity`) | |
//! | [`TimestampTz`] | `timestamptz` (with `±infinity`) | |
//! | [`Interval`] | `interval` (with PostgreSQL 17's `±infinity`) | |
//! | `std::time::SystemTime` | `timestamptz` (an instant: not `timestamp`) | |
//! | `std::time::Duration` | `interval` (months and days must be 0, never negative) | |
//! | `chrono::NaiveDate` / `NaiveTime` / `NaiveDateTime` | `date` / `time` / `timestamp` | `chrono` |
//! | `chrono::DateTime<Utc>`, `DateTime<FixedOffset>` | `timestamptz` | `chrono` |
//! | `chrono::TimeDelta` | `interval` (months and days must be 0) | `chrono` |
//! | `time::Date` / `Time` / `PrimitiveDateTime` | `date` / `time` / `timestamp` | `time` |
//! | `time::OffsetDateTime` | `timestamptz` | `time` |
//! | `time::Duration` | `interval` (months and days must be 0) | `time` |
//! | `jiff::civil::Date` / `civil::Time` / `civil::DateTime` | `date` / `time` / `timestamp` (years -9999 to 9999 are jiff's; before 4714-11-24 BC PostgreSQL's) | `jiff` |
//! | `jiff::Timestamp` | `timestamptz` (jiff's last instant is 9999-12-30 22:00 UTC) | `jiff` |
//! | `jiff::ZonedDateTime` (send only) | `timestamptz` (its instant: the zone is not stored, so read a `Timestamp` and attach the zone) | `jiff` |
//! | `jiff::SignedDuration` | `interval` (months and days must be 0) | `jiff` |
//! | `jiff::Span` | `interval` (years and months, weeks and days, the time units; read back as years, months, days, hours, minutes, seconds, microseconds; parts of different signs such as `1 mon -1 days`, and parts beyond jiff's limits, are decode errors) | `jiff` |
//!
//! Conversions that can lose information (`Numeric` into `i64`, `infinity`
//! into `chrono`, a year beyond the target's range, `24:00:00` into a
//! `chrono`/`time`/`jiff` time, an interval with months or days into a fixed
//! duration) return a [`ValueError`], surfacing as a decode or encode error,
//! never a panic, wrap or truncation. `chrono`/`time`/`jiff` values with
//! sub-microsecond precision are rounded to the nearest microsecond (ties to
//! even), as PostgreSQL rounds a literal; `DateTime<FixedOffset>` and
//! `OffsetDateTime` decode in UTC, since `timestamptz` stores an instant (for
//! the same reason `jiff::ZonedDateTime` is sent but not read).
//! `money`'s text format is read only in the `C` locale form (`$1,234.56`).
//! `u8` implements none of these traits, so `Vec<u8>` is `bytea`.
//!
//! <!-- end of scalar families -->
//!
//! # Containers and other types
//!
//! | Rust type | PostgreSQL type | Feature |
//! |---|---|---|
//! | `Vec<T>`, `[T; N]` (exactly `N` elements), `&[T]` (send only): one dimension, lower bound not kept; `Option<T>` elements for NULLs | `T[]` (also `oidvector`, `int2vector` for `Oid`/`u32`/`i16` elements) | always |
//! | [`Array<T>`] (up to 6 dimensions, lower bounds kept) | `T[]` | always |
//! | [`Range<T>`] (`T`: [`RangeSubtype`]: `i32`, `i64`, [`Numeric`], [`Date`], [`Timestamp`], [`TimestampTz`] and the feature types for the same columns) | `int4range`, `int8range`, `numrange`, `daterange`, `tsrange`, `tstzrange` | always |
//! | [`MultiRange<T>`] | `int4multirange`, ... (PostgreSQL 14+) | always |
//! | `Range<T>`, `MultiRange<T>` of a built-in subtype | reads a user range type over that subtype or a domain over it (`CREATE TYPE r AS RANGE (subtype = positive_int)` into `Range<i32>`); sent through a [`RangeSubtype`] that names the user range type | always |
//! | tuples `(A,)` .. `(A, ..., P)`, and `()` for `ROW()` (read only) | `record`, composite types, and arrays of them into `Vec` | always |
//! | [`CompositeEncoder`], [`CompositeDecoder`] (for `#[derive(PgType)]` composites) | composite types | always |
//! | [`PgValue`] | any type (raw bytes, type, format) | always |
//! | `std::net::IpAddr` (host addresses) | `inet`, `cidr` | always |
//! | [`IpNetwork`] | `inet`, `cidr` | always |
//! | `ipnetwork::IpNetwork` | `inet` (sent; an `inet` to `cidr` cast clears host bits, so `query!` sends an argument for a `cidr` parameter through [`AsCidr`], which refuses them; wrap it yourself with `query`); reads `cidr` | `ipnetwork` |
//! | `ipnet::IpNet` | `inet` (as `ipnetwork`); reads `cidr` | `ipnet` |
//! | [`AsCidr`] of any of the above (and `IpAddr`) | `cidr` (host bits are an encode error) | always |
//! | [`MacAddr`] / [`MacAddr8`] | `macaddr` / `macaddr8` | always |
//! | `mac_address::MacAddress` | `macaddr` (the crate has no 8-byte address) | `mac_address` |
//! | [`Point`], [`Line`], [`LineSegment`], [`Rect`], [`Path`], [`Polygon`], [`Circle`] | `point`, `line`, `lseg`, `box`, `path`, `polygon`, `circle` | always |
//! | `geo_types::Point<f64>`, `Rect<f64>`, `LineString<f64>`, `Polygon<f64>` | `point`, `box`, `path` (closed: read with the first point repeated at the end; a line string that ends at its start is sent closed), `polygon` (no holes: an encode error) | `geo-types` |
//! | [`BitString`] | `bit(n)`, `varbit` | always |
//! | `bit_vec::BitVec` | `varbit`; reads `bit(n)` | `bit-vec` |
//! | [`Xml`] | `xml` | always |
//! | [`TsVector`] / [`TsQuery`] | `tsvector` / `tsquery` | always |
//! | `HashMap<String, Option<String>>`, `BTreeMap<String, Option<String>>` | `hstore` (extension) | always |
//! | [`Ltree`], [`Lquery`], [`Ltxtquery`] | `ltree`, `lquery`, `ltxtquery` (extension) | always |
//! | [`PgLsn`] | `pg_lsn` | always |
//! | [`Xid`], [`Xid8`], [`Tid`] | `xid`, `xid8` (PostgreSQL 13+), `tid` (`ctid`) | always |
//! | [`Snapshot`] | `pg_snapshot` (PostgreSQL 13+); reads `txid_snapshot` | always |
//! | [`JsonPath`] | `jsonpath` (read back in the server's spelling: `$.a` is `$."a"`) | always |
//! | [`AclItem`] (read only, text format only: the server has no binary `aclitem`, so read it with `simple_query` or as `::text`) | `aclitem` | always |
//! | [`Cube`] | `cube` (extension, 1.5+ for binary) | always |
//! | [`Oid`], [`OidVector`], [`Int2Vector`] | `oid`, `oidvector`, `int2vector` | always |
//!
//! Container elements (array elements, range bounds, record fields) are
//! read as owned values (`T: for<'a> Decode<'a>`): their type information and
//! any unescaped text exist only while the container is decoded.
//!
//! Extension and user types have no fixed OID. A column's [`TypeInfo`] carries
//! a name only for the types the connection has looked up (one catalog query per
//! type, per connection): the types of the values it binds ([`TypeRef::Named`]),
//! and the column types of results read by `execute`, `fetch*`, `prepare` and
//! `simple_query`, looked up before the first row is handed out. Pipelines,
//! cursors and typed COPY do not look names up themselves, so there a column of a
//! type the connection has not met yet has no name. Types that accept any user
//! type (`hstore`'s maps, the `ltree` types, tuples, [`PgValue`]) read such columns
//! regardless; `String` reads a `citext` column only once the name `citext` is known.
//!
//! Looking a column's type up also learns every user type reachable from it: an
//! array's element, a domain's base type, a composite's fields. So a domain reads as
//! its base type wherever it appears (at the top level the server sends the base type
//! itself; inside `positive_int[]` or a composite the connection resolves it:
//! `Vec<i32>`, a tuple of `i32`), and a user type inside an anonymous `record` reads by
//! name once the connection has met that type.
//!
//! Every row of these tables is exercised against a real PostgreSQL, in both
//! formats and inside arrays, by the facade's `tests/types.rs`.

use std::borrow::Cow;
use std::fmt;

mod catalog;
mod oid;

pub(crate) use catalog::{Catalog, KnownType, UserRange};
pub use oid::{BUILTIN_TYPES, BuiltinType, Oid};

// Scalar families: one file (or folder) per family.
#[path = "bool.rs"]
mod boolean;
mod bytea;
mod datetime;
mod float;
mod int;
#[cfg(feature = "json")]
mod json;
mod money;
mod numeric;
mod read;
#[cfg(test)]
pub(crate) mod scalar_cases;
mod text;
#[cfg(feature = "uuid")]
mod uuid;
mod value_error;

pub use datetime::{Date, Interval, Time, TimeTz, Timestamp, TimestampTz};
#[cfg(feature = "json")]
pub use json::Json;
pub use money::Money;
pub use numeric::Numeric;
pub use value_error::ValueError;

// Container and "other" families.
mod aclitem;
mod array;
mod bits;
mod bounded;
#[cfg(test)]
mod container_golden;
mod cube;
mod foreign;
mod geo;
mod hstore;
mod jsonpath;
mod lsn;
mod ltree;
mod net;
mod range;
mod record;
mod snapshot;
#[cfg(test)]
mod test_elements;
mod tsearch;
mod txid;
mod value;
mod vector;
mod xml;

pub use aclitem::AclItem;
pub use array::{Array, MAX_DIMS};
pub use bits::BitString;
pub use cube::Cube;
pub use geo::{Circle, Line, LineSegment, Path, Point, Polygon, Rect};
pub use jsonpath::JsonPath;
pub use lsn::PgLsn;
pub use ltree::{Lquery, Ltree, Ltxtquery};
pub use net::{AsCidr, IpNetwork, MacAddr, MacAddr8};
pub use range::{MultiRange, Range, RangeSubtype};
pub use record::{CompositeDecoder, CompositeEncoder};
pub use snapshot::Snapshot;
pub use tsearch::{TsQuery, TsVector};
pub use txid::{Tid, Xid, Xid8};
pub use value::{InvalidValue, PgValue};
pub use vector::{Int2Vector, OidVector};
pub use xml::Xml;

/// The wire format of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// PostgreSQL's text representation (what `::text` shows).
    Text,
    /// PostgreSQL's binary `send`/`recv` representation.
    Binary,
}

impl Format {
    /// The format code used on the wire (0 text, 1 binary).
    pub fn code(self) -> i16 {
        match self {
            Format::Text => 0,
            Format::Binary => 1,
        }
    }
}

/// Which PostgreSQL type a Rust value is sent as.
///
/// Built-in types are known by OID. User types (enums, composites, domains
/// made with `#[derive(PgType)]`) are known by name and resolved to an OID by
/// the connection on first use, then cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// Let the server infer the type from the statement (OID 0 in Parse).
    Unspecified,
    /// A type with a fixed OID.
    Oid(Oid),
    /// A user type looked up by (optionally schema-qualified) name.
    Named(&'static str),
    /// An array whose element is a user type looked up by name.
    ArrayOf(&'static str),
}

impl TypeRef {
    /// The OID when it is known without a catalog lookup.
    pub fn oid(self) -> Option<Oid> {
        match self {
            TypeRef::Oid(oid) => Some(oid),
            TypeRef::Unspecified => Some(Oid::UNSPECIFIED),
            TypeRef::Named(_) | TypeRef::ArrayOf(_) => None,
        }
    }
}

/// What is known at run time about the type of a column or parameter.
///
/// Two `TypeInfo`s are equal when they name the same type (OID and name).
#[derive(Clone, Debug)]
pub struct TypeInfo {
    oid: Oid,
    /// For types outside the built-in table: the name, when the connection has looked it up.
    name: Option<Box<str>>,
    /// The user types the connection knows, for the types found inside a value
    /// ([`TypeInfo::nested`]).
    catalog: Option<catalog::Catalog>,
}

impl PartialEq for TypeInfo {
    fn eq(&self, other: &TypeInfo) -> bool {
        self.oid == other.oid && self.name == other.name
    }
}

impl Eq for TypeInfo {}

impl std::hash::Hash for TypeInfo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.oid.hash(state);
        self.name.hash(state);
    }
}

impl TypeInfo {
    /// A type known only by OID.
    pub fn from_oid(oid: Oid) -> TypeInfo {
        TypeInfo {
            oid,
            name: None,
            catalog: None,
        }
    }

    /// A user type whose name the connection looked up in the catalog.
    pub fn with_name(oid: Oid, name: impl Into<Box<str>>) -> TypeInfo {
        TypeInfo {
            oid,
            name: Some(name.into()),
            catalog: None,
        }
    }

    /// The type's OID.
    #[inline]
    pub fn oid(&self) -> Oid {
        self.oid
    }

    /// The type's name: the built-in name, the looked-up name, or `"unknown"`.
    pub fn name(&self) -> &str {
        match (&self.name, self.oid.builtin_name()) {
            (Some(name), _) => name,
            (None, Some(name)) => name,
            (None, None) => "unknown",
        }
    }

    /// Whether this is a built-in type (OID below 16384, PostgreSQL's `FirstNormalObjectId`).
    pub fn is_builtin(&self) -> bool {
        self.oid.0 < 16384
    }

    /// The name, if it is known: a built-in type's, or a user type's the connection
    /// looked up. `None` for a user type seen only by OID so far.
    pub fn known_name(&self) -> Option<&str> {
        self.name.as_deref().or_else(|| self.oid.builtin_name())
    }
}

/// Whether a type name from the catalog (`mood`, `public.mood`) is the name `wanted`
/// (`mood`, `public.mood`): equal, or equal after dropping the schema of either side.
pub fn type_names_match(name: &str, wanted: &str) -> bool {
    fn unqualified(n: &str) -> &str {
        n.rsplit_once('.').map_or(n, |(_, t)| t)
    }
    name == wanted
        || (name.contains('.') != wanted.contains('.') && unqualified(name) == unqualified(wanted))
}

impl TypeInfo {
    /// The type as an error names it with its OID: `citext (OID 16390)`, `int4 (OID 23)`,
    /// or `user-defined type OID 16927` when the name is not known (the OID once).
    pub(crate) fn with_oid(&self) -> impl fmt::Display + '_ {
        struct WithOid<'a>(&'a TypeInfo);
        impl fmt::Display for WithOid<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0.known_name() {
                    Some(_) => write!(f, "{} (OID {})", self.0, self.0.oid),
                    None => write!(f, "{}", self.0),
                }
            }
        }
        WithOid(self)
    }
}

impl fmt::Display for TypeInfo {
    /// The type as error messages name it: a built-in type by its catalog name
    /// (`int8`), a built-in array as `int8[]` (the catalog says `_int8`), a
    /// user type by the name the connection looked up, or else by its OID
    /// (`user-defined type OID 16385`; not `unknown`, which is a type of its own).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_some() {
            return f.write_str(self.name());
        }
        match self.oid.builtin_name() {
            Some(name) if name.starts_with('_') => {
                match self.oid.element_type().and_then(Oid::builtin_name) {
                    Some(element) => write!(f, "{element}[]"),
                    None => f.write_str(name),
                }
            }
            Some(name) => f.write_str(name),
            None => write!(f, "user-defined type OID {}", self.oid),
        }
    }
}

/// Whether an encoded value is NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsNull {
    /// A value was written.
    No,
    /// The value is NULL; nothing was written.
    Yes,
}

/// The buffer a value is encoded into.
///
/// It derefs to the `Vec<u8>` being written. Types that embed OIDs in their
/// binary form (arrays, composites, ranges of user types) write them with
/// [`EncodeBuf::put_type_oid`], which leaves a placeholder for a user type and
/// remembers where it is, so the connection can fill in the OID once it has
/// resolved the name.
#[derive(Default, Debug)]
pub struct EncodeBuf {
    bytes: Vec<u8>,
    patches: Vec<OidPatch>,
    /// Values written whose bits mean what they say only from some server version on.
    needs: Vec<ServerNeed>,
}

/// A value in an [`EncodeBuf`] that a server older than `major` would store as something
/// else (`Interval::INFINITY` before PostgreSQL 17 is a finite interval): the connection
/// refuses to send it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerNeed {
    /// The oldest PostgreSQL major version that reads the value as meant.
    pub(crate) major: u32,
    /// What the value is and what an older server would make of it.
    pub(crate) why: Cow<'static, str>,
}

/// A placeholder OID in an [`EncodeBuf`] that the connection fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OidPatch {
    /// Byte offset of the 4-byte placeholder.
    pub at: usize,
    /// The user type, by name.
    pub name: &'static str,
    /// Whether the OID wanted is that of the array type of `name`.
    pub array: bool,
}

impl EncodeBuf {
    /// An empty buffer.
    pub fn new() -> EncodeBuf {
        EncodeBuf::default()
    }

    /// Writes the OID of `ty` (4 bytes, big-endian); for a named type, a placeholder.
    pub fn put_type_oid(&mut self, ty: TypeRef) {
        let at = self.bytes.len();
        let oid = match ty {
            TypeRef::Oid(oid) => oid.0,
            TypeRef::Unspecified => 0,
            TypeRef::Named(name) => {
                self.patches.push(OidPatch {
                    at,
                    name,
                    array: false,
                });
                0
            }
            TypeRef::ArrayOf(name) => {
                self.patches.push(OidPatch {
                    at,
                    name,
                    array: true,
                });
                0
            }
        };
        self.bytes.extend_from_slice(&oid.to_be_bytes());
    }

    /// The placeholders still to be filled in.
    pub fn patches(&self) -> &[OidPatch] {
        &self.patches
    }

    /// Records that the value just written means what it says only on PostgreSQL `major`
    /// or later; `why` says what it is and what an older server would store instead.
    pub(crate) fn needs_server(&mut self, major: u32, why: impl Into<Cow<'static, str>>) {
        self.needs.push(ServerNeed {
            major,
            why: why.into(),
        });
    }

    /// The recorded needs (see [`EncodeBuf::needs_server`]), oldest first.
    pub(crate) fn server_needs(&self) -> &[ServerNeed] {
        &self.needs
    }

    /// Drops the needs recorded after the first `len` (a row rolled back).
    pub(crate) fn truncate_needs(&mut self, len: usize) {
        self.needs.truncate(len);
    }

    /// Fails with the first recorded need a server of version `major` does not meet
    /// (`major` 0: the server did not say its version, so no need is known to be met).
    pub(crate) fn check_server(&self, major: u32) -> Result<(), EncodeError> {
        match self.needs.iter().find(|n| major < n.major) {
            None => Ok(()),
            Some(need) if major == 0 => Err(EncodeError::new(format!(
                "{} (the server did not report its version)",
                need.why
            ))),
            Some(need) => Err(EncodeError::new(format!(
                "{} (this server is PostgreSQL {major})",
                need.why
            ))),
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the bytes and placeholders out.
    pub fn into_parts(self) -> (Vec<u8>, Vec<OidPatch>) {
        (self.bytes, self.patches)
    }
}

impl std::ops::Deref for EncodeBuf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl std::ops::DerefMut for EncodeBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

/// A value that failed to encode: which rule it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(Cow<'static, str>);

impl EncodeError {
    /// An error with a message for people.
    pub fn new(message: impl Into<Cow<'static, str>>) -> EncodeError {
        EncodeError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// A value that failed to decode: what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(Cow<'static, str>);

impl DecodeError {
    /// An error with a message for people.
    pub fn new(message: impl Into<Cow<'static, str>>) -> DecodeError {
        DecodeError(message.into())
    }

    /// The value was NULL but the target type cannot hold NULL.
    #[cold]
    pub fn unexpected_null<T: ?Sized>() -> DecodeError {
        DecodeError(Cow::Owned(format!(
            "value is NULL; use Option<{}>",
            short_type_name::<T>()
        )))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A Rust type name without module paths, for error messages (`alloc::string::String` -> `String`).
pub fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c == ':' {
            segment_start = i + 1;
        } else if matches!(c, '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&') {
            out.push_str(&full[segment_start..i]);
            out.push(c);
            segment_start = i + 1;
        }
    }
    out.push_str(&full[segment_start..]);
    out
}

/// A Rust type that corresponds to a PostgreSQL type.
pub trait Type {
    /// The type this Rust type is sent as.
    fn type_ref() -> TypeRef;

    /// Whether a column or parameter of type `ty` can be read into (or written from) this type.
    ///
    /// The default accepts exactly the OID of [`Type::type_ref`].
    fn compatible(ty: &TypeInfo) -> bool {
        type_ref_accepts(Self::type_ref(), ty)
    }

    /// The type of a PostgreSQL array of this type (`int4` -> `int4[]`).
    ///
    /// The default derives it from [`Type::type_ref`] through the built-in table.
    fn array_type_ref() -> TypeRef {
        match Self::type_ref() {
            TypeRef::Oid(oid) => oid.array_type().map_or(TypeRef::Unspecified, TypeRef::Oid),
            TypeRef::Named(name) => TypeRef::ArrayOf(name),
            TypeRef::Unspecified | TypeRef::ArrayOf(_) => TypeRef::Unspecified,
        }
    }
}

/// Whether a column of type `ty` matches `expected` (the default rule of [`Type::compatible`]).
#[inline]
pub fn type_ref_accepts(expected: TypeRef, ty: &TypeInfo) -> bool {
    match expected {
        TypeRef::Oid(oid) => ty.oid() == oid,
        TypeRef::Unspecified => true,
        named => named_type_accepts(named, ty),
    }
}

/// [`type_ref_accepts`] for the types known by name.
fn named_type_accepts(expected: TypeRef, ty: &TypeInfo) -> bool {
    match expected {
        TypeRef::Oid(oid) => ty.oid() == oid,
        TypeRef::Unspecified => true,
        // A user type: by name when the connection has looked the column's type up;
        // otherwise any user-defined type (its decoder checks the bytes).
        TypeRef::Named(name) => match ty.known_name() {
            Some(known) => type_names_match(known, name),
            None => !ty.is_builtin(),
        },
        TypeRef::ArrayOf(name) => match ty.known_name() {
            Some(known) => known
                .strip_suffix("[]")
                .is_some_and(|element| type_names_match(element, name)),
            None => !ty.is_builtin(),
        },
    }
}

/// A value that can be sent to PostgreSQL in binary format.
pub trait Encode {
    /// Writes the value's binary form (without the length prefix) into `buf`.
    ///
    /// Returns [`IsNull::Yes`] and writes nothing for NULL.
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError>;

    /// The PostgreSQL type this value is sent as.
    ///
    /// Most types return `<Self as Type>::type_ref()`; dynamic values (a raw
    /// value with its own OID, say) return their own.
    fn param_type(&self) -> TypeRef;

    /// A guess at the encoded size, to reserve space up front.
    fn size_hint(&self) -> usize {
        0
    }
}

/// A column value as it arrived from the server.
#[derive(Clone, Copy, Debug)]
pub struct ValueRef<'r> {
    bytes: Option<&'r [u8]>,
    format: Format,
    ty: &'r TypeInfo,
}

impl<'r> ValueRef<'r> {
    /// A value (`None` is NULL) in `format`, of type `ty`.
    #[inline]
    pub fn new(bytes: Option<&'r [u8]>, format: Format, ty: &'r TypeInfo) -> ValueRef<'r> {
        ValueRef { bytes, format, ty }
    }

    /// The raw bytes, or `None` for NULL.
    #[inline]
    pub fn bytes(&self) -> Option<&'r [u8]> {
        self.bytes
    }

    /// The raw bytes, or an "is NULL" error naming `T`.
    #[inline]
    pub fn non_null<T: ?Sized>(&self) -> Result<&'r [u8], DecodeError> {
        self.bytes.ok_or_else(DecodeError::unexpected_null::<T>)
    }

    /// Whether the value is NULL.
    #[inline]
    pub fn is_null(&self) -> bool {
        self.bytes.is_none()
    }

    /// The format the value is in.
    #[inline]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The value's type.
    #[inline]
    pub fn type_info(&self) -> &'r TypeInfo {
        self.ty
    }
}

/// A value that can be read from a column.
///
/// `'r` is the lifetime of the row: `&'r str` and `&'r [u8]` borrow from it without copying.
pub trait Decode<'r>: Sized {
    /// Reads the value. Implementations must not panic on any input.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError>;
}

// --- Blanket impls: NULL, references, boxes -------------------------------------------

impl<T: Type> Type for Option<T> {
    fn type_ref() -> TypeRef {
        T::type_ref()
    }
    fn compatible(ty: &TypeInfo) -> bool {
        T::compatible(ty)
    }
    fn array_type_ref() -> TypeRef {
        T::array_type_ref()
    }
}

impl<T: Encode + Type> Encode for Option<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        match self {
            Some(v) => v.encode(buf),
            None => Ok(IsNull::Yes),
        }
    }
    fn param_type(&self) -> TypeRef {
        match self {
            Some(v) => v.param_type(),
            // A NULL still has a type: the static one.
            None => T::type_ref(),
        }
    }
    fn size_hint(&self) -> usize {
        self.as_ref().map_or(0, Encode::size_hint)
    }
}

impl<'r, T: Decode<'r>> Decode<'r> for Option<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        if value.is_null() {
            Ok(None)
        } else {
            T::decode(value).map(Some)
        }
    }
}

impl<T: Type + ?Sized> Type for &T {
    fn type_ref() -> TypeRef {
        T::type_ref()
    }
    fn compatible(ty: &TypeInfo) -> bool {
        T::compatible(ty)
    }
    fn array_type_ref() -> TypeRef {
        T::array_type_ref()
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        (**self).encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        (**self).param_type()
    }
    fn size_hint(&self) -> usize {
        (**self).size_hint()
    }
}

/// `Box<T>`, `Arc<T>` and `Rc<T>` are sent and checked as `T` is.
macro_rules! pointer_like {
    ($($ptr:ident),*) => {$(
        impl<T: Type + ?Sized> Type for $ptr<T> {
            fn type_ref() -> TypeRef {
                T::type_ref()
            }
            fn compatible(ty: &TypeInfo) -> bool {
                T::compatible(ty)
            }
            fn array_type_ref() -> TypeRef {
                T::array_type_ref()
            }
        }

        impl<T: Encode + ?Sized> Encode for $ptr<T> {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                (**self).encode(buf)
            }
            fn param_type(&self) -> TypeRef {
                (**self).param_type()
            }
            fn size_hint(&self) -> usize {
                (**self).size_hint()
            }
        }
    )*};
}

use std::rc::Rc;
use std::sync::Arc;

pointer_like!(Box, Arc, Rc);

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (tests/types.rs `errors::type_mismatch_names_column_and_both_types`):
    /// messages said `column "ids" is _int8` and, for an unnamed user type, `is unknown`.
    #[test]
    fn type_names_in_messages() {
        assert_eq!(TypeInfo::from_oid(Oid::INT8).to_string(), "int8");
        assert_eq!(TypeInfo::from_oid(Oid::INT8_ARRAY).to_string(), "int8[]");
        assert_eq!(TypeInfo::from_oid(Oid::TEXT_ARRAY).to_string(), "text[]");
        assert_eq!(TypeInfo::from_oid(Oid::OIDVECTOR).to_string(), "oidvector");
        assert_eq!(TypeInfo::from_oid(Oid::UNKNOWN).to_string(), "unknown");
        assert_eq!(
            TypeInfo::from_oid(Oid(16_385)).to_string(),
            "user-defined type OID 16385"
        );
        assert_eq!(
            TypeInfo::with_name(Oid(16_385), "citext").to_string(),
            "citext"
        );
    }
}
