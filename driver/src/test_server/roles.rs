//! The login roles every [`TempServer`](super::TempServer) has, one per authentication method.
//!
//! **Test-only credentials.** The passwords below are public constants so that tests need
//! nothing from the machine. They exist only inside throwaway clusters that listen on the
//! loopback interface; never reuse them anywhere else.
//!
//! Every role has `LOGIN` and `CREATEDB`. The `pg_hba.conf` rules (first match wins) are:
//!
//! | role | TCP without TLS | TCP with TLS | Unix socket |
//! |---|---|---|---|
//! | [`SUPERUSER`] | trust | trust | trust |
//! | [`TRUST`] | trust | trust | trust |
//! | [`PASSWORD`] | password (cleartext) | password | password |
//! | [`MD5`] | md5 | md5 | md5 |
//! | [`SCRAM`] | scram-sha-256 | scram-sha-256 | scram-sha-256 |
//! | [`SSL_ONLY`] | reject | scram-sha-256 | reject |
//! | [`NOSSL`] | scram-sha-256 | reject | scram-sha-256 |
//! | [`CERT`] | reject | cert (client certificate, CN = role name) | reject |
//! | any other role | scram-sha-256 | scram-sha-256 | scram-sha-256 |
//!
//! Lines added with [`Builder::hba_line`](super::Builder::hba_line) come before all of these.

/// A login role of the test cluster and how it authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    /// The role name.
    pub name: &'static str,
    /// The role's password (test-only, public), or `None` for trust and certificate roles.
    pub password: Option<&'static str>,
    /// The `pg_hba.conf` method that applies to this role over TCP (see the module table).
    pub method: &'static str,
}

/// The superuser `postgres`: trust over TCP and the Unix socket.
pub const SUPERUSER: Role = Role {
    name: "postgres",
    password: None,
    method: "trust",
};

/// `quarry_trust`: no password asked.
pub const TRUST: Role = Role {
    name: "quarry_trust",
    password: None,
    method: "trust",
};

/// `quarry_password`: the password is sent in clear text (`password` method).
pub const PASSWORD: Role = Role {
    name: "quarry_password",
    password: Some("quarry-password-pw"),
    method: "password",
};

/// `quarry_md5`: MD5 challenge; the password is stored as an MD5 hash.
pub const MD5: Role = Role {
    name: "quarry_md5",
    password: Some("quarry-md5-pw"),
    method: "md5",
};

/// `quarry_scram`: SCRAM-SHA-256; the password is stored as a SCRAM secret.
pub const SCRAM: Role = Role {
    name: "quarry_scram",
    password: Some("quarry-scram-pw"),
    method: "scram-sha-256",
};

/// `quarry_ssl_only`: SCRAM-SHA-256 over TLS; rejected without TLS.
pub const SSL_ONLY: Role = Role {
    name: "quarry_ssl_only",
    password: Some("quarry-ssl-only-pw"),
    method: "scram-sha-256",
};

/// `quarry_nossl`: SCRAM-SHA-256 without TLS; rejected over TLS.
pub const NOSSL: Role = Role {
    name: "quarry_nossl",
    password: Some("quarry-nossl-pw"),
    method: "scram-sha-256",
};

/// `quarry_cert`: TLS client-certificate authentication (`cert`), using
/// [`TempServer::client_cert_path`](super::TempServer::client_cert_path) and
/// [`TempServer::client_key_path`](super::TempServer::client_key_path).
pub const CERT: Role = Role {
    name: "quarry_cert",
    password: None,
    method: "cert",
};

/// Every role above except the superuser.
pub const ALL: [Role; 7] = [TRUST, PASSWORD, MD5, SCRAM, SSL_ONLY, NOSSL, CERT];

/// The SQL that creates the roles, run once when the cached template cluster is made.
///
/// `password_encryption` decides how a password is stored, so it is set before each role
/// whose method depends on it (PostgreSQL 13 defaults to md5, 14 and later to SCRAM).
pub(super) fn setup_sql() -> String {
    let mut sql = String::new();
    for role in ALL {
        let encryption = if role.method == "md5" {
            "md5"
        } else {
            "scram-sha-256"
        };
        sql.push_str(&format!("SET password_encryption = '{encryption}';\n"));
        match role.password {
            Some(password) => sql.push_str(&format!(
                "CREATE ROLE {} LOGIN CREATEDB PASSWORD '{password}';\n",
                role.name
            )),
            None => sql.push_str(&format!("CREATE ROLE {} LOGIN CREATEDB;\n", role.name)),
        }
    }
    sql
}

/// The `pg_hba.conf` rules for the roles, in order (see the module table).
pub(super) fn hba_rules(tls: bool, replication: bool) -> String {
    let mut out = String::from("# TYPE\tDATABASE\tUSER\tADDRESS\tMETHOD\n");
    let mut line = |kind: &str, database: &str, user: &str, method: &str| {
        if kind == "local" {
            out.push_str(&format!("local\t{database}\t{user}\t\t{method}\n"));
        } else {
            for address in ["127.0.0.0/8", "::1/128"] {
                out.push_str(&format!(
                    "{kind}\t{database}\t{user}\t{address}\t{method}\n"
                ));
            }
        }
    };
    if replication {
        line("local", "replication", "all", "trust");
        line("host", "replication", "all", "trust");
    }
    for role in [SUPERUSER, TRUST, PASSWORD, MD5, SCRAM] {
        line("local", "all", role.name, role.method);
        line("host", "all", role.name, role.method);
    }
    if tls {
        line("hostssl", "all", SSL_ONLY.name, SSL_ONLY.method);
    }
    line("host", "all", SSL_ONLY.name, "reject");
    line("local", "all", SSL_ONLY.name, "reject");
    line("hostnossl", "all", NOSSL.name, NOSSL.method);
    line("host", "all", NOSSL.name, "reject");
    line("local", "all", NOSSL.name, NOSSL.method);
    if tls {
        line("hostssl", "all", CERT.name, CERT.method);
    }
    line("host", "all", CERT.name, "reject");
    line("local", "all", CERT.name, "reject");
    line("local", "all", "all", "scram-sha-256");
    line("host", "all", "all", "scram-sha-256");
    out
}
