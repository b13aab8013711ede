//! Micro-benchmarks of the client's hot paths, so that regressions show up without a
//! server: splitting a read buffer into messages, building rows and decoding their
//! values, and encoding a query's parameters and its Bind message.
//!
//! `cargo bench -p quarry-driver --bench hot_paths` (add `-- --quick` for a short run).
//! The shapes are those of `quarry-bench`: W4's six columns, W7's two, W6's seven
//! parameters. The end-to-end numbers against a server are in BENCHMARKS.md.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quarry_driver::internals::frontend::{self, Formats};
use quarry_driver::internals::{Header, Limits, Message, RowShape, tag};
use quarry_driver::types::{Decode, Format, Oid, TimestampTz, TypeInfo, ValueRef};
use quarry_driver::{Arguments, Row};

/// A DataRow body: the field count, then each value as length and bytes.
fn data_row(values: &[&[u8]]) -> Vec<u8> {
    let mut body = i16::try_from(values.len())
        .expect("few columns")
        .to_be_bytes()
        .to_vec();
    for v in values {
        body.extend_from_slice(&i32::try_from(v.len()).expect("small value").to_be_bytes());
        body.extend_from_slice(v);
    }
    body
}

/// W4's row `i`: int4, int8, text, float8, timestamptz, bool.
fn w4_body(i: i32) -> Vec<u8> {
    let text = format!("name-{i}-0123456789abcdef0123456789abcdef");
    data_row(&[
        &i.to_be_bytes(),
        &(i64::from(i) * 1_000_003).to_be_bytes(),
        text.as_bytes(),
        &(f64::from(i) * 0.25).to_be_bytes(),
        &(757_382_400_000_000i64 + i64::from(i) * 1_000_000).to_be_bytes(),
        &[u8::from(i % 3 == 0)],
    ])
}

const W4_TYPES: [Oid; 6] = [
    Oid::INT4,
    Oid::INT8,
    Oid::TEXT,
    Oid::FLOAT8,
    Oid::TIMESTAMPTZ,
    Oid::BOOL,
];

/// A read buffer holding `n` whole DataRow frames of W4's shape.
fn read_buffer(n: i32) -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..n {
        let body = w4_body(i);
        buf.push(tag::DATA_ROW);
        buf.extend_from_slice(&i32::try_from(body.len() + 4).expect("small").to_be_bytes());
        buf.extend_from_slice(&body);
    }
    buf
}

fn message_decode(c: &mut Criterion) {
    let buf = read_buffer(1_000);
    let limits = Limits::default();
    let mut g = c.benchmark_group("message_decode");
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("header_and_datarow_x1000", |b| {
        b.iter(|| {
            let mut rest = black_box(&buf[..]);
            let mut values = 0usize;
            while let Some(h) = Header::parse(rest, &limits).expect("valid frames") {
                let body = &rest[Header::LEN..h.frame_len()];
                if let Message::DataRow(row) = Message::parse(h.tag, body).expect("a DataRow") {
                    values += row.len();
                }
                rest = &rest[h.frame_len()..];
            }
            values
        });
    });
    g.finish();
}

/// W4's struct, decoded the way the bench decodes it (by position, types checked).
struct W4 {
    a: i32,
    b: i64,
    c: String,
    d: f64,
    e: TimestampTz,
    f: bool,
}

fn decode_w4(row: &Row) -> W4 {
    W4 {
        a: row.try_get(0).expect("int4"),
        b: row.try_get(1).expect("int8"),
        c: row.try_get(2).expect("text"),
        d: row.try_get(3).expect("float8"),
        e: row.try_get(4).expect("timestamptz"),
        f: row.try_get(5).expect("bool"),
    }
}

