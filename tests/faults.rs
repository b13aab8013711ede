//! A hostile or broken server: what a real PostgreSQL will not send. Each case is a
//! scripted fake server (`support::fake`) and checks that the driver turns the bytes
//! into a typed error (never a panic, never a large allocation), and, for
//! authentication, that nothing secret is sent after the exchange went wrong.
//!
//! Also here: the decoder fuzz targets of `fuzz/` run on stable as property tests
//! (`fuzz_targets` below), so every `cargo test` exercises them.

mod support;

#[path = "../fuzz/src/targets.rs"]
mod fuzz_targets;

use std::time::Duration;

use quarry::config::{ChannelBinding, SslMode};
use quarry::{Connection, ErrorKind, query, query_scalar};
use support::fake::{self, FakeServer, Step};

/// Connects to `server` with its default options changed by `adjust`.
async fn connect_to(
    server: &FakeServer,
    adjust: impl FnOnce(quarry::ConnectOptions) -> quarry::ConnectOptions,
) -> quarry::Result<Connection> {
    let opts = adjust(server.options());
    tokio::time::timeout(Duration::from_secs(20), Connection::connect_with(&opts))
        .await
        .expect("connect must end (with an error) instead of hanging")
}

/// The peak resident memory so far (KiB): a header that made the client touch
/// gigabytes would raise it.
fn peak_kib() -> u64 {
    support::status_field("VmHWM:")
}

/// Runs a script that the connection must refuse with `kind`; returns the error text
/// and the transcript.
async fn refused(script: Vec<Step>, kind: ErrorKind) -> (String, fake::Transcript) {
    refused_with(script, kind, |o| o).await
}

async fn refused_with(
    script: Vec<Step>,
    kind: ErrorKind,
    adjust: impl FnOnce(quarry::ConnectOptions) -> quarry::ConnectOptions,
) -> (String, fake::Transcript) {
    let before = peak_kib();
    let server = FakeServer::start(script).await;
    let err = connect_to(&server, adjust)
        .await
        .expect_err("the fake server's bytes must be refused");
    assert_eq!(err.kind(), kind, "{err}");
    assert!(!err.message().is_empty(), "{err:?}");
    let grown = peak_kib().saturating_sub(before);
    assert!(grown < 256 * 1024, "peak RSS grew by {grown} KiB");
    (err.to_string(), server.transcript().await)
}

// --- Lengths -----------------------------------------------------------------------------

#[tokio::test]
async fn message_length_below_four() {
    for len in [0, 3, -1, i32::MIN] {
        let (err, _) = refused(
            vec![Step::ReadUntagged, Step::Send(fake::header(b'R', len))],
            ErrorKind::Protocol,
        )
        .await;
        assert!(err.contains("length"), "{len}: {err}");
    }
}

#[tokio::test]
async fn huge_length_on_short_message_types() {
    // R and Z are never long: refused at the header, before any body byte is buffered.
    let (err, _) = refused(
        vec![Step::ReadUntagged, Step::Send(fake::header(b'R', i32::MAX))],
        ErrorKind::Protocol,
    )
    .await;
    assert!(err.contains("'R'"), "{err}");
    let (err, _) = refused(
        vec![
            Step::ReadUntagged,
            Step::Send([fake::auth_ok(), fake::header(b'Z', i32::MAX)].concat()),
        ],
        ErrorKind::Protocol,
    )
    .await;
    assert!(err.contains("'Z'"), "{err}");
    // Just over the 30,000-byte rule for short types.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send([fake::auth_ok(), fake::header(b'K', 30_005)].concat()),
        ],
        ErrorKind::Protocol,
    )
    .await;
}

/// A connected session with the fake server; the script continues after startup.
async fn session(after_startup: Vec<Step>) -> (FakeServer, Connection) {
    session_with(after_startup, |o| o).await
}

async fn session_with(
    after_startup: Vec<Step>,
    adjust: impl FnOnce(quarry::ConnectOptions) -> quarry::ConnectOptions,
) -> (FakeServer, Connection) {
    let mut script = vec![Step::ReadUntagged, Step::Send(fake::startup_ok())];
    script.extend(after_startup);
    let server = FakeServer::start(script).await;
    let conn = connect_to(&server, adjust).await.expect("startup");
    (server, conn)
}

/// Runs `SELECT 1` (extended protocol) and expects an error of `kind`; the connection
/// must then refuse further use.
async fn query_fails(mut conn: Connection, kind: ErrorKind) -> String {
    let before = peak_kib();
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        query_scalar::<i32>("SELECT 1").fetch_one(&mut conn),
    )
    .await
    .expect("the query must end (with an error) instead of hanging")
    .expect_err("the fake server's answer must be refused");
    assert_eq!(err.kind(), kind, "{err}");
    let grown = peak_kib().saturating_sub(before);
    assert!(grown < 256 * 1024, "peak RSS grew by {grown} KiB");
    if err.is_connection_fatal() {
        assert!(
            conn.is_closed(),
            "a connection-fatal error left it open: {err}"
        );
        let again = query("SELECT 1").execute(&mut conn).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Closed, "{again}");
    }
    err.to_string()
}

