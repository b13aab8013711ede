//! Golden values for the container and "other" type codecs, captured from a real server.
//!
//! GENERATED from PostgreSQL 15.18 (Debian 15.18-0+deb12u1) by `driver/scripts/capture_container_goldens.py`;
//! do not edit by hand. `hex` is the type's binary send output (via `COPY ... (FORMAT
//! binary)`), `text` its output function (what the simple protocol returns).
//! A server round-trip test can replay every row: `SELECT <sql>` must give both.

/// One value: the SQL that makes it, and what the server sends for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Golden {
    /// A short name the unit tests look rows up by.
    pub(crate) name: &'static str,
    /// A SQL expression producing the value.
    pub(crate) sql: &'static str,
    /// The binary (send) form, hex.
    pub(crate) hex: &'static str,
    /// The text (output function) form.
    pub(crate) text: &'static str,
}

impl Golden {
    /// The binary form as bytes.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        (0..self.hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&self.hex[i..i + 2], 16).expect("golden hex is valid"))
            .collect()
    }
}

/// The row called `name` in `table` (panics in tests when it is missing).
pub(crate) fn golden(table: &[Golden], name: &str) -> Golden {
    *table
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no golden row {name}"))
}

pub(crate) const ARRAYS: &[Golden] = &[
    Golden {
        name: "int4_2d",
        sql: "'{{1,2},{3,4}}'::int4[]",
        hex: "000000020000000000000017000000020000000100000002000000010000000400000001000000040000000200000004000000030000000400000004",
        text: "{{1,2},{3,4}}",
    },
    Golden {
        name: "int4_empty",
        sql: "'{}'::int4[]",
        hex: "000000000000000000000017",
        text: "{}",
    },
    Golden {
        name: "int4_one",
        sql: "'{5}'::int4[]",
        hex: "00000001000000000000001700000001000000010000000400000005",
        text: "{5}",
    },
    Golden {
        name: "int4_null",
        sql: "'{1,NULL,3}'::int4[]",
        hex: "00000001000000010000001700000003000000010000000400000001ffffffff0000000400000003",
        text: "{1,NULL,3}",
    },
    Golden {
        name: "int4_all_null",
        sql: "'{NULL,NULL}'::int4[]",
        hex: "0000000100000001000000170000000200000001ffffffffffffffff",
        text: "{NULL,NULL}",
    },
    Golden {
        name: "int4_lower_bound_0",
        sql: "'[0:2]={1,2,3}'::int4[]",
        hex: "0000000100000000000000170000000300000000000000040000000100000004000000020000000400000003",
        text: "[0:2]={1,2,3}",
    },
    Golden {
        name: "int4_negative_bounds_2d",
        sql: "'[-2:-1][3:4]={{1,2},{3,4}}'::int4[]",
        hex: "00000002000000000000001700000002fffffffe00000002000000030000000400000001000000040000000200000004000000030000000400000004",
        text: "[-2:-1][3:4]={{1,2},{3,4}}",
    },
    Golden {
        name: "int4_3d",
        sql: "'{{{1,2},{3,4}},{{5,6},{7,8}}}'::int4[]",
        hex: "00000003000000000000001700000002000000010000000200000001000000020000000100000004000000010000000400000002000000040000000300000004000000040000000400000005000000040000000600000004000000070000000400000008",
        text: "{{{1,2},{3,4}},{{5,6},{7,8}}}",
    },
    Golden {
        name: "int4_6d",
        sql: "array_fill(7, ARRAY[1,1,1,1,1,2])",
        hex: "00000006000000000000001700000001000000010000000100000001000000010000000100000001000000010000000100000001000000020000000100000004000000070000000400000007",
        text: "{{{{{{7,7}}}}}}",
    },
    Golden {
        name: "int4_extremes",
        sql: "'{-2147483648,2147483647,0}'::int4[]",
        hex: "00000001000000000000001700000003000000010000000480000000000000047fffffff0000000400000000",
        text: "{-2147483648,2147483647,0}",
    },
    Golden {
        name: "text_escapes",
        sql: "ARRAY['a b',NULL,'c\"d','','NULL','x\\y','{}',' lead','é',',;']::text[]",
        hex: "0000000100000001000000190000000a0000000100000003612062ffffffff0000000363226400000000000000044e554c4c00000003785c79000000027b7d00000005206c65616400000002c3a9000000022c3b",
        text: "{\"a b\",NULL,\"c\\\"d\",\"\",\"NULL\",\"x\\\\y\",\"{}\",\" lead\",é,\",;\"}",
    },
    Golden {
        name: "inet",
        sql: "'{192.168.0.1,::1}'::inet[]",
        hex: "00000001000000000000036500000002000000010000000802200004c0a80001000000140380001000000000000000000000000000000001",
        text: "{192.168.0.1,::1}",
    },
    Golden {
        name: "inet_2d_null",
        sql: "'{{10.0.0.1,NULL},{::1,1.2.3.4}}'::inet[]",
        hex: "0000000200000001000003650000000200000001000000020000000100000008022000040a000001ffffffff000000140380001000000000000000000000000000000001000000080220000401020304",
        text: "{{10.0.0.1,NULL},{::1,1.2.3.4}}",
    },
    Golden {
        name: "point",
        sql: "'{\"(1,2)\",\"(3.5,-4)\"}'::point[]",
        hex: "0000000100000000000002580000000200000001000000103ff0000000000000400000000000000000000010400c000000000000c010000000000000",
        text: "{\"(1,2)\",\"(3.5,-4)\"}",
    },
    Golden {
        name: "box",
        sql: "'{(1,2),(3,4);(5,6),(7,8)}'::box[]",
        hex: "00000001000000000000025b000000020000000100000020400800000000000040100000000000003ff0000000000000400000000000000000000020401c000000000000402000000000000040140000000000004018000000000000",
        text: "{(3,4),(1,2);(7,8),(5,6)}",
    },
    Golden {
        name: "pg_lsn",
        sql: "'{0/1,16/B374D848}'::pg_lsn[]",
        hex: "000000010000000000000c9400000002000000010000000800000000000000010000000800000016b374d848",
        text: "{0/1,16/B374D848}",
    },
    Golden {
        name: "int4range",
        sql: "'{\"[1,2)\",empty}'::int4range[]",
        hex: "000000010000000000000f4000000002000000010000001102000000040000000100000004000000020000000101",
        text: "{\"[1,2)\",empty}",
    },
];

