//! Which Rust type a column or parameter of a PostgreSQL type gets.
//!
//! Built-in types map to the type the runtime decodes them into (the driver's
//! type table in `driver/src/types/mod.rs`). Where several crates could
//! represent a type, the choice follows the enabled features, or `quarry.toml`:
//!
//! | PostgreSQL | Rust (first enabled wins) |
//! |---|---|
//! | `date`, `time`, `timestamp`, `timestamptz` | `chrono` (feature `chrono`), then `time` (feature `time`), then `jiff` (feature `jiff`: `civil::Date`, `civil::Time`, `civil::DateTime`, `Timestamp`), then Quarry's own `Date`, `Time`, `Timestamp`, `TimestampTz` |
//! | `interval` | Quarry's `Interval` always (chrono's, time's and jiff's durations hold no months or days; jiff's `Span` cannot hold `1 mon -1 days`) |
//! | `numeric` | `rust_decimal::Decimal`, then `bigdecimal::BigDecimal`, then Quarry's `Numeric` |
//! | `inet`, `cidr` | `ipnetwork::IpNetwork` (feature `ipnetwork`), then `ipnet::IpNet` (feature `ipnet`), then Quarry's `IpNetwork` |
//! | `macaddr` | `mac_address::MacAddress` (feature `mac_address`), then Quarry's `MacAddr` |
//! | `bit`, `varbit` | `bit_vec::BitVec` (feature `bit-vec`), then Quarry's `BitString` |
//! | `point`, `box`, `path`, `polygon` | geo-types' `Point<f64>`, `Rect<f64>`, `LineString<f64>`, `Polygon<f64>` (feature `geo-types`), then Quarry's `Point`, `Rect`, `Path`, `Polygon` |
//!
//! `[macros] date-time = "time"` or `numeric = "bigdecimal"` in `quarry.toml`
//! picks one explicitly (features unify across a dependency graph, so a crate
//! that wants stable types should say which).
//!
//! User types (enums, composites, domains, extension types) map through
//! `[types]` in `quarry.toml`; a domain without an entry maps like its base type.

use quarry_driver::types::Oid;

use super::config::{Config, DateTime, NumericCrate};
use super::offline::{TypeDesc, TypeKind};

/// How an argument bound to a parameter is checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamCheck {
    /// Against a marker of `::quarry::__private::sql` (several Rust types fit):
    /// the marker's path below `sql::`, e.g. `int4` or `Array<sql::text>`.
    Marker(String),
    /// Against exactly this Rust type (and `&T`, `Option<T>`).
    Same(String),
}

/// The Rust side of a PostgreSQL type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mapping {
    /// The column type (without `Option`), as a path that resolves through `::quarry`.
    pub(crate) rust: String,
    /// The check for arguments.
    pub(crate) param: ParamCheck,
}

const P: &str = "::quarry::__private";
const T: &str = "::quarry::types";

/// The mapping of `ty`, or a message that says what to add to get one.
pub(crate) fn map(ty: &TypeDesc, config: &Config) -> Result<Mapping, String> {
    map_depth(ty, config, 0)
}

fn map_depth(ty: &TypeDesc, config: &Config, depth: u32) -> Result<Mapping, String> {
    if depth > 8 {
        return Err(format!("type `{}` nests too deeply", ty.name));
    }
    if ty.kind != TypeKind::Builtin {
        if let Some(rust) = config.type_for(&ty.name) {
            // A type mapped to a built-in Rust type (a domain as `String`) takes what
            // that type's PostgreSQL type takes (`&str` too), not only itself.
            let param = match builtin_marker(rust) {
                Some(marker) => ParamCheck::Marker(marker.to_owned()),
                None => ParamCheck::Same(rust.to_owned()),
            };
            return Ok(Mapping {
                rust: rust.to_owned(),
                param,
            });
        }
        return match (&ty.kind, &ty.of) {
            (TypeKind::Domain, Some(base)) => map_depth(base, config, depth + 1),
            (TypeKind::Array, Some(element)) => array_of(map_depth(element, config, depth + 1)?),
            (TypeKind::Base, _) => extension(&ty.name).ok_or_else(|| unmapped(ty)),
            _ => Err(unmapped(ty)),
        };
    }
    let oid = Oid(ty.oid);
    if let Some(element) = oid.element_type().filter(|_| !is_vector(oid)) {
        let element = TypeDesc {
            oid: element.0,
            name: element.builtin_name().unwrap_or("?").to_owned(),
            kind: TypeKind::Builtin,
            of: None,
        };
        return array_of(map_depth(&element, config, depth + 1)?);
    }
    builtin(oid, config).ok_or_else(|| {
        format!(
            "type `{}` has no Rust type in Quarry's macros yet; override it in the SQL \
             (`AS \"name: Type\"` for a column, `value as Type` for an argument), or cast it \
             in the query (`::text`)",
            ty.name
        )
    })
}

