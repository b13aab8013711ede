//! Object identifiers. PLACEHOLDER: the full built-in table is to be generated.

use std::fmt;

/// A PostgreSQL object identifier (`oid`), naming a type, table, function, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Oid(pub u32);

impl Oid {
    /// OID 0: "no type given; let the server infer it".
    pub const UNSPECIFIED: Oid = Oid(0);
    /// `bool`
    pub const BOOL: Oid = Oid(16);
    /// `bytea`
    pub const BYTEA: Oid = Oid(17);
    /// `"char"`
    pub const CHAR: Oid = Oid(18);
    /// `name`
    pub const NAME: Oid = Oid(19);
    /// `int8`
    pub const INT8: Oid = Oid(20);
    /// `int2`
    pub const INT2: Oid = Oid(21);
    /// `int4`
    pub const INT4: Oid = Oid(23);
    /// `text`
    pub const TEXT: Oid = Oid(25);
    /// `oid`
    pub const OID: Oid = Oid(26);
    /// `json`
    pub const JSON: Oid = Oid(114);
    /// `float4`
    pub const FLOAT4: Oid = Oid(700);
    /// `float8`
    pub const FLOAT8: Oid = Oid(701);
    /// `unknown`
    pub const UNKNOWN: Oid = Oid(705);
    /// `money`
    pub const MONEY: Oid = Oid(790);
    /// `bpchar`
    pub const BPCHAR: Oid = Oid(1042);
    /// `varchar`
    pub const VARCHAR: Oid = Oid(1043);
    /// `date`
    pub const DATE: Oid = Oid(1082);
    /// `time`
    pub const TIME: Oid = Oid(1083);
    /// `timestamp`
    pub const TIMESTAMP: Oid = Oid(1114);
    /// `timestamptz`
    pub const TIMESTAMPTZ: Oid = Oid(1184);
    /// `interval`
    pub const INTERVAL: Oid = Oid(1186);
    /// `timetz`
    pub const TIMETZ: Oid = Oid(1266);
    /// `numeric`
    pub const NUMERIC: Oid = Oid(1700);
    /// `uuid`
    pub const UUID: Oid = Oid(2950);
    /// `jsonb`
    pub const JSONB: Oid = Oid(3802);

    /// `int4[]`
    pub const INT4_ARRAY: Oid = Oid(1007);
    /// `text[]`
    pub const TEXT_ARRAY: Oid = Oid(1009);

    /// The array type whose elements are this built-in type (`INT4` -> `INT4_ARRAY`).
    pub fn array_type(self) -> Option<Oid> {
        Some(match self {
            Oid::INT4 => Oid::INT4_ARRAY,
            Oid::TEXT => Oid::TEXT_ARRAY,
            _ => return None,
        })
    }

    /// The element type of a built-in array type (`INT4_ARRAY` -> `INT4`).
    pub fn element_type(self) -> Option<Oid> {
        Some(match self {
            Oid::INT4_ARRAY => Oid::INT4,
            Oid::TEXT_ARRAY => Oid::TEXT,
            _ => return None,
        })
    }

    /// The name of a built-in type, if this is one.
    pub fn builtin_name(self) -> Option<&'static str> {
        Some(match self {
            Oid::BOOL => "bool",
            Oid::BYTEA => "bytea",
            Oid::CHAR => "char",
            Oid::NAME => "name",
            Oid::INT8 => "int8",
            Oid::INT2 => "int2",
            Oid::INT4 => "int4",
            Oid::TEXT => "text",
            Oid::OID => "oid",
            Oid::JSON => "json",
            Oid::FLOAT4 => "float4",
            Oid::FLOAT8 => "float8",
            Oid::UNKNOWN => "unknown",
            Oid::MONEY => "money",
            Oid::BPCHAR => "bpchar",
            Oid::VARCHAR => "varchar",
            Oid::DATE => "date",
            Oid::TIME => "time",
            Oid::TIMESTAMP => "timestamp",
            Oid::TIMESTAMPTZ => "timestamptz",
            Oid::INTERVAL => "interval",
            Oid::TIMETZ => "timetz",
            Oid::NUMERIC => "numeric",
            Oid::UUID => "uuid",
            Oid::JSONB => "jsonb",
            _ => return None,
        })
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