pub(crate) const RANGES: &[Golden] = &[
    Golden {
        name: "int4_basic",
        sql: "'[1,5)'::int4range",
        hex: "0200000004000000010000000400000005",
        text: "[1,5)",
    },
    Golden {
        name: "int4_inclusive_canonical",
        sql: "'[1,5]'::int4range",
        hex: "0200000004000000010000000400000006",
        text: "[1,6)",
    },
    Golden {
        name: "int4_empty",
        sql: "'empty'::int4range",
        hex: "01",
        text: "empty",
    },
    Golden {
        name: "int4_collapses_to_empty",
        sql: "'[5,5)'::int4range",
        hex: "01",
        text: "empty",
    },
    Golden {
        name: "int4_lower_unbounded",
        sql: "'(,3]'::int4range",
        hex: "080000000400000004",
        text: "(,4)",
    },
    Golden {
        name: "int4_unbounded",
        sql: "'(,)'::int4range",
        hex: "18",
        text: "(,)",
    },
    Golden {
        name: "int4_negative",
        sql: "'[-5,-1)'::int4range",
        hex: "0200000004fffffffb00000004ffffffff",
        text: "[-5,-1)",
    },
    Golden {
        name: "int8_upper_unbounded",
        sql: "'[10,)'::int8range",
        hex: "1200000008000000000000000a",
        text: "[10,)",
    },
    Golden {
        name: "int8_extremes",
        sql: "'[-9223372036854775808,9223372036854775807)'::int8range",
        hex: "02000000088000000000000000000000087fffffffffffffff",
        text: "[-9223372036854775808,9223372036854775807)",
    },
    Golden {
        name: "numrange",
        sql: "'(1.5,2.5]'::numrange",
        hex: "040000000c0002000000000001000113880000000c000200000000000100021388",
        text: "(1.5,2.5]",
    },
    Golden {
        name: "daterange",
        sql: "'[2020-01-01,2020-02-01)'::daterange",
        hex: "020000000400001c890000000400001ca8",
        text: "[2020-01-01,2020-02-01)",
    },
    Golden {
        name: "tsrange",
        sql: "'[\"2020-01-01 00:00\",\"2020-01-02 00:00\")'::tsrange",
        hex: "020000000800023e0786c260000000000800023e1ba499c000",
        text: "[\"2020-01-01 00:00:00\",\"2020-01-02 00:00:00\")",
    },
    Golden {
        name: "tstzrange",
        sql: "'[\"2020-01-01 00:00+00\",)'::tstzrange",
        hex: "120000000800023e0786c26000",
        text: "[\"2020-01-01 00:00:00+00\",)",
    },
    Golden {
        name: "int4_multi",
        sql: "'{[1,3),[5,7)}'::int4multirange",
        hex: "00000002000000110200000004000000010000000400000003000000110200000004000000050000000400000007",
        text: "{[1,3),[5,7)}",
    },
    Golden {
        name: "int4_multi_empty",
        sql: "'{}'::int4multirange",
        hex: "00000000",
        text: "{}",
    },
    Golden {
        name: "int8_multi_unbounded",
        sql: "'{(,2),[10,)}'::int8multirange",
        hex: "000000020000000d080000000800000000000000020000000d1200000008000000000000000a",
        text: "{(,2),[10,)}",
    },
];