/// The argument marker of a built-in Rust type written in quarry.toml.
fn builtin_marker(rust: &str) -> Option<&'static str> {
    let compact: String = rust.chars().filter(|c| !c.is_whitespace()).collect();
    let bare = compact
        .trim_start_matches("::")
        .trim_start_matches("std::string::")
        .trim_start_matches("std::vec::");
    Some(match bare {
        "String" => "text",
        "i64" => "int8",
        "i32" => "int4",
        "i16" => "int2",
        "f64" => "float8",
        "f32" => "float4",
        "bool" => "bool",
        "Vec<u8>" => "bytea",
        _ => return None,
    })
}

/// Whether values of `ty` are arrays (a domain over an array included).
pub(crate) fn is_array(ty: &TypeDesc) -> bool {
    match (&ty.kind, &ty.of) {
        (TypeKind::Builtin, _) => Oid(ty.oid)
            .element_type()
            .is_some_and(|_| !is_vector(Oid(ty.oid))),
        (TypeKind::Array, _) => true,
        (TypeKind::Domain, Some(base)) => is_array(base),
        _ => false,
    }
}

/// The column type of an array whose elements may be NULL: `Vec<T>` becomes
/// `Vec<Option<T>>` (a type from quarry.toml is used as it is).
pub(crate) fn with_nullable_elements(ty: &TypeDesc, config: &Config, rust: String) -> String {
    let mapped = ty.kind != TypeKind::Builtin && config.type_for(&ty.name).is_some();
    if mapped || !is_array(ty) {
        return rust;
    }
    match rust
        .strip_prefix("::std::vec::Vec<")
        .and_then(|r| r.strip_suffix('>'))
    {
        Some(element) => format!("::std::vec::Vec<::std::option::Option<{element}>>"),
        None => rust,
    }
}

fn is_vector(oid: Oid) -> bool {
    oid == Oid::OIDVECTOR || oid == Oid::INT2VECTOR
}

fn array_of(element: Mapping) -> Result<Mapping, String> {
    let param = match element.param {
        ParamCheck::Marker(m) => ParamCheck::Marker(format!("Array<{P}::sql::{m}>")),
        ParamCheck::Same(rust) => ParamCheck::Same(format!("::std::vec::Vec<{rust}>")),
    };
    Ok(Mapping {
        rust: format!("::std::vec::Vec<{}>", element.rust),
        param,
    })
}

fn unmapped(ty: &TypeDesc) -> String {
    let short = ty.name.rsplit('.').next().unwrap_or(&ty.name);
    let rust = camel(short);
    format!(
        "type `{name}` ({kind}) has no Rust type. Map it in quarry.toml, next to Cargo.toml:\n\n\
         [types]\n\"{name}\" = \"crate::{rust}\"\n\n\
         where `{rust}` is a type with `#[derive(PgType)]`; or override the column in the SQL: \
         `AS \"name: {rust}\"`",
        name = ty.name,
        kind = ty.kind.describe(),
    )
}

fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' || c == ' ' || c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() { "Type".into() } else { out }
}

/// Extension types the driver knows by name.
fn extension(name: &str) -> Option<Mapping> {
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        "citext" => Some(marker("::std::string::String", "text")),
        "hstore" => Some(same(
            "::std::collections::HashMap<::std::string::String, \
             ::std::option::Option<::std::string::String>>",
        )),
        "ltree" => Some(same(&format!("{T}::Ltree"))),
        "lquery" => Some(same(&format!("{T}::Lquery"))),
        "ltxtquery" => Some(same(&format!("{T}::Ltxtquery"))),
        _ => None,
    }
}

fn marker(rust: &str, marker: &str) -> Mapping {
    Mapping {
        rust: rust.to_owned(),
        param: ParamCheck::Marker(marker.to_owned()),
    }
}

fn same(rust: &str) -> Mapping {
    Mapping {
        rust: rust.to_owned(),
        param: ParamCheck::Same(rust.to_owned()),
    }
}

