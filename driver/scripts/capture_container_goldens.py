#!/usr/bin/env python3
"""Regenerates driver/src/types/container_golden.rs from a real PostgreSQL server.

Each row is a SQL expression; the script asks the server for its binary `send` output
(through `COPY ... TO STDOUT (FORMAT binary)`, which calls the type's send function)
and for its text output (the type's output function, as the simple protocol returns it).

Usage (a throwaway cluster with the hstore and ltree extensions available):
    PGHOST=/tmp/sock PGPORT=55998 PGUSER=postgres \
        python3 driver/scripts/capture_container_goldens.py > driver/src/types/container_golden.rs

The session runs with TimeZone=UTC and DateStyle=ISO so time values are reproducible.
"""

import os
import struct
import subprocess
import sys

ROWS = {
    "ARRAYS": [
        ("int4_2d", "'{{1,2},{3,4}}'::int4[]"),
        ("int4_empty", "'{}'::int4[]"),
        ("int4_one", "'{5}'::int4[]"),
        ("int4_null", "'{1,NULL,3}'::int4[]"),
        ("int4_all_null", "'{NULL,NULL}'::int4[]"),
        ("int4_lower_bound_0", "'[0:2]={1,2,3}'::int4[]"),
        ("int4_negative_bounds_2d", "'[-2:-1][3:4]={{1,2},{3,4}}'::int4[]"),
        ("int4_3d", "'{{{1,2},{3,4}},{{5,6},{7,8}}}'::int4[]"),
        ("int4_6d", "array_fill(7, ARRAY[1,1,1,1,1,2])"),
        ("int4_extremes", "'{-2147483648,2147483647,0}'::int4[]"),
        ("text_escapes", "ARRAY['a b',NULL,'c\"d','','NULL','x\\y','{}',' lead','é',',;']::text[]"),
        ("inet", "'{192.168.0.1,::1}'::inet[]"),
        ("inet_2d_null", "'{{10.0.0.1,NULL},{::1,1.2.3.4}}'::inet[]"),
        ("point", "'{\"(1,2)\",\"(3.5,-4)\"}'::point[]"),
        ("box", "'{(1,2),(3,4);(5,6),(7,8)}'::box[]"),
        ("pg_lsn", "'{0/1,16/B374D848}'::pg_lsn[]"),
        ("int4range", "'{\"[1,2)\",empty}'::int4range[]"),
    ],
    "RANGES": [
        ("int4_basic", "'[1,5)'::int4range"),
        ("int4_inclusive_canonical", "'[1,5]'::int4range"),
        ("int4_empty", "'empty'::int4range"),
        ("int4_collapses_to_empty", "'[5,5)'::int4range"),
        ("int4_lower_unbounded", "'(,3]'::int4range"),
        ("int4_unbounded", "'(,)'::int4range"),
        ("int4_negative", "'[-5,-1)'::int4range"),
        ("int8_upper_unbounded", "'[10,)'::int8range"),
        ("int8_extremes", "'[-9223372036854775808,9223372036854775807)'::int8range"),
        ("numrange", "'(1.5,2.5]'::numrange"),
        ("daterange", "'[2020-01-01,2020-02-01)'::daterange"),
        ("tsrange", "'[\"2020-01-01 00:00\",\"2020-01-02 00:00\")'::tsrange"),
        ("tstzrange", "'[\"2020-01-01 00:00+00\",)'::tstzrange"),
        ("int4_multi", "'{[1,3),[5,7)}'::int4multirange"),
        ("int4_multi_empty", "'{}'::int4multirange"),
        ("int8_multi_unbounded", "'{(,2),[10,)}'::int8multirange"),
    ],
    "RECORDS": [
        ("int_text_null", "ROW(1::int4,'a b'::text,NULL::int4)"),
        ("inet_point", "ROW('192.168.0.1'::inet,'(1,2)'::point)"),
        ("empty", "ROW()"),
        ("text_quoting", "ROW(''::text,'x\"y'::text,'a\\b'::text,'('::text,NULL::text,' '::text)"),
        ("nested", "ROW(1::int4,ROW('16/B374D848'::pg_lsn,NULL::int4))"),
    ],
    "NET": [
        ("inet_v4_host", "'192.168.0.1'::inet"),
        ("inet_v4_broadcast", "'255.255.255.255'::inet"),
        ("inet_v4_prefix", "'10.1.2.3/8'::inet"),
        ("cidr_v4", "'10.0.0.0/8'::cidr"),
        ("cidr_v4_full", "'10.1.2.3/32'::cidr"),
        ("cidr_v4_zero", "'0.0.0.0/0'::cidr"),
        ("inet_v6_loopback", "'::1'::inet"),
        ("inet_v6_unspecified", "'::'::inet"),
        ("inet_v6_prefix", "'2001:db8::1/64'::inet"),
        ("inet_v6_longest_zero_run", "'1:0:0:2:0:0:0:3'::inet"),
        ("inet_v6_v4_compatible", "'::1.2.3.4'::inet"),
        ("inet_v6_v4_mapped", "'::ffff:1.2.3.4'::inet"),
        ("inet_v6_two", "'::2'::inet"),
        ("inet_v6_mapped_zero", "'::ffff:0:0'::inet"),
        ("inet_v6_six_zero_words", "'::0.1.0.0'::inet"),
        ("inet_v6_five_zero_words", "'::1:0:0'::inet"),
        ("inet_v6_first_run_wins", "'1:0:0:1:0:0:1:1'::inet"),
        ("cidr_v6", "'2001:db8::/32'::cidr"),
        ("cidr_v6_zero", "'::/0'::cidr"),
        ("cidr_v6_full", "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'::cidr"),
        ("macaddr", "'08:00:2b:01:02:03'::macaddr"),
        ("macaddr8", "'08:00:2b:01:02:03:04:05'::macaddr8"),
    ],
    "GEO": [
        ("point", "'(1,2)'::point"),
        ("point_special", "'(NaN,-Infinity)'::point"),
        ("point_formatting", "'(1e300,-0)'::point"),
        ("point_small", "'(0.1,1.5e-7)'::point"),
        ("point_fixed_limit", "'(123456789012345,1e15)'::point"),
        ("lseg", "'[(1,2),(3,4)]'::lseg"),
        ("line", "'{1,-1,0}'::line"),
        ("box", "'(3,4),(1,2)'::box"),
        ("box_normalized", "'(1,2),(3,4)'::box"),
        ("path_open", "'[(1,2),(3,4),(5,6)]'::path"),
        ("path_closed", "'((1,2),(3,4))'::path"),
        ("polygon", "'((0,0),(1,1),(1,0))'::polygon"),
        ("circle", "'<(1,2),3>'::circle"),
    ],
    "BITS": [
        ("bit3", "B'101'"),
        ("bit8", "B'11110000'"),
        ("bit12", "B'101010101010'::bit(12)"),
        ("varbit10", "B'1010101010'::varbit"),
        ("varbit_empty", "B''::varbit"),
    ],
    "XML": [
        ("element", "'<a>é</a>'::xml"),
        ("content", "'text &amp; <b>bold</b>'::xml"),
    ],
    "TSEARCH": [
        ("tsvector", "$$a:1A fat:2,4 cat it's back\\slash 'x y':3B,2C$$::tsvector"),
        ("tsvector_empty", "''::tsvector"),
        ("tsvector_dedup", "$$b:3,1,3A a a:2$$::tsvector"),
        ("tsvector_sorted", "$$é ab abc b$$::tsvector"),
        ("tsvector_weights", "$$x:1A,2B,3C,4D y:16383$$::tsvector"),
        ("tsquery", "$$fat & (rat | !cat) <-> dog:*A$$::tsquery"),
        ("tsquery_phrase_distance", "$$a <3> b & 'it''s':BD$$::tsquery"),
        ("tsquery_not_group", "$$!(a & b) | c <-> (d | e)$$::tsquery"),
        ("tsquery_phrase_left", "$$(a <-> b) <-> c$$::tsquery"),
        ("tsquery_phrase_right", "$$a <-> (b <-> c)$$::tsquery"),
        ("tsquery_double_not", "$$!!a$$::tsquery"),
        ("tsquery_not_phrase", "$$!(a <-> b)$$::tsquery"),
        ("tsquery_and_right", "$$a & (b & c)$$::tsquery"),
        ("tsquery_or_in_and", "$$(a|b)&c$$::tsquery"),
        ("tsquery_phrase_zero", "$$a <0> b$$::tsquery"),
        ("tsquery_backslash", "$$'a\\\\b' & 'q''t'$$::tsquery"),
        ("tsquery_single", "$$'x':*$$::tsquery"),
        ("tsquery_empty", "''::tsquery"),
        ("tsquery_left_assoc", "$$'a' & 'b' & 'c'$$::tsquery"),
        ("tsquery_precedence", "$$'a' | 'b' & !'c' <-> 'd'$$::tsquery"),
        ("tsquery_not_binds_tightest", "$$!'a' <-> 'b'$$::tsquery"),
        ("tsquery_all_weights", "$$'a':*ABCD | 'b':C$$::tsquery"),
        ("tsquery_unquoted", "$$fat:ab & cat:* | it's$$::tsquery"),
        ("tsvector_escapes", "$$'a''b' 'c\\\\d':1 'e f'$$::tsvector"),
        ("tsvector_many_positions", "$$a:3,2,1,2B$$::tsvector"),
    ],
    "HSTORE": [
        ("three", "'a=>1, b=>NULL, \"c d\"=>\"x\\\"y\"'::hstore"),
        ("empty", "''::hstore"),
        ("unicode_and_empty", "'é=>\"\", \"\"=>z'::hstore"),
    ],
    "LTREE": [
        ("ltree", "'a.b.c'::ltree"),
        ("ltree_empty", "''::ltree"),
        ("lquery", "'*.a|b.c*'::lquery"),
        ("ltxtquery", "'a & b*'::ltxtquery"),
    ],
    "LSN": [
        ("lsn", "'16/B374D848'::pg_lsn"),
        ("lsn_zero", "'0/0'::pg_lsn"),
        ("lsn_max", "'FFFFFFFF/FFFFFFFF'::pg_lsn"),
    ],
    "VECTORS": [
        ("oidvector", "'1 2 3'::oidvector"),
        ("oidvector_empty", "''::oidvector"),
        ("oidvector_max", "'4294967295 0'::oidvector"),
        ("int2vector", "'1 -2 3'::int2vector"),
        ("int2vector_empty", "''::int2vector"),
    ],
}