pub(crate) const RECORDS: &[Golden] = &[
    Golden {
        name: "int_text_null",
        sql: "ROW(1::int4,'a b'::text,NULL::int4)",
        hex: "00000003000000170000000400000001000000190000000361206200000017ffffffff",
        text: "(1,\"a b\",)",
    },
    Golden {
        name: "inet_point",
        sql: "ROW('192.168.0.1'::inet,'(1,2)'::point)",
        hex: "00000002000003650000000802200004c0a8000100000258000000103ff00000000000004000000000000000",
        text: "(192.168.0.1,\"(1,2)\")",
    },
    Golden {
        name: "empty",
        sql: "ROW()",
        hex: "00000000",
        text: "()",
    },
    Golden {
        name: "text_quoting",
        sql: "ROW(''::text,'x\"y'::text,'a\\b'::text,'('::text,NULL::text,' '::text)",
        hex: "00000006000000190000000000000019000000037822790000001900000003615c6200000019000000012800000019ffffffff000000190000000120",
        text: "(\"\",\"x\"\"y\",\"a\\\\b\",\"(\",,\" \")",
    },
    Golden {
        name: "nested",
        sql: "ROW(1::int4,ROW('16/B374D848'::pg_lsn,NULL::int4))",
        hex: "00000002000000170000000400000001000008c90000001c0000000200000c940000000800000016b374d84800000017ffffffff",
        text: "(1,\"(16/B374D848,)\")",
    },
];