fn row_decode(c: &mut Criterion) {
    let shape = RowShape::new(&W4_TYPES);
    let bodies: Vec<Bytes> = (0..1_000).map(|i| Bytes::from(w4_body(i))).collect();
    let mut g = c.benchmark_group("row_decode");
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("w4_row_new_x1000", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for body in &bodies {
                n += shape.row(body.clone()).expect("valid row").len();
            }
            n
        });
    });
    g.bench_function("w4_row_new_and_struct_x1000", |b| {
        b.iter(|| {
            let mut len = 0usize;
            for body in &bodies {
                let row = shape.row(body.clone()).expect("valid row");
                let w = decode_w4(&row);
                len += w.c.len() + usize::from(w.f);
                black_box((w.a, w.b, w.d, w.e));
            }
            len
        });
    });
    let w7 = RowShape::new(&[Oid::INT8, Oid::TEXT]);
    let w7_bodies: Vec<Bytes> = (0..1_000i64)
        .map(|i| Bytes::from(data_row(&[&i.to_be_bytes(), format!("row-{i}").as_bytes()])))
        .collect();
    g.bench_function("w7_row_new_and_struct_x1000", |b| {
        b.iter(|| {
            let mut len = 0usize;
            for body in &w7_bodies {
                let row = w7.row(body.clone()).expect("valid row");
                let a: i64 = row.try_get(0).expect("int8");
                let s: String = row.try_get(1).expect("text");
                len += s.len();
                black_box(a);
            }
            len
        });
    });
    g.finish();

    let mut g = c.benchmark_group("value_decode");
    let int8 = TypeInfo::from_oid(Oid::INT8);
    let text = TypeInfo::from_oid(Oid::TEXT);
    let tstz = TypeInfo::from_oid(Oid::TIMESTAMPTZ);
    let i = 123_456_789i64.to_be_bytes();
    let s = b"name-1234-0123456789abcdef0123456789abcdef";
    let t = 757_382_400_000_000i64.to_be_bytes();
    g.bench_function("int8", |b| {
        b.iter(|| {
            i64::decode(ValueRef::new(
                Some(black_box(&i[..])),
                Format::Binary,
                &int8,
            ))
        })
    });
    g.bench_function("text_to_string", |b| {
        b.iter(|| {
            String::decode(ValueRef::new(
                Some(black_box(&s[..])),
                Format::Binary,
                &text,
            ))
        })
    });
    g.bench_function("text_to_str", |b| {
        b.iter(|| {
            <&str>::decode(ValueRef::new(
                Some(black_box(&s[..])),
                Format::Binary,
                &text,
            ))
        })
    });
    g.bench_function("timestamptz", |b| {
        b.iter(|| {
            TimestampTz::decode(ValueRef::new(
                Some(black_box(&t[..])),
                Format::Binary,
                &tstz,
            ))
        })
    });
    g.finish();
}

fn encode_binds(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_binds");
    let d = String::from("TESTTESTTEST");
    let s = String::from("123412341234");
    g.bench_function("w6_arguments_7_params", |b| {
        b.iter(|| {
            let mut a = Arguments::new();
            a.add(black_box(1i32));
            a.add(11i32);
            a.add(10i32);
            a.add(d.as_str());
            a.add(10.333f64);
            a.add(12_341_234i32);
            a.add(s.as_str());
            a
        });
    });
    // The Bind message of that row, its values already in wire form.
    let mut values = Vec::new();
    for v in [
        &1i32.to_be_bytes()[..],
        &11i32.to_be_bytes(),
        &10i32.to_be_bytes(),
        d.as_bytes(),
        &10.333f64.to_be_bytes(),
        &12_341_234i32.to_be_bytes(),
        s.as_bytes(),
    ] {
        frontend::bind_value(&mut values, Some(v)).expect("small value");
    }
    let mut buf = Vec::with_capacity(256);
    g.bench_function("w6_bind_message", |b| {
        b.iter(|| {
            buf.clear();
            frontend::bind(
                &mut buf,
                "",
                "s1",
                Formats::All(1),
                7,
                black_box(&values),
                Formats::All(1),
            )
            .expect("encodes");
            frontend::execute(&mut buf, "", 0).expect("encodes");
            buf.len()
        });
    });
    g.finish();
}

criterion_group!(benches, message_decode, row_decode, encode_binds);
criterion_main!(benches);