#[tokio::test]
async fn huge_data_row_over_max_message_len() {
    // Over a small max_message_len.
    let (server, conn) = session_with(
        vec![
            Step::ReadUntil(b'S'),
            Step::Send(
                [
                    fake::described(&[("x", fake::INT4)]),
                    fake::header(b'D', i32::MAX),
                ]
                .concat(),
            ),
        ],
        |o| o.max_message_len(1 << 20),
    )
    .await;
    let err = query_fails(conn, ErrorKind::Protocol).await;
    assert!(err.contains("'D'"), "{err}");
    server.transcript().await;
    // Over the default (1 GiB).
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::described(&[("x", fake::INT4)]),
                fake::header(b'D', i32::MAX),
            ]
            .concat(),
        ),
    ])
    .await;
    query_fails(conn, ErrorKind::Protocol).await;
    server.transcript().await;
}

#[tokio::test]
async fn a_large_claimed_data_row_then_eof_touches_no_memory() {
    // 512 MiB claimed (allowed by the default limit), 10 bytes sent, then the server hangs up.
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::described(&[("x", fake::INT4)]),
                fake::header(b'D', 512 << 20),
                vec![0; 10],
            ]
            .concat(),
        ),
        Step::Close,
    ])
    .await;
    // Sent, then the hang-up: the outcome is unknown (the hang-up is its source).
    let err = query_fails(conn, ErrorKind::OutcomeUnknown).await;
    assert!(err.contains("outcome unknown"), "{err}");
    server.transcript().await;
}

/// Set in the child process of [`gigabyte_claims_under_an_address_space_limit`].
const ADDRESS_SPACE_CHILD: &str = "QUARRY_FAULTS_ADDRESS_SPACE_CHILD";

/// Issue 17, item 1: a peer's claimed length must never be reserved before its bytes
/// arrive. The checks run in a child process (this test binary again, selected by an
/// environment variable) under `ulimit -v 1000000` (about 977 MiB of address space, a
/// common container limit): reserving a claimed 1 GiB there fails, and a failed
/// allocation aborts the whole process, which the parent sees. Resident-memory checks
/// (above) miss this: a reservation is not touched.
#[test]
fn gigabyte_claims_under_an_address_space_limit() {
    if std::env::var_os(ADDRESS_SPACE_CHILD).is_some() {
        return address_space_child();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000 && exec \"$0\" \"$@\"")
        .arg(&exe)
        .args([
            "--exact",
            "gigabyte_claims_under_an_address_space_limit",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ADDRESS_SPACE_CHILD, "1")
        .output()
        .expect("run the child process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "the child under an address-space limit failed ({}): a claimed length was \
         reserved before its bytes arrived",
        out.status
    );
    for case in ["startup-error", "session-data-row"] {
        assert!(
            stdout.contains(&format!("address-space case {case}: ok")),
            "the child did not finish case {case}"
        );
    }
}

/// The child's side: a current-thread runtime (few arenas, a small baseline) and two
/// fake servers that each claim 2^30 - 64 bytes and stall or hang up.
fn address_space_child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let claim = (1 << 30) - 64;
        println!(
            "address space at start: VmSize {} KiB (limit 1000000 KiB)",
            support::status_field("VmSize:")
        );
        // The startup packet answered with an ErrorResponse claiming 1 GiB, its first
        // field sent, then nothing (the server stalls, the connection stays open).
        let server = FakeServer::start(vec![
            Step::ReadUntagged,
            Step::Send([fake::header(b'E', claim), b"SFATAL\0".to_vec()].concat()),
        ])
        .await;
        let err = connect_to(&server, |o| o)
            .await
            .expect_err("a 1 GiB ErrorResponse before authentication is refused");
        assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
        assert!(err.to_string().contains("before authentication"), "{err}");
        server.transcript().await;
        println!("address-space case startup-error: ok ({err})");
        // After startup: a DataRow claiming 1 GiB, 10 bytes of it, then the hang-up.
        let (server, mut conn) = session(vec![
            Step::ReadUntil(b'S'),
            Step::Send(
                [
                    fake::described(&[("x", fake::INT4)]),
                    fake::header(b'D', claim),
                    vec![0; 10],
                ]
                .concat(),
            ),
            Step::Close,
        ])
        .await;
        let err = query_scalar::<i32>("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .expect_err("the hang-up ends the query");
        assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
        server.transcript().await;
        println!("address-space case session-data-row: ok ({err})");
        println!(
            "address space at the end: VmPeak {} KiB",
            support::status_field("VmPeak:")
        );
    });
}

/// The answer to `SELECT 1` after `before`: a complete, well-formed result.
fn select_one_after(before: Vec<u8>) -> Vec<u8> {
    [
        before,
        fake::described(&[("x", fake::INT4)]),
        fake::data_row(&[&1i32.to_be_bytes()]),
        fake::command_complete("SELECT 1"),
        fake::ready(b'I'),
    ]
    .concat()
}