fn date_time(
    config: &Config,
    ours: &str,
    [chrono, time, jiff]: [&str; 3],
    marker_name: &str,
) -> Mapping {
    let rust = match config.date_time() {
        DateTime::Chrono => format!("{P}::chrono::{chrono}"),
        DateTime::Time => format!("{P}::time::{time}"),
        DateTime::Jiff => format!("{P}::jiff::{jiff}"),
        DateTime::Quarry => format!("{T}::{ours}"),
    };
    marker(&rust, marker_name)
}

/// The type of the first enabled feature among `crates` (feature, path below the
/// facade's `__private`), else Quarry's own `ours`; arguments of any of them bind (`sql`
/// marker `marker_name`).
fn feature_first(
    config: &Config,
    crates: &[(&str, &str)],
    ours: &str,
    marker_name: &str,
) -> Mapping {
    let rust = crates
        .iter()
        .find(|(feature, _)| config.has_feature(feature))
        .map_or_else(
            || format!("{T}::{ours}"),
            |(_, path)| format!("{P}::{path}"),
        );
    marker(&rust, marker_name)
}

fn numeric(config: &Config) -> Mapping {
    let rust = match config.numeric() {
        NumericCrate::RustDecimal => format!("{P}::rust_decimal::Decimal"),
        NumericCrate::BigDecimal => format!("{P}::bigdecimal::BigDecimal"),
        NumericCrate::Quarry => format!("{T}::Numeric"),
    };
    marker(&rust, "numeric")
}

fn range_of(subtype: Mapping, multi: bool) -> Mapping {
    let wrapper = if multi { "MultiRange" } else { "Range" };
    same(&format!("{T}::{wrapper}<{}>", subtype.rust))
}

/// Built-in scalar, range and other non-array types.
fn builtin(oid: Oid, config: &Config) -> Option<Mapping> {
    let m = match oid {
        Oid::BOOL => marker("bool", "bool"),
        Oid::CHAR => marker("i8", "char"),
        Oid::INT2 => marker("i16", "int2"),
        Oid::INT4 => marker("i32", "int4"),
        Oid::INT8 => marker("i64", "int8"),
        Oid::OID => marker(&format!("{T}::Oid"), "oid"),
        Oid::FLOAT4 => marker("f32", "float4"),
        Oid::FLOAT8 => marker("f64", "float8"),
        Oid::NUMERIC => numeric(config),
        Oid::MONEY => marker(&format!("{T}::Money"), "money"),
        Oid::TEXT | Oid::VARCHAR | Oid::BPCHAR | Oid::NAME | Oid::UNKNOWN => {
            marker("::std::string::String", "text")
        }
        Oid::BYTEA => marker("::std::vec::Vec<u8>", "bytea"),
        Oid::UUID if config.has_feature("uuid") => marker(&format!("{P}::uuid::Uuid"), "uuid"),
        Oid::JSON | Oid::JSONB if config.has_feature("json") => {
            marker(&format!("{P}::serde_json::Value"), "json")
        }
        Oid::DATE => date_time(config, "Date", ["NaiveDate", "Date", "civil::Date"], "date"),
        Oid::TIME => date_time(config, "Time", ["NaiveTime", "Time", "civil::Time"], "time"),
        Oid::TIMESTAMP => date_time(
            config,
            "Timestamp",
            ["NaiveDateTime", "PrimitiveDateTime", "civil::DateTime"],
            "timestamp",
        ),
        Oid::TIMESTAMPTZ => date_time(
            config,
            "TimestampTz",
            [
                "DateTime<::quarry::__private::chrono::Utc>",
                "OffsetDateTime",
                "Timestamp",
            ],
            "timestamptz",
        ),
        // chrono's, time's and jiff's durations cannot hold months and days, and jiff's
        // Span not parts of different signs (`1 mon -1 days`): always Quarry's.
        Oid::INTERVAL => marker(&format!("{T}::Interval"), "interval"),
        Oid::TIMETZ => same(&format!("{T}::TimeTz")),
        Oid::INET | Oid::CIDR => feature_first(
            config,
            &[
                ("ipnetwork", "ipnetwork::IpNetwork"),
                ("ipnet", "ipnet::IpNet"),
            ],
            "IpNetwork",
            "inet",
        ),
        Oid::MACADDR => feature_first(
            config,
            &[("mac_address", "mac_address::MacAddress")],
            "MacAddr",
            "macaddr",
        ),
        Oid::MACADDR8 => same(&format!("{T}::MacAddr8")),
        Oid::POINT => feature_first(
            config,
            &[("geo-types", "geo_types::Point<f64>")],
            "Point",
            "point",
        ),
        Oid::LINE => same(&format!("{T}::Line")),
        Oid::LSEG => same(&format!("{T}::LineSegment")),
        Oid::BOX => feature_first(
            config,
            &[("geo-types", "geo_types::Rect<f64>")],
            "Rect",
            "r#box",
        ),
        Oid::PATH => feature_first(
            config,
            &[("geo-types", "geo_types::LineString<f64>")],
            "Path",
            "path",
        ),
        Oid::POLYGON => feature_first(
            config,
            &[("geo-types", "geo_types::Polygon<f64>")],
            "Polygon",
            "polygon",
        ),
        Oid::CIRCLE => same(&format!("{T}::Circle")),
        Oid::BIT | Oid::VARBIT => feature_first(
            config,
            &[("bit-vec", "bit_vec::BitVec")],
            "BitString",
            "varbit",
        ),
        Oid::XML => same(&format!("{T}::Xml")),
        Oid::PG_LSN => same(&format!("{T}::PgLsn")),
        Oid::OIDVECTOR => same(&format!("{T}::OidVector")),
        Oid::INT2VECTOR => same(&format!("{T}::Int2Vector")),
        _ => {
            if let Some(sub) = oid.range_subtype() {
                return builtin(sub, config).map(|s| range_of(s, false));
            }
            if let Some(range) = oid.range_of_multirange() {
                let sub = range.range_subtype()?;
                return builtin(sub, config).map(|s| range_of(s, true));
            }
            return None;
        }
    };
    Some(m)
}