pub(crate) const NET: &[Golden] = &[
    Golden {
        name: "inet_v4_host",
        sql: "'192.168.0.1'::inet",
        hex: "02200004c0a80001",
        text: "192.168.0.1",
    },
    Golden {
        name: "inet_v4_broadcast",
        sql: "'255.255.255.255'::inet",
        hex: "02200004ffffffff",
        text: "255.255.255.255",
    },
    Golden {
        name: "inet_v4_prefix",
        sql: "'10.1.2.3/8'::inet",
        hex: "020800040a010203",
        text: "10.1.2.3/8",
    },
    Golden {
        name: "cidr_v4",
        sql: "'10.0.0.0/8'::cidr",
        hex: "020801040a000000",
        text: "10.0.0.0/8",
    },
    Golden {
        name: "cidr_v4_full",
        sql: "'10.1.2.3/32'::cidr",
        hex: "022001040a010203",
        text: "10.1.2.3/32",
    },
    Golden {
        name: "cidr_v4_zero",
        sql: "'0.0.0.0/0'::cidr",
        hex: "0200010400000000",
        text: "0.0.0.0/0",
    },
    Golden {
        name: "inet_v6_loopback",
        sql: "'::1'::inet",
        hex: "0380001000000000000000000000000000000001",
        text: "::1",
    },
    Golden {
        name: "inet_v6_unspecified",
        sql: "'::'::inet",
        hex: "0380001000000000000000000000000000000000",
        text: "::",
    },
    Golden {
        name: "inet_v6_prefix",
        sql: "'2001:db8::1/64'::inet",
        hex: "0340001020010db8000000000000000000000001",
        text: "2001:db8::1/64",
    },
    Golden {
        name: "inet_v6_longest_zero_run",
        sql: "'1:0:0:2:0:0:0:3'::inet",
        hex: "0380001000010000000000020000000000000003",
        text: "1:0:0:2::3",
    },
    Golden {
        name: "inet_v6_v4_compatible",
        sql: "'::1.2.3.4'::inet",
        hex: "0380001000000000000000000000000001020304",
        text: "::1.2.3.4",
    },
    Golden {
        name: "inet_v6_v4_mapped",
        sql: "'::ffff:1.2.3.4'::inet",
        hex: "0380001000000000000000000000ffff01020304",
        text: "::ffff:1.2.3.4",
    },
    Golden {
        name: "inet_v6_two",
        sql: "'::2'::inet",
        hex: "0380001000000000000000000000000000000002",
        text: "::2",
    },
    Golden {
        name: "inet_v6_mapped_zero",
        sql: "'::ffff:0:0'::inet",
        hex: "0380001000000000000000000000ffff00000000",
        text: "::ffff:0.0.0.0",
    },
    Golden {
        name: "inet_v6_six_zero_words",
        sql: "'::0.1.0.0'::inet",
        hex: "0380001000000000000000000000000000010000",
        text: "::0.1.0.0",
    },
    Golden {
        name: "inet_v6_five_zero_words",
        sql: "'::1:0:0'::inet",
        hex: "0380001000000000000000000000000100000000",
        text: "::1:0:0",
    },
    Golden {
        name: "inet_v6_first_run_wins",
        sql: "'1:0:0:1:0:0:1:1'::inet",
        hex: "0380001000010000000000010000000000010001",
        text: "1::1:0:0:1:1",
    },
    Golden {
        name: "cidr_v6",
        sql: "'2001:db8::/32'::cidr",
        hex: "0320011020010db8000000000000000000000000",
        text: "2001:db8::/32",
    },
    Golden {
        name: "cidr_v6_zero",
        sql: "'::/0'::cidr",
        hex: "0300011000000000000000000000000000000000",
        text: "::/0",
    },
    Golden {
        name: "cidr_v6_full",
        sql: "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'::cidr",
        hex: "03800110ffffffffffffffffffffffffffffffff",
        text: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    },
    Golden {
        name: "macaddr",
        sql: "'08:00:2b:01:02:03'::macaddr",
        hex: "08002b010203",
        text: "08:00:2b:01:02:03",
    },
    Golden {
        name: "macaddr8",
        sql: "'08:00:2b:01:02:03:04:05'::macaddr8",
        hex: "08002b0102030405",
        text: "08:00:2b:01:02:03:04:05",
    },
];