/// Issue 17, item 2: ParameterStatus is bounded (count and size). Without the bound the
/// 1M-name flood of the report kept 209 MiB for the connection's life; here 1,001
/// distinct names, or 40 values of 29 KB (1.1 MiB), are refused with a clear error,
/// while any number of updates of known names is fine.
#[tokio::test]
async fn parameter_status_flood() {
    let names: Vec<u8> = (0..1_001)
        .flat_map(|i| fake::parameter_status(&format!("flood_{i}"), "x"))
        .collect();
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(select_one_after(names)),
    ])
    .await;
    let err = query_fails(conn, ErrorKind::Protocol).await;
    assert!(err.contains("more than 1000 distinct"), "{err}");
    server.transcript().await;

    let big = "v".repeat(29_000);
    let values: Vec<u8> = (0..40)
        .flat_map(|i| fake::parameter_status(&format!("big_{i}"), &big))
        .collect();
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(select_one_after(values)),
    ])
    .await;
    let err = query_fails(conn, ErrorKind::Protocol).await;
    assert!(err.contains("ParameterStatus"), "{err}");
    server.transcript().await;

    // 100,000 updates of the same few names (and values of 29 KB replacing each other)
    // stay within the bounds.
    let updates: Vec<u8> = (0..100_000)
        .flat_map(|i| fake::parameter_status(&format!("same_{}", i % 10), &i.to_string()))
        .chain((0..100).flat_map(|_| fake::parameter_status("big", &big)))
        .collect();
    let (server, mut conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(select_one_after(updates)),
    ])
    .await;
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    assert_eq!(conn.parameter_status("same_9"), Some("99999"));
    assert_eq!(conn.parameter_status("big").map(str::len), Some(29_000));
    drop(conn);
    server.transcript().await;
}

// --- Truncation and unknown messages ------------------------------------------------------

#[tokio::test]
async fn truncated_messages_then_eof() {
    // During startup: half an AuthenticationMD5Password.
    let mut md5 = fake::auth(5, b"salt");
    md5.truncate(6);
    let (err, _) = refused(
        vec![Step::ReadUntagged, Step::Send(md5), Step::Close],
        ErrorKind::Closed,
    )
    .await;
    assert!(err.contains("closed"), "{err}");
    // Half a header.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send(vec![b'R', 0, 0]),
            Step::Close,
        ],
        ErrorKind::Closed,
    )
    .await;
    // Nothing at all.
    refused(vec![Step::ReadUntagged, Step::Close], ErrorKind::Closed).await;
    // During a query: half a DataRow.
    let mut row = fake::data_row(&[&1i32.to_be_bytes()]);
    row.truncate(row.len() - 2);
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send([fake::described(&[("x", fake::INT4)]), row].concat()),
        Step::Close,
    ])
    .await;
    query_fails(conn, ErrorKind::OutcomeUnknown).await;
    server.transcript().await;
}

#[tokio::test]
async fn message_body_shorter_or_longer_than_its_length() {
    // BackendKeyData with a 2-byte key in 3.0 is accepted by the codec only if whole;
    // a ReadyForQuery with two status bytes is not.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send([fake::auth_ok(), fake::msg(b'Z', b"II")].concat()),
        ],
        ErrorKind::Protocol,
    )
    .await;
    // An unknown transaction status.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send([fake::auth_ok(), fake::msg(b'Z', b"X")].concat()),
        ],
        ErrorKind::Protocol,
    )
    .await;
    // A ParameterStatus without its terminating NULs.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send([fake::auth_ok(), fake::msg(b'S', b"name")].concat()),
        ],
        ErrorKind::Protocol,
    )
    .await;
}

#[tokio::test]
async fn unknown_message_types() {
    for tag in [b'q', b'!', 0u8, 0xff] {
        let (err, _) = refused(
            vec![
                Step::ReadUntagged,
                Step::Send([fake::auth_ok(), fake::msg(tag, b"xyz")].concat()),
            ],
            ErrorKind::Protocol,
        )
        .await;
        assert!(err.contains("expected"), "{tag:#x}: {err}");
    }
    // Instead of an authentication request.
    refused(
        vec![Step::ReadUntagged, Step::Send(fake::msg(b'q', b""))],
        ErrorKind::Protocol,
    )
    .await;
    // In the middle of a result.
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send([fake::described(&[("x", fake::INT4)]), fake::msg(b'q', b"")].concat()),
    ])
    .await;
    query_fails(conn, ErrorKind::Protocol).await;
    server.transcript().await;
    // A ReadyForQuery nobody asked for.
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::described(&[("x", fake::INT4)]),
                fake::data_row(&[&1i32.to_be_bytes()]),
                fake::command_complete("SELECT 1"),
                fake::ready(b'I'),
                fake::ready(b'I'),
            ]
            .concat(),
        ),
    ])
    .await;
    let mut conn = conn;
    let v: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 1);
    let err = query_fails(conn, ErrorKind::Protocol).await;
    assert!(err.contains("ReadyForQuery"), "{err}");
    server.transcript().await;
}