/// A feature-gated type whose feature is off: says which feature to enable.
pub(crate) fn missing_feature(ty: &TypeDesc) -> Option<&'static str> {
    match Oid(ty.oid) {
        Oid::UUID | Oid::UUID_ARRAY => Some("uuid"),
        Oid::JSON | Oid::JSONB | Oid::JSON_ARRAY | Oid::JSONB_ARRAY => Some("json"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_desc(oid: Oid) -> TypeDesc {
        TypeDesc {
            oid: oid.0,
            name: oid.builtin_name().unwrap().to_owned(),
            kind: TypeKind::Builtin,
            of: None,
        }
    }

    fn user(name: &str, kind: TypeKind, of: Option<TypeDesc>) -> TypeDesc {
        TypeDesc {
            oid: 16400,
            name: name.into(),
            kind,
            of: of.map(Box::new),
        }
    }

    #[test]
    fn scalars_and_arrays() {
        let c = Config::default();
        assert_eq!(map(&builtin_desc(Oid::INT8), &c).unwrap().rust, "i64");
        let texts = map(&builtin_desc(Oid::TEXT_ARRAY), &c).unwrap();
        assert_eq!(texts.rust, "::std::vec::Vec<::std::string::String>");
        assert_eq!(
            texts.param,
            ParamCheck::Marker("Array<::quarry::__private::sql::text>".into())
        );
        assert_eq!(
            map(&builtin_desc(Oid::INT4RANGE), &c).unwrap().rust,
            "::quarry::types::Range<i32>"
        );
        assert_eq!(
            map(&builtin_desc(Oid::OIDVECTOR), &c).unwrap().rust,
            "::quarry::types::OidVector"
        );
    }

    #[test]
    fn feature_crates_come_first() {
        let mut c = Config {
            features: vec!["ipnet", "ipnetwork", "mac_address", "bit-vec"],
            ..Config::default()
        };
        let rust = |oid, c: &Config| map(&builtin_desc(oid), c).unwrap().rust;
        assert_eq!(
            rust(Oid::CIDR, &c),
            "::quarry::__private::ipnetwork::IpNetwork"
        );
        assert_eq!(
            rust(Oid::MACADDR, &c),
            "::quarry::__private::mac_address::MacAddress"
        );
        // mac_address has no 8-byte address.
        assert_eq!(rust(Oid::MACADDR8, &c), "::quarry::types::MacAddr8");
        assert_eq!(
            rust(Oid::VARBIT, &c),
            "::quarry::__private::bit_vec::BitVec"
        );
        c.features = vec!["geo-types"];
        assert_eq!(
            rust(Oid::BOX, &c),
            "::quarry::__private::geo_types::Rect<f64>"
        );
        assert_eq!(
            map(&builtin_desc(Oid::BOX), &c).unwrap().param,
            ParamCheck::Marker("r#box".to_owned())
        );
        c.features = vec!["ipnet"];
        assert_eq!(rust(Oid::INET, &c), "::quarry::__private::ipnet::IpNet");
        c.features = vec![];
        assert_eq!(rust(Oid::INET, &c), "::quarry::types::IpNetwork");
        assert_eq!(rust(Oid::BIT, &c), "::quarry::types::BitString");
        assert_eq!(rust(Oid::MACADDR, &c), "::quarry::types::MacAddr");
    }

    #[test]
    fn date_time_precedence() {
        let mut c = Config {
            features: vec!["chrono", "time"],
            ..Config::default()
        };
        assert_eq!(
            map(&builtin_desc(Oid::DATE), &c).unwrap().rust,
            "::quarry::__private::chrono::NaiveDate"
        );
        c.features = vec!["time"];
        assert_eq!(
            map(&builtin_desc(Oid::DATE), &c).unwrap().rust,
            "::quarry::__private::time::Date"
        );
        c.features = vec!["time", "jiff"];
        assert_eq!(
            map(&builtin_desc(Oid::DATE), &c).unwrap().rust,
            "::quarry::__private::time::Date",
            "time before jiff"
        );
        c.features = vec!["jiff"];
        let rust = |oid, c: &Config| map(&builtin_desc(oid), c).unwrap().rust;
        assert_eq!(
            rust(Oid::DATE, &c),
            "::quarry::__private::jiff::civil::Date"
        );
        assert_eq!(
            rust(Oid::TIME, &c),
            "::quarry::__private::jiff::civil::Time"
        );
        assert_eq!(
            rust(Oid::TIMESTAMP, &c),
            "::quarry::__private::jiff::civil::DateTime"
        );
        assert_eq!(
            rust(Oid::TIMESTAMPTZ, &c),
            "::quarry::__private::jiff::Timestamp"
        );
        assert_eq!(rust(Oid::INTERVAL, &c), "::quarry::types::Interval");
        assert_eq!(
            rust(Oid::TSTZRANGE, &c),
            "::quarry::types::Range<::quarry::__private::jiff::Timestamp>"
        );
        c.features = vec!["chrono", "time", "jiff"];
        c.date_time = Some(DateTime::Jiff);
        assert_eq!(
            rust(Oid::DATE, &c),
            "::quarry::__private::jiff::civil::Date"
        );
        c.date_time = Some(DateTime::Quarry);
        assert_eq!(
            map(&builtin_desc(Oid::DATE), &c).unwrap().rust,
            "::quarry::types::Date"
        );
    }

    #[test]
    fn array_elements_are_option_unless_proven() {
        let c = Config::default();
        let ints = builtin_desc(Oid::INT4_ARRAY);
        let rust = map(&ints, &c).unwrap().rust;
        assert_eq!(
            with_nullable_elements(&ints, &c, rust),
            "::std::vec::Vec<::std::option::Option<i32>>"
        );
        let int = builtin_desc(Oid::INT4);
        assert_eq!(with_nullable_elements(&int, &c, "i32".into()), "i32");
    }

    #[test]
    fn user_types() {
        let mut c = Config::default();
        let mood = user("public.mood", TypeKind::Enum, None);
        let err = map(&mood, &c).unwrap_err();
        assert!(err.contains("\"public.mood\" = \"crate::Mood\""), "{err}");
        c.types.push(("public.mood".into(), "crate::Mood".into()));
        assert_eq!(
            map(&mood, &c).unwrap().param,
            ParamCheck::Same("crate::Mood".into())
        );
        let moods = user("public._mood", TypeKind::Array, Some(mood));
        assert_eq!(
            map(&moods, &c).unwrap().rust,
            "::std::vec::Vec<crate::Mood>"
        );
        let domain = user(
            "public.positive_int",
            TypeKind::Domain,
            Some(builtin_desc(Oid::INT4)),
        );
        assert_eq!(map(&domain, &c).unwrap().rust, "i32");
        // A domain mapped to `String` takes `&str` arguments too (the `text` marker).
        let email = user(
            "public.email",
            TypeKind::Domain,
            Some(builtin_desc(Oid::TEXT)),
        );
        c.types.push(("public.email".into(), "String".into()));
        assert_eq!(
            map(&email, &c).unwrap().param,
            ParamCheck::Marker("text".into())
        );
        let citext = user("public.citext", TypeKind::Base, None);
        assert_eq!(map(&citext, &c).unwrap().rust, "::std::string::String");
    }
}