ENV = dict(os.environ, PGTZ="UTC", PGDATESTYLE="ISO", PGCLIENTENCODING="UTF8")


def psql(sql, binary=False):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, env=ENV,
    ).stdout
    return out


def capture(expr):
    raw = psql(f"COPY (SELECT {expr}) TO STDOUT (FORMAT binary)")
    # Header: 11-byte signature, flags i32, extension length i32 (+ extension).
    assert raw[:11] == b"PGCOPY\n\xff\r\n\x00", raw[:11]
    ext = struct.unpack(">i", raw[15:19])[0]
    pos = 19 + ext
    (nfields,) = struct.unpack(">h", raw[pos:pos + 2])
    assert nfields == 1
    (length,) = struct.unpack(">i", raw[pos + 2:pos + 6])
    value = raw[pos + 6:pos + 6 + length]
    # Text: the type's output function, exactly as a simple-protocol result carries it.
    text = psql(f"SELECT {expr}").decode("utf-8")
    assert text.endswith("\n")
    text = text[:-1]
    return value.hex(), text


def rust_str(s):
    out = '"'
    for ch in s:
        if ch == '"':
            out += '\\"'
        elif ch == "\\":
            out += "\\\\"
        elif ch == "\n":
            out += "\\n"
        else:
            out += ch
    return out + '"'