// --- TLS -----------------------------------------------------------------------------------

#[tokio::test]
async fn bytes_injected_after_the_ssl_answer_are_refused() {
    // CVE-2021-23222: plaintext messages after 'S' must not be read as if they came
    // over TLS; the handshake fails on them.
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let (err, t) = refused_with(
            vec![
                Step::ReadUntagged,
                Step::Send([b"S".to_vec(), fake::startup_ok()].concat()),
            ],
            ErrorKind::Tls,
            |o| {
                let o = o.ssl_mode(mode);
                if mode.verifies_certificate() {
                    // A real root file: the handshake fails before verification.
                    o.ssl_root_cert(support::server().ca_cert_path())
                } else {
                    o
                }
            },
        )
        .await;
        assert!(!err.contains("ReadyForQuery"), "{err}");
        // The client sent the SSLRequest and then only TLS records (no startup packet).
        assert_eq!(t.messages.len(), 1, "{mode}: {:?}", t.messages);
        let request = &t.messages[0].body;
        assert_eq!(request[..], fake::SSL_REQUEST_CODE.to_be_bytes()[..]);
    }
}

#[tokio::test]
async fn bad_answers_to_ssl_request() {
    for (answer, kind) in [
        (b"E".to_vec(), ErrorKind::Protocol),
        (b"X".to_vec(), ErrorKind::Protocol),
        (b"N".to_vec(), ErrorKind::Tls), // refused TLS with sslmode=require
        (Vec::new(), ErrorKind::Io),     // hung up
    ] {
        let close = answer.is_empty();
        let mut script = vec![Step::ReadUntagged, Step::Send(answer.clone())];
        if close {
            script.push(Step::Close);
        }
        refused_with(script, kind, |o| o.ssl_mode(SslMode::Require)).await;
    }
}

// --- Rows that do not match their description ----------------------------------------

#[tokio::test]
async fn data_rows_that_disagree_with_the_description() {
    let one = 1i32.to_be_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("fewer fields", fake::data_row(&[])),
        ("more fields", fake::data_row(&[&one, &one])),
        ("field length -2", fake::data_row_raw(1, &[(-2, &[])])),
        (
            "field length past the end",
            fake::data_row_raw(1, &[(100, &one)]),
        ),
        ("negative field count", fake::data_row_raw(-1, &[])),
        (
            "trailing bytes",
            fake::data_row_raw(1, &[(4, &[0, 0, 0, 1, 9, 9])]),
        ),
    ];
    for (what, row) in cases {
        let (server, conn) = session(vec![
            Step::ReadUntil(b'S'),
            Step::Send([fake::described(&[("x", fake::INT4)]), row].concat()),
        ])
        .await;
        let err = query_fails(conn, ErrorKind::Protocol).await;
        assert!(err.contains("DataRow"), "{what}: {err}");
        server.transcript().await;
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_size_is_a_decode_error() {
    // Well-formed protocol, wrong content: the connection stays usable.
    let (server, mut conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::described(&[("x", fake::INT4)]),
                fake::data_row(&[b"abc"]),
                fake::command_complete("SELECT 1"),
                fake::ready(b'I'),
            ]
            .concat(),
        ),
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::described(&[("x", fake::INT4)]),
                fake::data_row(&[&7i32.to_be_bytes()]),
                fake::command_complete("SELECT 1"),
                fake::ready(b'I'),
            ]
            .concat(),
        ),
    ])
    .await;
    let err = query_scalar::<i32>("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(!conn.is_closed());
    let v: i32 = query_scalar("SELECT 2").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 7);
    drop(conn);
    server.transcript().await;
}

#[tokio::test]
async fn a_data_row_before_its_row_description() {
    // Simple protocol.
    let (server, mut conn) = session(vec![
        Step::ReadUntil(b'Q'),
        Step::Send(
            [
                fake::data_row(&[b"1"]),
                fake::command_complete("SELECT 1"),
                fake::ready(b'I'),
            ]
            .concat(),
        ),
    ])
    .await;
    let err = conn.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("DataRow"), "{err}");
    assert!(conn.is_closed());
    drop(conn);
    server.transcript().await;
    // Extended protocol: rows where the description should be.
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send([fake::msg(b'1', &[]), fake::data_row(&[&1i32.to_be_bytes()])].concat()),
    ])
    .await;
    query_fails(conn, ErrorKind::Protocol).await;
    server.transcript().await;
}

