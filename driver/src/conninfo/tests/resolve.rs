//! Environment precedence, defaults, validation, endpoints, and the builder.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::env_of;
use crate::ErrorKind;
use crate::conninfo::*;

fn parse(s: &str, vars: &[(&str, &str)]) -> Result<ConnectOptions, crate::Error> {
    ConnectOptions::parse_with_env(s, env_of(vars))
}

fn no_socket(_: &Path) -> bool {
    false
}

fn endpoints(opts: &ConnectOptions) -> Vec<(Host, Option<IpAddr>, u16)> {
    opts.endpoints_with(&no_socket)
        .unwrap()
        .into_iter()
        .map(|e| (e.host, e.hostaddr, e.port))
        .collect()
}

fn tcp(name: &str) -> Host {
    Host::Tcp(name.to_owned())
}

#[test]
fn explicit_values_win_over_environment_which_wins_over_defaults() {
    let vars = [
        ("PGHOST", "envhost"),
        ("PGPORT", "6000"),
        ("PGUSER", "envuser"),
        ("PGDATABASE", "envdb"),
        ("PGAPPNAME", "envapp"),
        ("PGCONNECT_TIMEOUT", "7"),
    ];
    let opts = parse("host=a user=u", &vars).unwrap();
    assert_eq!(endpoints(&opts), [(tcp("a"), None, 6000)]);
    assert_eq!(opts.get_user(), Some("u"));
    assert_eq!(opts.get_dbname(), Some("envdb"));
    assert_eq!(opts.get_application_name(), Some("envapp"));
    assert_eq!(opts.get_connect_timeout(), Some(Duration::from_secs(7)));

    let opts = parse("postgres://a:1/db", &vars).unwrap();
    assert_eq!(endpoints(&opts), [(tcp("a"), None, 1)]);
    assert_eq!(opts.get_user(), Some("envuser"));
    assert_eq!(opts.get_dbname(), Some("db"));
}