pub(crate) const GEO: &[Golden] = &[
    Golden {
        name: "point",
        sql: "'(1,2)'::point",
        hex: "3ff00000000000004000000000000000",
        text: "(1,2)",
    },
    Golden {
        name: "point_special",
        sql: "'(NaN,-Infinity)'::point",
        hex: "7ff8000000000000fff0000000000000",
        text: "(NaN,-Infinity)",
    },
    Golden {
        name: "point_formatting",
        sql: "'(1e300,-0)'::point",
        hex: "7e37e43c8800759c8000000000000000",
        text: "(1e+300,-0)",
    },
    Golden {
        name: "point_small",
        sql: "'(0.1,1.5e-7)'::point",
        hex: "3fb999999999999a3e8421f5f40d8376",
        text: "(0.1,1.5e-07)",
    },
    Golden {
        name: "point_fixed_limit",
        sql: "'(123456789012345,1e15)'::point",
        hex: "42dc12218377de40430c6bf526340000",
        text: "(123456789012345,1e+15)",
    },
    Golden {
        name: "lseg",
        sql: "'[(1,2),(3,4)]'::lseg",
        hex: "3ff0000000000000400000000000000040080000000000004010000000000000",
        text: "[(1,2),(3,4)]",
    },
    Golden {
        name: "line",
        sql: "'{1,-1,0}'::line",
        hex: "3ff0000000000000bff00000000000000000000000000000",
        text: "{1,-1,0}",
    },
    Golden {
        name: "box",
        sql: "'(3,4),(1,2)'::box",
        hex: "400800000000000040100000000000003ff00000000000004000000000000000",
        text: "(3,4),(1,2)",
    },
    Golden {
        name: "box_normalized",
        sql: "'(1,2),(3,4)'::box",
        hex: "400800000000000040100000000000003ff00000000000004000000000000000",
        text: "(3,4),(1,2)",
    },
    Golden {
        name: "path_open",
        sql: "'[(1,2),(3,4),(5,6)]'::path",
        hex: "00000000033ff000000000000040000000000000004008000000000000401000000000000040140000000000004018000000000000",
        text: "[(1,2),(3,4),(5,6)]",
    },
    Golden {
        name: "path_closed",
        sql: "'((1,2),(3,4))'::path",
        hex: "01000000023ff0000000000000400000000000000040080000000000004010000000000000",
        text: "((1,2),(3,4))",
    },
    Golden {
        name: "polygon",
        sql: "'((0,0),(1,1),(1,0))'::polygon",
        hex: "00000003000000000000000000000000000000003ff00000000000003ff00000000000003ff00000000000000000000000000000",
        text: "((0,0),(1,1),(1,0))",
    },
    Golden {
        name: "circle",
        sql: "'<(1,2),3>'::circle",
        hex: "3ff000000000000040000000000000004008000000000000",
        text: "<(1,2),3>",
    },
];

pub(crate) const BITS: &[Golden] = &[
    Golden {
        name: "bit3",
        sql: "B'101'",
        hex: "00000003a0",
        text: "101",
    },
    Golden {
        name: "bit8",
        sql: "B'11110000'",
        hex: "00000008f0",
        text: "11110000",
    },
    Golden {
        name: "bit12",
        sql: "B'101010101010'::bit(12)",
        hex: "0000000caaa0",
        text: "101010101010",
    },
    Golden {
        name: "varbit10",
        sql: "B'1010101010'::varbit",
        hex: "0000000aaa80",
        text: "1010101010",
    },
    Golden {
        name: "varbit_empty",
        sql: "B''::varbit",
        hex: "00000000",
        text: "",
    },
];

pub(crate) const XML: &[Golden] = &[
    Golden {
        name: "element",
        sql: "'<a>é</a>'::xml",
        hex: "3c613ec3a93c2f613e",
        text: "<a>é</a>",
    },
    Golden {
        name: "content",
        sql: "'text &amp; <b>bold</b>'::xml",
        hex: "746578742026616d703b203c623e626f6c643c2f623e",
        text: "text &amp; <b>bold</b>",
    },
];