#[tokio::test]
async fn error_responses_without_a_code() {
    // During startup.
    let (err, _) = refused(
        vec![
            Step::ReadUntagged,
            Step::Send(fake::error_response(&[
                (b'S', "FATAL"),
                (b'M', "no code here"),
            ])),
        ],
        ErrorKind::Protocol,
    )
    .await;
    assert!(err.contains("SQLSTATE"), "{err}");
    // During a query.
    let (server, conn) = session(vec![
        Step::ReadUntil(b'S'),
        Step::Send(
            [
                fake::error_response(&[(b'S', "ERROR"), (b'M', "no code")]),
                fake::ready(b'I'),
            ]
            .concat(),
        ),
    ])
    .await;
    query_fails(conn, ErrorKind::Protocol).await;
    server.transcript().await;
    // Without a message, or with a field that is not NUL-terminated.
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send(fake::error_response(&[(b'S', "FATAL"), (b'C', "28000")])),
        ],
        ErrorKind::Protocol,
    )
    .await;
    refused(
        vec![
            Step::ReadUntagged,
            Step::Send(fake::msg(b'E', b"SFATAL\0C28000")),
        ],
        ErrorKind::Protocol,
    )
    .await;
    // An error nobody asked for, while idle, ends the session (admin shutdown).
    let (server, mut conn) = session(vec![Step::Send(fake::error_response(&[
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "57P01"),
        (b'M', "terminating connection due to administrator command"),
    ]))])
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = query("SELECT 1").execute(&mut conn).await.unwrap_err();
    assert!(err.is_connection_fatal(), "{err}");
    assert!(conn.is_closed());
    drop(conn);
    server.transcript().await;
}

// --- Authentication ------------------------------------------------------------------------

/// The client nonce from a SASLInitialResponse body (`mechanism\0 len data`).
fn client_first(body: &[u8]) -> (String, String) {
    let nul = body.iter().position(|&b| b == 0).unwrap();
    let mechanism = String::from_utf8(body[..nul].to_vec()).unwrap();
    let data = String::from_utf8(body[nul + 5..].to_vec()).unwrap();
    (mechanism, data)
}

fn nonce_of(client_first: &str) -> String {
    client_first
        .split(',')
        .find_map(|p| p.strip_prefix("r="))
        .unwrap()
        .to_owned()
}

fn sasl(mechanisms: &[&str]) -> Vec<u8> {
    let mut extra = Vec::new();
    for m in mechanisms {
        extra.extend_from_slice(m.as_bytes());
        extra.push(0);
    }
    extra.push(0);
    fake::auth(10, &extra)
}

fn sasl_continue(data: &str) -> Vec<u8> {
    fake::auth(11, data.as_bytes())
}

fn sasl_final(data: &str) -> Vec<u8> {
    fake::auth(12, data.as_bytes())
}

/// SCRAM up to the server-first message, which `server_first` makes from the client nonce.
fn scram_script(server_first: fn(&str) -> String, then: Vec<Step>) -> Vec<Step> {
    let mut script = vec![
        Step::ReadUntagged,
        Step::Send(sasl(&["SCRAM-SHA-256"])),
        Step::Respond(Box::new(move |body| {
            let (mechanism, first) = client_first(body);
            assert_eq!(mechanism, "SCRAM-SHA-256");
            sasl_continue(&server_first(&nonce_of(&first)))
        })),
    ];
    script.extend(then);
    script
}

const SALT: &str = "c2FsdHNhbHRzYWx0"; // "saltsaltsalt"

async fn scram_refused(script: Vec<Step>) -> (String, fake::Transcript) {
    refused_with(script, ErrorKind::Authentication, |o| {
        o.password("scram-secret-pw")
    })
    .await
}

#[tokio::test]
async fn scram_nonce_that_does_not_extend_ours() {
    let (err, t) = scram_refused(scram_script(
        |_| format!("r=someoneelsesnonce,s={SALT},i=4096"),
        vec![],
    ))
    .await;
    assert!(err.contains("nonce"), "{err}");
    // Only the initial response: no proof derived from the password was sent.
    assert_eq!(t.count(b'p'), 1, "{}", t.tags());
    assert_eq!(t.tags(), "p");
}