def main():
    version = psql("SHOW server_version").decode().strip()
    print("//! Golden values for the container and \"other\" type codecs, captured from a real server.")
    print("//!")
    print(f"//! GENERATED from PostgreSQL {version} by `driver/scripts/capture_container_goldens.py`;")
    print("//! do not edit by hand. `hex` is the type's binary send output (via `COPY ... (FORMAT")
    print("//! binary)`), `text` its output function (what the simple protocol returns).")
    print("//! A server round-trip test can replay every row: `SELECT <sql>` must give both.")
    print()
    print("/// One value: the SQL that makes it, and what the server sends for it.")
    print("#[derive(Clone, Copy, Debug)]")
    print("pub(crate) struct Golden {")
    print("    /// A short name the unit tests look rows up by.")
    print("    pub(crate) name: &'static str,")
    print("    /// A SQL expression producing the value.")
    print("    pub(crate) sql: &'static str,")
    print("    /// The binary (send) form, hex.")
    print("    pub(crate) hex: &'static str,")
    print("    /// The text (output function) form.")
    print("    pub(crate) text: &'static str,")
    print("}")
    print()
    print("impl Golden {")
    print("    /// The binary form as bytes.")
    print("    pub(crate) fn bytes(&self) -> Vec<u8> {")
    print("        (0..self.hex.len())")
    print("            .step_by(2)")
    print("            .map(|i| u8::from_str_radix(&self.hex[i..i + 2], 16).expect(\"golden hex is valid\"))")
    print("            .collect()")
    print("    }")
    print("}")
    print()
    print("/// The row called `name` in `table` (panics in tests when it is missing).")
    print("pub(crate) fn golden(table: &[Golden], name: &str) -> Golden {")
    print("    *table")
    print("        .iter()")
    print("        .find(|g| g.name == name)")
    print("        .unwrap_or_else(|| panic!(\"no golden row {name}\"))")
    print("}")
    for table, rows in ROWS.items():
        print()
        print(f"pub(crate) const {table}: &[Golden] = &[")
        for name, sql in rows:
            hexed, text = capture(sql)
            print("    Golden {")
            print(f"        name: {rust_str(name)},")
            print(f"        sql: {rust_str(sql)},")
            print(f"        hex: {rust_str(hexed)},")
            print(f"        text: {rust_str(text)},")
            print("    },")
        print("];")


if __name__ == "__main__":
    sys.exit(main())