pub(crate) const TSEARCH: &[Golden] = &[
    Golden {
        name: "tsvector",
        sql: "$$a:1A fat:2,4 cat it's back\\slash 'x y':3B,2C$$::tsvector",
        hex: "0000000661000001c0016261636b736c617368000000636174000000666174000002000200046974277300000078207900000240028003",
        text: "'a':1A 'backslash' 'cat' 'fat':2,4 'it''s' 'x y':2C,3B",
    },
    Golden {
        name: "tsvector_empty",
        sql: "''::tsvector",
        hex: "00000000",
        text: "",
    },
    Golden {
        name: "tsvector_dedup",
        sql: "$$b:3,1,3A a a:2$$::tsvector",
        hex: "00000002610000010002620000020001c003",
        text: "'a':2 'b':1,3A",
    },
    Golden {
        name: "tsvector_sorted",
        sql: "$$é ab abc b$$::tsvector",
        hex: "00000004616200000061626300000062000000c3a9000000",
        text: "'ab' 'abc' 'b' 'é'",
    },
    Golden {
        name: "tsvector_weights",
        sql: "$$x:1A,2B,3C,4D y:16383$$::tsvector",
        hex: "0000000278000004c001800240030004790000013fff",
        text: "'x':1A,2B,3C,4 'y':16383",
    },
    Golden {
        name: "tsquery",
        sql: "$$fat & (rat | !cat) <-> dog:*A$$::tsquery",
        hex: "00000008020202040001010801646f670002030201010000636174000100007261740001000066617400",
        text: "'fat' & ( 'rat' | !'cat' ) <-> 'dog':*A",
    },
    Golden {
        name: "tsquery_phrase_distance",
        sql: "$$a <3> b & 'it''s':BD$$::tsquery",
        hex: "00000005020201050069742773000204000301000062000100006100",
        text: "'a' <3> 'b' & 'it''s':BD",
    },
    Golden {
        name: "tsquery_not_group",
        sql: "$$!(a & b) | c <-> (d | e)$$::tsquery",
        hex: "0000000a02030204000102030100006500010000640001000063000201020201000062000100006100",
        text: "!( 'a' & 'b' ) | 'c' <-> ( 'd' | 'e' )",
    },
    Golden {
        name: "tsquery_phrase_left",
        sql: "$$(a <-> b) <-> c$$::tsquery",
        hex: "000000050204000101000063000204000101000062000100006100",
        text: "'a' <-> 'b' <-> 'c'",
    },
    Golden {
        name: "tsquery_phrase_right",
        sql: "$$a <-> (b <-> c)$$::tsquery",
        hex: "000000050204000102040001010000630001000062000100006100",
        text: "'a' <-> ( 'b' <-> 'c' )",
    },
    Golden {
        name: "tsquery_double_not",
        sql: "$$!!a$$::tsquery",
        hex: "00000003020102010100006100",
        text: "!!'a'",
    },
    Golden {
        name: "tsquery_not_phrase",
        sql: "$$!(a <-> b)$$::tsquery",
        hex: "0000000402010204000101000062000100006100",
        text: "!( 'a' <-> 'b' )",
    },
    Golden {
        name: "tsquery_and_right",
        sql: "$$a & (b & c)$$::tsquery",
        hex: "0000000502020202010000630001000062000100006100",
        text: "'a' & 'b' & 'c'",
    },
    Golden {
        name: "tsquery_or_in_and",
        sql: "$$(a|b)&c$$::tsquery",
        hex: "0000000502020100006300020301000062000100006100",
        text: "( 'a' | 'b' ) & 'c'",
    },
    Golden {
        name: "tsquery_phrase_zero",
        sql: "$$a <0> b$$::tsquery",
        hex: "000000030204000001000062000100006100",
        text: "'a' <0> 'b'",
    },
    Golden {
        name: "tsquery_backslash",
        sql: "$$'a\\\\b' & 'q''t'$$::tsquery",
        hex: "00000003020201000071277400010000615c6200",
        text: "'a\\\\b' & 'q''t'",
    },
    Golden {
        name: "tsquery_single",
        sql: "$$'x':*$$::tsquery",
        hex: "000000010100017800",
        text: "'x':*",
    },
    Golden {
        name: "tsquery_empty",
        sql: "''::tsquery",
        hex: "00000000",
        text: "",
    },
    Golden {
        name: "tsquery_left_assoc",
        sql: "$$'a' & 'b' & 'c'$$::tsquery",
        hex: "0000000502020100006300020201000062000100006100",
        text: "'a' & 'b' & 'c'",
    },
    Golden {
        name: "tsquery_precedence",
        sql: "$$'a' | 'b' & !'c' <-> 'd'$$::tsquery",
        hex: "00000008020302020204000101000064000201010000630001000062000100006100",
        text: "'a' | 'b' & !'c' <-> 'd'",
    },
    Golden {
        name: "tsquery_not_binds_tightest",
        sql: "$$!'a' <-> 'b'$$::tsquery",
        hex: "0000000402040001010000620002010100006100",
        text: "!'a' <-> 'b'",
    },
    Golden {
        name: "tsquery_all_weights",
        sql: "$$'a':*ABCD | 'b':C$$::tsquery",
        hex: "0000000302030102006200010f016100",
        text: "'a':*ABCD | 'b':C",
    },
    Golden {
        name: "tsquery_unquoted",
        sql: "$$fat:ab & cat:* | it's$$::tsquery",
        hex: "0000000502030100006974277300020201000163617400010c0066617400",
        text: "'fat':AB & 'cat':* | 'it''s'",
    },
    Golden {
        name: "tsvector_escapes",
        sql: "$$'a''b' 'c\\\\d':1 'e f'$$::tsvector",
        hex: "00000003612762000000635c640000010001652066000000",
        text: "'a''b' 'c\\\\d':1 'e f'",
    },
    Golden {
        name: "tsvector_many_positions",
        sql: "$$a:3,2,1,2B$$::tsvector",
        hex: "0000000161000003000180020003",
        text: "'a':1,2B,3",
    },
];