#[tokio::test]
async fn scram_iteration_count_over_the_cap_is_refused_at_once() {
    // Refused before any hashing: 2^31 iterations would take hours, and connect_to
    // fails the test if the connection does not end within 20 s.
    for i in ["2147483647", "100001", "0", "-1", "4096x"] {
        let server_first: fn(&str) -> String = match i {
            "2147483647" => |n| format!("r={n}srv,s={SALT},i=2147483647"),
            "100001" => |n| format!("r={n}srv,s={SALT},i=100001"),
            "0" => |n| format!("r={n}srv,s={SALT},i=0"),
            "-1" => |n| format!("r={n}srv,s={SALT},i=-1"),
            _ => |n| format!("r={n}srv,s={SALT},i=4096x"),
        };
        let (err, t) = scram_refused(scram_script(server_first, vec![])).await;
        assert_eq!(t.tags(), "p", "i={i}: {err}");
    }
    // A higher cap, set by the user, lets a legitimate high count through to the proof.
    let (_, t) = refused_with(
        scram_script(
            |n| format!("r={n}srv,s={SALT},i=100001"),
            vec![
                Step::ReadUntil(b'p'),
                Step::Send(sasl_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
            ],
        ),
        ErrorKind::Authentication,
        |o| o.password("pw").scram_max_iterations(200_000),
    )
    .await;
    assert_eq!(t.tags(), "pp");
}

#[tokio::test]
async fn scram_wrong_server_signature() {
    let (err, t) = scram_refused(scram_script(
        |n| format!("r={n}srv,s={SALT},i=4096"),
        vec![
            Step::ReadUntil(b'p'),
            Step::Send(
                [
                    sasl_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                    fake::startup_ok(),
                ]
                .concat(),
            ),
        ],
    ))
    .await;
    assert!(err.contains("signature"), "{err}");
    // Initial response and the proof, then nothing (no query on a session the server
    // never proved it owns).
    assert_eq!(t.tags(), "pp");
}

#[tokio::test]
async fn scram_other_server_misbehaviour() {
    // AuthenticationOk without the server's proof.
    let (err, t) = scram_refused(scram_script(
        |n| format!("r={n}srv,s={SALT},i=4096"),
        vec![Step::ReadUntil(b'p'), Step::Send(fake::startup_ok())],
    ))
    .await;
    assert!(err.contains("signature"), "{err}");
    assert_eq!(t.tags(), "pp");
    // A server-final error.
    scram_refused(scram_script(
        |n| format!("r={n}srv,s={SALT},i=4096"),
        vec![
            Step::ReadUntil(b'p'),
            Step::Send(sasl_final("e=invalid-proof")),
        ],
    ))
    .await;
    // Garbage where the server-first message should be.
    let (_, t) = scram_refused(scram_script(|_| "garbage".into(), vec![])).await;
    assert_eq!(t.tags(), "p");
    // Bad base64 salt.
    let (_, t) = scram_refused(scram_script(|n| format!("r={n}srv,s=***,i=4096"), vec![])).await;
    assert_eq!(t.tags(), "p");
    // A SASL challenge before SASL started.
    let (_, t) = scram_refused(vec![
        Step::ReadUntagged,
        Step::Send(sasl_continue("r=x,s=c2FsdA==,i=4096")),
    ])
    .await;
    assert_eq!(t.tags(), "");
    // Only a mechanism we do not speak.
    let (_, t) = scram_refused(vec![Step::ReadUntagged, Step::Send(sasl(&["SCRAM-SHA-1"]))]).await;
    assert_eq!(t.tags(), "");
    // Only SCRAM-SHA-256-PLUS over a plaintext connection (a downgrade attempt the
    // other way round: channel binding data we cannot have).
    let (_, t) = scram_refused(vec![
        Step::ReadUntagged,
        Step::Send(sasl(&["SCRAM-SHA-256-PLUS"])),
    ])
    .await;
    assert_eq!(t.tags(), "");
}

#[tokio::test]
async fn methods_refused_by_the_client_send_no_password() {
    // require_auth=scram-sha-256 and the server asks for MD5 or cleartext.
    for request in [fake::auth(5, b"salt"), fake::auth(3, b"")] {
        let (err, t) = refused_with(
            vec![Step::ReadUntagged, Step::Send(request)],
            ErrorKind::Authentication,
            |o| o.password("do-not-send-me").require_auth("scram-sha-256"),
        )
        .await;
        assert_eq!(t.tags(), "", "{err}");
        assert!(!err.contains("do-not-send-me"), "{err}");
    }
    // channel_binding=require over TLS is checked when the server asks for a password;
    // over plaintext it is refused before connecting. Cleartext request + require_auth
    // that excludes it.
    let (_, t) = refused_with(
        vec![Step::ReadUntagged, Step::Send(fake::auth(3, b""))],
        ErrorKind::Authentication,
        |o| o.password("do-not-send-me").require_auth("!password"),
    )
    .await;
    assert_eq!(t.tags(), "");
    // Unsupported methods (GSSAPI, SSPI, Kerberos) are typed errors.
    for code in [2, 7, 9] {
        let server =
            FakeServer::start(vec![Step::ReadUntagged, Step::Send(fake::auth(code, b""))]).await;
        let err = connect_to(&server, |o| o.password("x")).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Unsupported | ErrorKind::Authentication
            ),
            "{code}: {err}"
        );
        assert_eq!(server.transcript().await.tags(), "");
    }
    let _ = ChannelBinding::Require; // (covered against a real server in tests/connect.rs)
}

// --- Round trips ---------------------------------------------------------------------------

#[tokio::test]
async fn connecting_is_one_round_trip() {
    use quarry::config::TargetSessionAttrs;
    // Trust: the startup packet goes out, the server answers everything in one flight,
    // and the connection is ready without sending anything else.
    for attrs in [
        TargetSessionAttrs::Any,
        TargetSessionAttrs::ReadWrite,
        TargetSessionAttrs::Primary,
    ] {
        let (server, conn) = session_with(vec![], |o| o.target_session_attrs(attrs)).await;
        assert_eq!(conn.backend_pid(), 4242);
        assert_eq!(conn.parameter_status("server_version"), Some("15.0"));
        conn.close().await.unwrap();
        let t = server.transcript().await;
        // The startup packet, then Terminate from close(): nothing in between.
        assert_eq!(t.messages.len(), 2, "{attrs}: {:?}", t.messages);
        assert_eq!(t.messages[0].tag, None);
        assert_eq!(t.tags(), "X", "{attrs}");
    }
}

