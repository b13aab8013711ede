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
    /// `float4`
    pub const FLOAT4: Oid = Oid(700);
    /// `float8`
    pub const FLOAT8: Oid = Oid(701);
    /// `varchar`
    pub const VARCHAR: Oid = Oid(1043);

    /// `int4[]`
    pub const INT4_ARRAY: Oid = Oid(1007);
    /// `text[]`
    pub const TEXT_ARRAY: Oid = Oid(1009);

    // --- Added by the container-types work; the generated table replaces this file. ---
    /// `int2vector`
    pub const INT2VECTOR: Oid = Oid(22);
    /// `oidvector`
    pub const OIDVECTOR: Oid = Oid(30);
    /// `xml`
    pub const XML: Oid = Oid(142);
    /// `point`
    pub const POINT: Oid = Oid(600);
    /// `lseg`
    pub const LSEG: Oid = Oid(601);
    /// `path`
    pub const PATH: Oid = Oid(602);
    /// `box`
    pub const BOX: Oid = Oid(603);
    /// `polygon`
    pub const POLYGON: Oid = Oid(604);
    /// `line`
    pub const LINE: Oid = Oid(628);
    /// `cidr`
    pub const CIDR: Oid = Oid(650);
    /// `circle`
    pub const CIRCLE: Oid = Oid(718);
    /// `macaddr8`
    pub const MACADDR8: Oid = Oid(774);
    /// `macaddr`
    pub const MACADDR: Oid = Oid(829);
    /// `inet`
    pub const INET: Oid = Oid(869);
    /// `date`
    pub const DATE: Oid = Oid(1082);
    /// `timestamp`
    pub const TIMESTAMP: Oid = Oid(1114);
    /// `timestamptz`
    pub const TIMESTAMPTZ: Oid = Oid(1184);
    /// `bit`
    pub const BIT: Oid = Oid(1560);
    /// `varbit`
    pub const VARBIT: Oid = Oid(1562);
    /// `numeric`
    pub const NUMERIC: Oid = Oid(1700);
    /// `record`
    pub const RECORD: Oid = Oid(2249);
    /// `pg_lsn`
    pub const PG_LSN: Oid = Oid(3220);
    /// `tsvector`
    pub const TSVECTOR: Oid = Oid(3614);
    /// `tsquery`
    pub const TSQUERY: Oid = Oid(3615);
    /// `int4range`
    pub const INT4RANGE: Oid = Oid(3904);
    /// `numrange`
    pub const NUMRANGE: Oid = Oid(3906);
    /// `tsrange`
    pub const TSRANGE: Oid = Oid(3908);
    /// `tstzrange`
    pub const TSTZRANGE: Oid = Oid(3910);
    /// `daterange`
    pub const DATERANGE: Oid = Oid(3912);
    /// `int8range`
    pub const INT8RANGE: Oid = Oid(3926);
    /// `int4multirange`
    pub const INT4MULTIRANGE: Oid = Oid(4451);
    /// `nummultirange`
    pub const NUMMULTIRANGE: Oid = Oid(4532);
    /// `tsmultirange`
    pub const TSMULTIRANGE: Oid = Oid(4533);
    /// `tstzmultirange`
    pub const TSTZMULTIRANGE: Oid = Oid(4534);
    /// `datemultirange`
    pub const DATEMULTIRANGE: Oid = Oid(4535);
    /// `int8multirange`
    pub const INT8MULTIRANGE: Oid = Oid(4536);
    /// `int2[]`
    pub const INT2_ARRAY: Oid = Oid(1005);
    /// `int8[]`
    pub const INT8_ARRAY: Oid = Oid(1016);
    /// `oid[]`
    pub const OID_ARRAY: Oid = Oid(1028);
    /// `int2vector[]`
    pub const INT2VECTOR_ARRAY: Oid = Oid(1006);
    /// `oidvector[]`
    pub const OIDVECTOR_ARRAY: Oid = Oid(1013);
    /// `xml[]`
    pub const XML_ARRAY: Oid = Oid(143);
    /// `point[]`
    pub const POINT_ARRAY: Oid = Oid(1017);
    /// `lseg[]`
    pub const LSEG_ARRAY: Oid = Oid(1018);
    /// `path[]`
    pub const PATH_ARRAY: Oid = Oid(1019);
    /// `box[]`
    pub const BOX_ARRAY: Oid = Oid(1020);
    /// `polygon[]`
    pub const POLYGON_ARRAY: Oid = Oid(1027);
    /// `line[]`
    pub const LINE_ARRAY: Oid = Oid(629);
    /// `cidr[]`
    pub const CIDR_ARRAY: Oid = Oid(651);
    /// `circle[]`
    pub const CIRCLE_ARRAY: Oid = Oid(719);
    /// `macaddr8[]`
    pub const MACADDR8_ARRAY: Oid = Oid(775);
    /// `macaddr[]`
    pub const MACADDR_ARRAY: Oid = Oid(1040);
    /// `inet[]`
    pub const INET_ARRAY: Oid = Oid(1041);
    /// `bit[]`
    pub const BIT_ARRAY: Oid = Oid(1561);
    /// `varbit[]`
    pub const VARBIT_ARRAY: Oid = Oid(1563);
    /// `record[]`
    pub const RECORD_ARRAY: Oid = Oid(2287);
    /// `pg_lsn[]`
    pub const PG_LSN_ARRAY: Oid = Oid(3221);
    /// `tsvector[]`
    pub const TSVECTOR_ARRAY: Oid = Oid(3643);
    /// `tsquery[]`
    pub const TSQUERY_ARRAY: Oid = Oid(3645);
    /// `int4range[]`
    pub const INT4RANGE_ARRAY: Oid = Oid(3905);
    /// `numrange[]`
    pub const NUMRANGE_ARRAY: Oid = Oid(3907);
    /// `tsrange[]`
    pub const TSRANGE_ARRAY: Oid = Oid(3909);
    /// `tstzrange[]`
    pub const TSTZRANGE_ARRAY: Oid = Oid(3911);
    /// `daterange[]`
    pub const DATERANGE_ARRAY: Oid = Oid(3913);
    /// `int8range[]`
    pub const INT8RANGE_ARRAY: Oid = Oid(3927);
    /// `int4multirange[]`
    pub const INT4MULTIRANGE_ARRAY: Oid = Oid(6150);
    /// `nummultirange[]`
    pub const NUMMULTIRANGE_ARRAY: Oid = Oid(6151);
    /// `tsmultirange[]`
    pub const TSMULTIRANGE_ARRAY: Oid = Oid(6152);
    /// `tstzmultirange[]`
    pub const TSTZMULTIRANGE_ARRAY: Oid = Oid(6153);
    /// `datemultirange[]`
    pub const DATEMULTIRANGE_ARRAY: Oid = Oid(6155);
    /// `int8multirange[]`
    pub const INT8MULTIRANGE_ARRAY: Oid = Oid(6157);

    /// The array type whose elements are this built-in type (`INT4` -> `INT4_ARRAY`).
    pub fn array_type(self) -> Option<Oid> {
        Some(match self {
            Oid::INT4 => Oid::INT4_ARRAY,
            Oid::TEXT => Oid::TEXT_ARRAY,
            Oid::INT2 => Oid::INT2_ARRAY,
            Oid::INT8 => Oid::INT8_ARRAY,
            Oid::OID => Oid::OID_ARRAY,
            Oid::INT2VECTOR => Oid::INT2VECTOR_ARRAY,
            Oid::OIDVECTOR => Oid::OIDVECTOR_ARRAY,
            Oid::XML => Oid::XML_ARRAY,
            Oid::POINT => Oid::POINT_ARRAY,
            Oid::LSEG => Oid::LSEG_ARRAY,
            Oid::PATH => Oid::PATH_ARRAY,
            Oid::BOX => Oid::BOX_ARRAY,
            Oid::POLYGON => Oid::POLYGON_ARRAY,
            Oid::LINE => Oid::LINE_ARRAY,
            Oid::CIDR => Oid::CIDR_ARRAY,
            Oid::CIRCLE => Oid::CIRCLE_ARRAY,
            Oid::MACADDR8 => Oid::MACADDR8_ARRAY,
            Oid::MACADDR => Oid::MACADDR_ARRAY,
            Oid::INET => Oid::INET_ARRAY,
            Oid::BIT => Oid::BIT_ARRAY,
            Oid::VARBIT => Oid::VARBIT_ARRAY,
            Oid::RECORD => Oid::RECORD_ARRAY,
            Oid::PG_LSN => Oid::PG_LSN_ARRAY,
            Oid::TSVECTOR => Oid::TSVECTOR_ARRAY,
            Oid::TSQUERY => Oid::TSQUERY_ARRAY,
            Oid::INT4RANGE => Oid::INT4RANGE_ARRAY,
            Oid::NUMRANGE => Oid::NUMRANGE_ARRAY,
            Oid::TSRANGE => Oid::TSRANGE_ARRAY,
            Oid::TSTZRANGE => Oid::TSTZRANGE_ARRAY,
            Oid::DATERANGE => Oid::DATERANGE_ARRAY,
            Oid::INT8RANGE => Oid::INT8RANGE_ARRAY,
            Oid::INT4MULTIRANGE => Oid::INT4MULTIRANGE_ARRAY,
            Oid::NUMMULTIRANGE => Oid::NUMMULTIRANGE_ARRAY,
            Oid::TSMULTIRANGE => Oid::TSMULTIRANGE_ARRAY,
            Oid::TSTZMULTIRANGE => Oid::TSTZMULTIRANGE_ARRAY,
            Oid::DATEMULTIRANGE => Oid::DATEMULTIRANGE_ARRAY,
            Oid::INT8MULTIRANGE => Oid::INT8MULTIRANGE_ARRAY,
            _ => return None,
        })
    }

    /// The element type of a built-in array type (`INT4_ARRAY` -> `INT4`).
    pub fn element_type(self) -> Option<Oid> {
        Some(match self {
            Oid::INT4_ARRAY => Oid::INT4,
            Oid::TEXT_ARRAY => Oid::TEXT,
            Oid::INT2_ARRAY => Oid::INT2,
            Oid::INT8_ARRAY => Oid::INT8,
            Oid::OID_ARRAY => Oid::OID,
            Oid::INT2VECTOR_ARRAY => Oid::INT2VECTOR,
            Oid::OIDVECTOR_ARRAY => Oid::OIDVECTOR,
            Oid::XML_ARRAY => Oid::XML,
            Oid::POINT_ARRAY => Oid::POINT,
            Oid::LSEG_ARRAY => Oid::LSEG,
            Oid::PATH_ARRAY => Oid::PATH,
            Oid::BOX_ARRAY => Oid::BOX,
            Oid::POLYGON_ARRAY => Oid::POLYGON,
            Oid::LINE_ARRAY => Oid::LINE,
            Oid::CIDR_ARRAY => Oid::CIDR,
            Oid::CIRCLE_ARRAY => Oid::CIRCLE,
            Oid::MACADDR8_ARRAY => Oid::MACADDR8,
            Oid::MACADDR_ARRAY => Oid::MACADDR,
            Oid::INET_ARRAY => Oid::INET,
            Oid::BIT_ARRAY => Oid::BIT,
            Oid::VARBIT_ARRAY => Oid::VARBIT,
            Oid::RECORD_ARRAY => Oid::RECORD,
            Oid::PG_LSN_ARRAY => Oid::PG_LSN,
            Oid::TSVECTOR_ARRAY => Oid::TSVECTOR,
            Oid::TSQUERY_ARRAY => Oid::TSQUERY,
            Oid::INT4RANGE_ARRAY => Oid::INT4RANGE,
            Oid::NUMRANGE_ARRAY => Oid::NUMRANGE,
            Oid::TSRANGE_ARRAY => Oid::TSRANGE,
            Oid::TSTZRANGE_ARRAY => Oid::TSTZRANGE,
            Oid::DATERANGE_ARRAY => Oid::DATERANGE,
            Oid::INT8RANGE_ARRAY => Oid::INT8RANGE,
            Oid::INT4MULTIRANGE_ARRAY => Oid::INT4MULTIRANGE,
            Oid::NUMMULTIRANGE_ARRAY => Oid::NUMMULTIRANGE,
            Oid::TSMULTIRANGE_ARRAY => Oid::TSMULTIRANGE,
            Oid::TSTZMULTIRANGE_ARRAY => Oid::TSTZMULTIRANGE,
            Oid::DATEMULTIRANGE_ARRAY => Oid::DATEMULTIRANGE,
            Oid::INT8MULTIRANGE_ARRAY => Oid::INT8MULTIRANGE,
            _ => return None,
        })
    }

    /// The name of a built-in type, if this is one.
    pub fn builtin_name(self) -> Option<&'static str> {
        Some(match self {
            Oid::BOOL => "bool",
            Oid::BYTEA => "bytea",
            Oid::INT8 => "int8",
            Oid::INT2 => "int2",
            Oid::INT4 => "int4",
            Oid::TEXT => "text",
            Oid::OID => "oid",
            Oid::FLOAT4 => "float4",
            Oid::FLOAT8 => "float8",
            Oid::VARCHAR => "varchar",
            Oid::INT2VECTOR => "int2vector",
            Oid::OIDVECTOR => "oidvector",
            Oid::XML => "xml",
            Oid::POINT => "point",
            Oid::LSEG => "lseg",
            Oid::PATH => "path",
            Oid::BOX => "box",
            Oid::POLYGON => "polygon",
            Oid::LINE => "line",
            Oid::CIDR => "cidr",
            Oid::CIRCLE => "circle",
            Oid::MACADDR8 => "macaddr8",
            Oid::MACADDR => "macaddr",
            Oid::INET => "inet",
            Oid::DATE => "date",
            Oid::TIMESTAMP => "timestamp",
            Oid::TIMESTAMPTZ => "timestamptz",
            Oid::BIT => "bit",
            Oid::VARBIT => "varbit",
            Oid::NUMERIC => "numeric",
            Oid::RECORD => "record",
            Oid::PG_LSN => "pg_lsn",
            Oid::TSVECTOR => "tsvector",
            Oid::TSQUERY => "tsquery",
            Oid::INT4RANGE => "int4range",
            Oid::NUMRANGE => "numrange",
            Oid::TSRANGE => "tsrange",
            Oid::TSTZRANGE => "tstzrange",
            Oid::DATERANGE => "daterange",
            Oid::INT8RANGE => "int8range",
            Oid::INT4MULTIRANGE => "int4multirange",
            Oid::NUMMULTIRANGE => "nummultirange",
            Oid::TSMULTIRANGE => "tsmultirange",
            Oid::TSTZMULTIRANGE => "tstzmultirange",
            Oid::DATEMULTIRANGE => "datemultirange",
            Oid::INT8MULTIRANGE => "int8multirange",
            _ => return None,
        })
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