#[test]
fn from_environment_alone() {
    let opts = parse(
        "",
        &[("PGHOST", "h1,h2"), ("PGPORT", "1,2"), ("PGPASSWORD", "pw")],
    )
    .unwrap();
    assert_eq!(
        endpoints(&opts),
        [(tcp("h1"), None, 1), (tcp("h2"), None, 2)]
    );
    match opts.get_password() {
        Some(PasswordSource::Value(p)) => assert_eq!(p.expose(), "pw"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn defaults_without_environment() {
    let opts = parse("", &[]).unwrap();
    assert_eq!(endpoints(&opts), [(tcp("localhost"), None, 5432)]);
    assert_eq!(
        opts.get_user(),
        Some("tester"),
        "USER from the injected environment"
    );
    assert_eq!(
        opts.get_dbname(),
        Some("tester"),
        "dbname defaults to the user"
    );
    assert_eq!(opts.get_ssl_mode(), SslMode::Prefer);
    assert!(!opts.ssl_mode_is_explicit());
    assert_eq!(opts.get_connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
    assert_eq!(opts.get_channel_binding(), ChannelBinding::Prefer);
    assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Any);
    assert_eq!(opts.get_min_protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(opts.get_statement_cache_capacity(), 100);
    assert_eq!(opts.get_max_cacheable_statement_len(), 15360);
    assert_eq!(opts.get_scram_max_iterations(), 100_000);
    assert!(opts.get_keepalives());
    assert_eq!(
        opts.get_passfile().unwrap(),
        Path::new("/nonexistent/quarry-test-home/.pgpass")
    );
}

#[test]
fn default_host_is_the_first_socket_directory_holding_a_socket() {
    let opts = parse("port=5433", &[]).unwrap();
    let eps = opts
        .endpoints_with(&|p: &Path| p == Path::new("/var/run/postgresql/.s.PGSQL.5433"))
        .unwrap();
    assert_eq!(eps[0].host, Host::Unix("/var/run/postgresql".into()));
    assert_eq!(
        eps[0].unix_socket_path().unwrap(),
        Path::new("/var/run/postgresql/.s.PGSQL.5433")
    );
}

#[test]
fn user_falls_back_to_logname() {
    let env = |k: &str| (k == "LOGNAME").then(|| "logged".to_owned());
    let opts = ConnectOptions::parse_with_env("", env).unwrap();
    assert_eq!(opts.get_user(), Some("logged"));
}

#[test]
fn bad_environment_values_name_the_variable() {
    let err = parse("", &[("PGSSLMODE", "verify_full")]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("PGSSLMODE"), "{msg}");
    assert!(msg.contains("verify-full"), "lists the valid values: {msg}");
    // An explicit value wins, so the bad variable is never read.
    parse("sslmode=require", &[("PGSSLMODE", "verify_full")]).unwrap();
}

#[test]
fn sslmode_explicit_from_any_source() {
    assert!(parse("sslmode=prefer", &[]).unwrap().ssl_mode_is_explicit());
    let opts = parse("", &[("PGSSLMODE", "verify-full")]).unwrap();
    assert!(opts.ssl_mode_is_explicit());
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
    assert!(
        ConnectOptions::new()
            .ssl_mode(SslMode::Prefer)
            .ssl_mode_is_explicit()
    );
}

/// libpq's 001_uri.pl checks the default change; libpq refuses the weak modes when it
/// connects, we refuse them when parsing.
#[test]
fn sslrootcert_system_defaults_to_verify_full_and_refuses_weaker_modes() {
    let system = [("PGSSLROOTCERT", "system")];
    let opts = parse("postgresql://host", &system).unwrap();
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
    assert!(!opts.ssl_mode_is_explicit());
    parse("postgresql://host?sslmode=verify-full", &system).unwrap();
    for weak in ["disable", "allow", "prefer", "require", "verify-ca"] {
        let err = parse(&format!("postgresql://host?sslmode={weak}"), &system).unwrap_err();
        assert_eq!(
            err.message(),
            format!(
                "weak sslmode \"{weak}\" may not be used with sslrootcert=system (use \"verify-full\")"
            )
        );
    }
    let builder = ConnectOptions::new().ssl_root_cert_system();
    assert_eq!(builder.get_ssl_mode(), SslMode::VerifyFull);
    assert!(builder.ssl_mode(SslMode::Require).validate().is_err());
}

#[test]
fn direct_tls_needs_require_or_stronger() {
    for weak in ["disable", "allow", "prefer"] {
        let err = parse(&format!("sslnegotiation=direct sslmode={weak}"), &[]).unwrap_err();
        assert!(err.to_string().contains("sslnegotiation=direct"), "{err}");
    }
    assert!(
        parse("sslnegotiation=direct", &[]).is_err(),
        "the default prefer is too weak"
    );
    for ok in ["require", "verify-ca", "verify-full"] {
        let opts = parse(&format!("sslnegotiation=direct sslmode={ok}"), &[]).unwrap();
        assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Direct);
    }
}

#[test]
fn enumerated_keywords_reject_unknown_values() {
    for (input, fragment) in [
        ("sslmode=verify", "invalid sslmode value"),
        ("sslnegotiation=tls", "invalid sslnegotiation value"),
        ("channel_binding=yes", "invalid channel_binding value"),
        (
            "target_session_attrs=primary-ish",
            "invalid target_session_attrs value",
        ),
        (
            "load_balance_hosts=roundrobin",
            "invalid load_balance_hosts value",
        ),
        (
            "min_protocol_version=3.1",
            "invalid min_protocol_version value",
        ),
        ("gssencmode=maybe", "invalid gssencmode value"),
        ("sslmode=", "invalid sslmode value: \"\""),
        (
            "keepalives=yes",
            "invalid integer value \"yes\" for connection option \"keepalives\"",
        ),
        ("keepalives_count=-1", "out of range"),
        ("connect_timeout=soon", "invalid integer value"),
        ("command_timeout=-1", "non-negative"),
        ("port=0", "invalid port number: \"0\""),
        ("hostaddr=db.example", "invalid hostaddr"),
        ("hostaddr=fe80::1%eth0", "zone"),
        (
            "ssl_min_protocol_version=TLSv1.4",
            "invalid ssl_min_protocol_version value",
        ),
    ] {
        let err = parse(input, &[]).unwrap_err();
        assert!(err.to_string().contains(fragment), "{input}: {err}");
    }
}

#[test]
fn unsupported_features_are_refused_not_ignored() {
    for input in [
        "gssencmode=require",
        "sslcertmode=require",
        "requirepeer=postgres",
        "ssl_min_protocol_version=TLSv1.1",
    ] {
        let err = parse(input, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{input}: {err}");
    }
    parse("gssencmode=prefer", &[]).unwrap();
    parse("gssencmode=disable", &[]).unwrap();
    parse("sslcompression=1", &[]).unwrap();
}

#[test]
fn client_encoding_must_be_utf8() {
    parse("client_encoding=UTF8", &[]).unwrap();
    let err = parse("client_encoding=LATIN1", &[]).unwrap_err();
    assert!(err.to_string().contains("UTF8"), "{err}");
    // PGCLIENTENCODING is not read at all.
    parse("", &[("PGCLIENTENCODING", "LATIN1")]).unwrap();
}

#[test]
fn timeouts_and_keepalives() {
    let opts = parse(
        "connect_timeout=1 keepalives=0 keepalives_idle=30 keepalives_interval=5 \
         keepalives_count=3 tcp_user_timeout=1500 command_timeout=2.5",
        &[],
    )
    .unwrap();
    assert_eq!(
        opts.get_connect_timeout(),
        Some(Duration::from_secs(1)),
        "libpq 18 waits 1 s (libpq 17 and older waited 2)"
    );
    assert!(!opts.get_keepalives());
    assert_eq!(opts.get_keepalives_idle(), Some(Duration::from_secs(30)));
    assert_eq!(opts.get_keepalives_interval(), Some(Duration::from_secs(5)));
    assert_eq!(opts.get_keepalives_count(), Some(3));
    assert_eq!(
        opts.get_tcp_user_timeout(),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(
        opts.get_command_timeout(),
        Some(Duration::from_millis(2500))
    );
    for forever in ["connect_timeout=0", "connect_timeout=-3"] {
        assert_eq!(
            parse(forever, &[]).unwrap().get_connect_timeout(),
            None,
            "{forever}"
        );
    }
    assert_eq!(
        parse("command_timeout=0", &[])
            .unwrap()
            .get_command_timeout(),
        None
    );
}

#[test]
fn protocol_versions() {
    let opts = parse("min_protocol_version=3.2", &[]).unwrap();
    assert_eq!(
        opts.get_max_protocol_version(),
        ProtocolVersion::V3_2,
        "raised as in libpq 18"
    );
    let opts = parse("max_protocol_version=latest", &[]).unwrap();
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::LATEST);
    let err = parse("min_protocol_version=latest max_protocol_version=3.0", &[]).unwrap_err();
    assert_eq!(
        err.message(),
        "min_protocol_version is greater than max_protocol_version"
    );
}

#[test]
fn quarry_keywords() {
    let opts = parse(
        "statement_cache_capacity=0 max_cacheable_statement_len=100 scram_max_iterations=4096 \
         max_message_len=65536",
        &[],
    )
    .unwrap();
    assert_eq!(opts.get_statement_cache_capacity(), 0);
    assert_eq!(opts.get_max_cacheable_statement_len(), 100);
    assert_eq!(opts.get_scram_max_iterations(), 4096);
    assert_eq!(opts.get_max_message_len(), 65536);
    assert!(parse("scram_max_iterations=4095", &[]).is_err());
    assert!(parse("max_message_len=100", &[]).is_err());
}

#[test]
fn tls_keywords() {
    let opts = parse(
        "sslmode=verify-ca sslrootcert=/ca.pem sslcert=/c.pem sslkey=/k.pem sslsni=0 \
         ssl_min_protocol_version=TLSv1.3 channel_binding=require require_auth=scram-sha-256",
        &[],
    )
    .unwrap();
    assert_eq!(
        opts.get_ssl_root_cert(),
        Some(&SslRootCert::File("/ca.pem".into()))
    );
    assert_eq!(opts.get_ssl_cert(), Some(Path::new("/c.pem")));
    assert_eq!(opts.get_ssl_key(), Some(Path::new("/k.pem")));
    assert!(!opts.get_ssl_sni());
    assert_eq!(opts.get_ssl_min_protocol_version(), TlsVersion::Tls1_3);
    assert_eq!(opts.get_channel_binding(), ChannelBinding::Require);
    assert_eq!(opts.get_require_auth(), Some("scram-sha-256"));
    let err = parse(
        "ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2",
        &[],
    );
    assert!(err.is_err());
    let err = parse("channel_binding=require sslmode=disable", &[]).unwrap_err();
    assert!(err.to_string().contains("needs TLS"), "{err}");
}

#[test]
fn host_lists_pair_like_libpq() {
    let opts = parse("host=a,b,c port=1", &[]).unwrap();
    assert_eq!(
        endpoints(&opts),
        [
            (tcp("a"), None, 1),
            (tcp("b"), None, 1),
            (tcp("c"), None, 1)
        ]
    );
    let opts = parse("host=a,,/srv/pg port=1,,3", &[]).unwrap();
    assert_eq!(
        endpoints(&opts),
        [
            (tcp("a"), None, 1),
            (tcp("localhost"), None, 5432),
            (Host::Unix("/srv/pg".into()), None, 3)
        ]
    );
    let err = parse("host=a,b,c port=1,2", &[]).unwrap_err();
    assert_eq!(err.message(), "could not match 2 port numbers to 3 hosts");
    let err = parse("host=a,b hostaddr=10.0.0.1", &[]).unwrap_err();
    assert_eq!(
        err.message(),
        "could not match 2 host names to 1 hostaddr values"
    );
    let addr: IpAddr = "10.0.0.1".parse().unwrap();
    let opts = parse("host=db.example hostaddr=10.0.0.1", &[]).unwrap();
    assert_eq!(endpoints(&opts), [(tcp("db.example"), Some(addr), 5432)]);
    let opts = parse("postgres://%2Fvar%2Flib%2Fpostgresql/dbname", &[]).unwrap();
    assert_eq!(
        endpoints(&opts),
        [(Host::Unix("/var/lib/postgresql".into()), None, 5432)]
    );
    assert_eq!(
        opts.endpoints_with(&no_socket).unwrap()[0]
            .unix_socket_path()
            .unwrap(),
        Path::new("/var/lib/postgresql/.s.PGSQL.5432")
    );
}

/// pg8000's `unix_sock` names the socket file; libpq's host is its directory.
#[test]
fn socket_file_as_host_is_explained() {
    let err = parse("host=/var/run/postgresql/.s.PGSQL.5432", &[]).unwrap_err();
    assert!(
        err.to_string().contains("give its directory as host"),
        "{err}"
    );
}

/// As in libpq, a URI listing several hosts sets the port list too (`,`), so
/// `PGPORT` does not apply to them.
#[test]
fn multi_host_uri_without_ports_ignores_pgport() {
    let opts = parse("postgres://h1,h2/db", &[("PGPORT", "6000")]).unwrap();
    assert_eq!(
        endpoints(&opts),
        [(tcp("h1"), None, 5432), (tcp("h2"), None, 5432)]
    );
    let opts = parse("postgres://h1/db", &[("PGPORT", "6000")]).unwrap();
    assert_eq!(endpoints(&opts), [(tcp("h1"), None, 6000)]);
}

#[test]
fn options_and_server_settings_become_startup_parameters() {
    let opts = parse(
        // Inside a keyword string the backslash itself must be escaped, as in libpq.
        r"user=u dbname=d application_name=app options='-c search_path=a\\ b --work-mem=4MB'",
        &[],
    )
    .unwrap()
    .server_setting("work_mem", "8MB")
    .server_setting("Application_Name", "from-settings")
    .server_setting("statement_timeout", "5s")
    .server_setting("statement_timeout", "6s");
    opts.validate().unwrap();
    assert_eq!(
        opts.option_settings().unwrap(),
        [
            ("search_path".to_owned(), "a b".to_owned()),
            ("work_mem".to_owned(), "4MB".to_owned()),
        ]
    );
    let params = opts.startup_params().unwrap();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("user", "u"),
            ("database", "d"),
            ("application_name", "from-settings"),
            ("client_encoding", "UTF8"),
            ("options", r"-c search_path=a\ b --work-mem=4MB"),
            ("work_mem", "8MB"),
            ("statement_timeout", "6s"),
        ]
    );
    for reserved in ["user", "database", "options", "_pq_.x", "client_encoding"] {
        let value = if reserved == "client_encoding" {
            "LATIN1"
        } else {
            "x"
        };
        let err = ConnectOptions::new()
            .server_setting(reserved, value)
            .validate();
        assert!(err.is_err(), "{reserved}");
    }
    assert!(parse("options='-c client_encoding=SQL_ASCII'", &[]).is_err());
    assert!(parse("options=-B", &[]).is_err());
}

#[test]
fn fallback_application_name_applies_only_without_application_name() {
    let opts = parse("fallback_application_name=lib", &[]).unwrap();
    assert_eq!(opts.get_application_name(), Some("lib"));
    let opts = parse("fallback_application_name=lib application_name=app", &[]).unwrap();
    assert_eq!(opts.get_application_name(), Some("app"));
}

#[test]
fn builder_overrides_parsed_values() {
    let opts = parse("postgres://u@a:1,b:2/db?sslmode=require", &[])
        .unwrap()
        .host("c")
        .port(3)
        .dbname("other")
        .ssl_mode(SslMode::VerifyFull);
    opts.validate().unwrap();
    assert_eq!(endpoints(&opts), [(tcp("c"), None, 3)]);
    assert_eq!(opts.get_user(), Some("u"));
    assert_eq!(opts.get_dbname(), Some("other"));
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);

    let opts = ConnectOptions::new().hosts(["a", "b", "c"]).ports([1, 2]);
    assert!(opts.validate().is_err());
    let opts = ConnectOptions::new().user("nul\0byte");
    assert!(opts.validate().is_err());
}

#[test]
fn from_str_is_parse() {
    let opts: ConnectOptions = "postgres://user@host:5433/db?sslmode=verify-full"
        .parse()
        .unwrap();
    assert_eq!(opts.get_user(), Some("user"));
    assert_eq!(opts.get_ports(), &[Some(5433)]);
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
}

/// `Display` prints a URI that parses back to the same options.
#[test]
fn display_round_trips() {
    let inputs = [
        "postgres://u@h1:1,h2:2/my%20db?sslmode=verify-full&application_name=a%26b",
        "host=/var/run/postgresql,::1 port=5433 user='we ird' connect_timeout=0 keepalives=0",
        "host=a,b port=6000 hostaddr=10.0.0.1,::1 target_session_attrs=read-write",
        "options='-c search_path=x\\\\ y' statement_cache_capacity=0 command_timeout=1.5 \
         sslnegotiation=direct sslmode=require sslrootcert=/r.pem max_protocol_version=3.2",
        "postgres://:5433?channel_binding=disable&load_balance_hosts=random&require_auth=!password",
    ];
    for input in inputs {
        let a = parse(input, &[]).unwrap();
        let text = a.to_string();
        let b = parse(&text, &[]).unwrap_or_else(|e| panic!("{input} -> {text}: {e}"));
        assert_eq!(b.to_string(), text, "{input}");
        assert_eq!(endpoints(&a), endpoints(&b), "{input} -> {text}");
        assert_eq!(
            a.startup_params().unwrap(),
            b.startup_params().unwrap(),
            "{text}"
        );
    }
}

#[test]
fn password_callback_is_called() {
    let opts = ConnectOptions::new().password_callback(|| async { Ok("token".to_owned()) });
    let Some(PasswordSource::Callback(cb)) = opts.get_password() else {
        panic!("no callback")
    };
    let mut fut = cb.call();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(token)) => assert_eq!(token, "token"),
        other => panic!("{other:?}"),
    }
    assert!(format!("{opts:?}").contains("PasswordCallback"));
}

#[test]
fn options_can_be_shared_between_tasks() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<ConnectOptions>();
    send_sync::<Endpoint>();
}