// --- Decoder fuzz targets on stable ------------------------------------------------------

// --- Replication streams -----------------------------------------------------------------

/// A CopyData of the replication sub-protocol: XLogData at `lsn` holding `data`.
fn xlog_data(lsn: u64, data: &[u8]) -> Vec<u8> {
    let mut body = vec![b'w'];
    body.extend_from_slice(&lsn.to_be_bytes());
    body.extend_from_slice(&lsn.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(data);
    fake::msg(b'd', &body)
}

/// A pgoutput Relation for table 16384 with one `int4` column `id`.
fn relation() -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend_from_slice(&16384u32.to_be_bytes());
    m.extend_from_slice(b"public\0t\0d");
    m.extend_from_slice(&1i16.to_be_bytes());
    m.push(1);
    m.extend_from_slice(b"id\0");
    m.extend_from_slice(&23u32.to_be_bytes());
    m.extend_from_slice(&(-1i32).to_be_bytes());
    m
}

/// An Insert into table 16384 with these text values.
fn insert(values: &[&str]) -> Vec<u8> {
    let mut m = vec![b'I'];
    m.extend_from_slice(&16384u32.to_be_bytes());
    m.push(b'N');
    m.extend_from_slice(&i16::try_from(values.len()).unwrap().to_be_bytes());
    for v in values {
        m.push(b't');
        m.extend_from_slice(&i32::try_from(v.len()).unwrap().to_be_bytes());
        m.extend_from_slice(v.as_bytes());
    }
    m
}

/// A replication session on a fake server that answers START_REPLICATION with
/// CopyBothResponse and then `stream` (whole messages), and the stream.
async fn fake_stream(stream: Vec<u8>) -> (FakeServer, quarry::replication::ReplicationStream) {
    let mut copy_both = fake::msg(b'W', &[0, 0, 0]);
    copy_both.extend(stream);
    let server = FakeServer::start(vec![
        Step::ReadUntagged,
        Step::Send(fake::startup_ok()),
        Step::ReadUntil(b'Q'),
        Step::Send(copy_both),
    ])
    .await;
    let repl = quarry::replication::ReplicationConnection::connect_with(server.options())
        .await
        .expect("startup");
    let s = repl
        .start_logical(
            "s",
            quarry::types::PgLsn(0),
            &quarry::replication::LogicalOptions::new(["p"]),
        )
        .await
        .expect("START_REPLICATION");
    (server, s)
}

/// Hostile or inconsistent replication streams are protocol errors (never a panic, never
/// a message made up), after which the stream refuses further use.
#[tokio::test]
async fn hostile_replication_streams_are_refused() {
    let begin = {
        let mut m = vec![b'B'];
        m.extend_from_slice(&[0; 20]);
        m
    };
    let truncated_relation = relation()[..12].to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "unknown kind",
            fake::msg(b'd', b"z"),
            "unknown replication message",
        ),
        ("short XLogData", fake::msg(b'd', b"w\0\0"), "truncated"),
        (
            "unknown pgoutput",
            xlog_data(1, b"Q"),
            "unknown pgoutput message",
        ),
        (
            "truncated Relation",
            xlog_data(1, &truncated_relation),
            "pgoutput Relation",
        ),
        (
            "undescribed table",
            xlog_data(1, &insert(&["1"])),
            "before describing it",
        ),
        (
            "too many values",
            [
                xlog_data(1, &relation()),
                xlog_data(2, &insert(&["1", "2"])),
            ]
            .concat(),
            "1 columns",
        ),
        (
            "commit without begin",
            xlog_data(1, &[b'C'; 26]),
            "outside a transaction",
        ),
        (
            "begin inside a transaction",
            [xlog_data(1, &begin), xlog_data(2, &begin)].concat(),
            "inside a transaction",
        ),
        (
            "stream stop outside a block",
            xlog_data(1, b"E"),
            "outside a stream block",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (_server, mut s) = fake_stream(bytes).await;
        let err = loop {
            match tokio::time::timeout(Duration::from_secs(10), s.next())
                .await
                .expect("the stream must fail instead of hanging")
            {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("{name}: the stream ended"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::Protocol, "{name}: {err}");
        assert!(err.to_string().contains(expected), "{name}: {err}");
        let again = s.next().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Closed, "{name}: {again}");
    }
}