pub(crate) const HSTORE: &[Golden] = &[
    Golden {
        name: "three",
        sql: "'a=>1, b=>NULL, \"c d\"=>\"x\\\"y\"'::hstore",
        hex: "00000003000000016100000001310000000162ffffffff0000000363206400000003782279",
        text: "\"a\"=>\"1\", \"b\"=>NULL, \"c d\"=>\"x\\\"y\"",
    },
    Golden {
        name: "empty",
        sql: "''::hstore",
        hex: "00000000",
        text: "",
    },
    Golden {
        name: "unicode_and_empty",
        sql: "'é=>\"\", \"\"=>z'::hstore",
        hex: "0000000200000000000000017a00000002c3a900000000",
        text: "\"\"=>\"z\", \"é\"=>\"\"",
    },
];

pub(crate) const LTREE: &[Golden] = &[
    Golden {
        name: "ltree",
        sql: "'a.b.c'::ltree",
        hex: "01612e622e63",
        text: "a.b.c",
    },
    Golden {
        name: "ltree_empty",
        sql: "''::ltree",
        hex: "01",
        text: "",
    },
    Golden {
        name: "lquery",
        sql: "'*.a|b.c*'::lquery",
        hex: "012a2e617c622e632a",
        text: "*.a|b.c*",
    },
    Golden {
        name: "ltxtquery",
        sql: "'a & b*'::ltxtquery",
        hex: "0161202620622a",
        text: "a & b*",
    },
];

pub(crate) const LSN: &[Golden] = &[
    Golden {
        name: "lsn",
        sql: "'16/B374D848'::pg_lsn",
        hex: "00000016b374d848",
        text: "16/B374D848",
    },
    Golden {
        name: "lsn_zero",
        sql: "'0/0'::pg_lsn",
        hex: "0000000000000000",
        text: "0/0",
    },
    Golden {
        name: "lsn_max",
        sql: "'FFFFFFFF/FFFFFFFF'::pg_lsn",
        hex: "ffffffffffffffff",
        text: "FFFFFFFF/FFFFFFFF",
    },
];

pub(crate) const VECTORS: &[Golden] = &[
    Golden {
        name: "oidvector",
        sql: "'1 2 3'::oidvector",
        hex: "00000001000000000000001a0000000300000000000000040000000100000004000000020000000400000003",
        text: "1 2 3",
    },
    Golden {
        name: "oidvector_empty",
        sql: "''::oidvector",
        hex: "00000001000000000000001a0000000000000000",
        text: "",
    },
    Golden {
        name: "oidvector_max",
        sql: "'4294967295 0'::oidvector",
        hex: "00000001000000000000001a000000020000000000000004ffffffff0000000400000000",
        text: "4294967295 0",
    },
    Golden {
        name: "int2vector",
        sql: "'1 -2 3'::int2vector",
        hex: "000000010000000000000015000000030000000000000002000100000002fffe000000020003",
        text: "1 -2 3",
    },
    Golden {
        name: "int2vector_empty",
        sql: "''::int2vector",
        hex: "0000000100000000000000150000000000000000",
        text: "",
    },
];