/// A keepalive asking for a reply is answered at once with a standby status update that
/// reports the start position as flushed, nothing more.
#[tokio::test]
async fn a_keepalive_asking_for_a_reply_is_answered() {
    let mut keepalive = vec![b'k'];
    keepalive.extend_from_slice(&0x500u64.to_be_bytes());
    keepalive.extend_from_slice(&0i64.to_be_bytes());
    keepalive.push(1);
    // Then a Begin, so that `next` returns.
    let mut begin = vec![b'B'];
    begin.extend_from_slice(&[0; 20]);
    let (server, mut s) =
        fake_stream([fake::msg(b'd', &keepalive), xlog_data(0x600, &begin)].concat()).await;
    let e = s.next().await.unwrap().unwrap();
    assert_eq!(e.lsn, quarry::types::PgLsn(0x600));
    drop(s);
    let t = server.transcript().await;
    let status: Vec<&fake::Sent> = t
        .messages
        .iter()
        .filter(|m| m.tag == Some(b'd') && m.body.first() == Some(&b'r'))
        .collect();
    assert_eq!(status.len(), 1, "{t:?}");
    let body = &status[0].body;
    assert_eq!(body.len(), 34);
    // write, flush, apply: the keepalive's position between transactions, with nothing
    // handed out yet, is confirmed.
    for at in [1, 9, 17] {
        assert_eq!(
            u64::from_be_bytes(body[at..at + 8].try_into().unwrap()),
            0x500
        );
    }
    assert_eq!(body[33], 0, "no reply requested");
}

mod fuzz_on_stable {
    use super::fuzz_targets as targets;
    use proptest::prelude::*;

    /// The seed corpus of a target (`fuzz/seeds/<target>/*`), committed with the repository.
    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in {}", dir.display());
        files
            .into_iter()
            .map(|f| std::fs::read(f).unwrap())
            .collect()
    }

    /// Bytes near the seeds: a seed with random edits, or random bytes.
    fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
        let seeds = std::sync::Arc::new(seeds);
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            (
                0..seeds.len(),
                proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 0..8)
            )
                .prop_map(move |(i, edits)| {
                    let mut bytes = seeds[i].clone();
                    for (at, value, op) in edits {
                        let at = if bytes.is_empty() {
                            0
                        } else {
                            at % (bytes.len() + 1)
                        };
                        match op {
                            0 if at < bytes.len() => bytes[at] = value,
                            1 => bytes.insert(at, value),
                            2 if at < bytes.len() => {
                                bytes.remove(at);
                            }
                            _ => bytes.truncate(at),
                        }
                    }
                    bytes
                }),
        ]
    }

    /// The `scram` target's seeds reach every end: a finished exchange (RFC 7677's server
    /// messages with PostgreSQL's empty user name), a huge iteration count refused before
    /// any work, and a server error.
    #[test]
    fn scram_seeds_reach_a_finished_exchange() {
        use quarry_driver::internals::scram::Exchange;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/scram");
        let mut ends = Vec::new();
        for name in ["rfc7677", "sixteen", "huge_count", "server_error"] {
            let seed = std::fs::read(dir.join(name)).unwrap();
            let (min, max) = [(1, 1), (1, 16), (2, 4096), (4096, 4096)][usize::from(seed[0] % 4)];
            let mut parts = seed[1..].splitn(3, |&b| b == b'\n');
            let (mut exchange, _) = Exchange::start(
                targets::SCRAM_PASSWORD.as_bytes(),
                targets::SCRAM_NONCE,
                min,
                max,
                None,
            )
            .unwrap();
            let end = match exchange.server_first(parts.next().unwrap()) {
                Err(e) => format!("first: {e}"),
                Ok(_) => match exchange.server_final(parts.next().unwrap()) {
                    Ok(()) => "finished".to_owned(),
                    Err(e) => format!("final: {e}"),
                },
            };
            ends.push((name, end));
        }
        assert_eq!(ends[0], ("rfc7677", "finished".to_owned()));
        assert_eq!(ends[1], ("sixteen", "finished".to_owned()));
        assert!(
            ends[2].1.contains("4294967296 SCRAM iterations"),
            "{ends:?}"
        );
        assert!(ends[3].1.contains("invalid-proof"), "{ends:?}");
    }

    macro_rules! stable_fuzz {
        ($($name:ident),* $(,)?) => {$(
            #[test]
            fn $name() {
                for seed in corpus(stringify!($name)) {
                    targets::$name(&seed);
                }
                proptest!(ProptestConfig::with_cases(4000), |(bytes in mutated(corpus(stringify!($name))))| {
                    targets::$name(&bytes);
                });
            }
        )*};
    }

    stable_fuzz!(
        backend_message,
        data_row,
        replication_message,
        pgoutput,
        connect_options,
        certificate,
        scram,
        pgpass,
        service_file,
        decode_bool,
        decode_int,
        decode_float,
        decode_text,
        decode_bytea,
        decode_uuid,
        decode_json,
        decode_money,
        decode_numeric,
        decode_datetime,
        decode_array,
        decode_range,
        decode_record,
        decode_net,
        decode_geo,
        decode_bits,
        decode_tsearch,
        decode_misc,
    );
}
