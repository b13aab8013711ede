#!/usr/bin/env python3
"""Records how libpq 18 ends each case of tests/fixtures/libpq18_outcomes.txt.

The reference for tests/libpq_diff.rs, run by hand (never by `cargo test`) when cases
are added or libpq changes:

    python3 -m venv /tmp/pq && /tmp/pq/bin/pip install 'psycopg[binary]'
    /tmp/pq/bin/python scripts/libpq-diff.py

psycopg's binary wheel carries libpq 18; the script calls libpq directly
(`psycopg.pq.PGconn.connect`), not psycopg's `connect()`, which tries several hosts by
itself. The servers are the test's own: the script runs
`cargo test --test libpq_diff serve_for_the_reference_script` with QUARRY_LIBPQ_SERVE
set, reads the ports and files it writes, runs every case, rewrites the table's libpq
column, and removes the file so that the servers stop.
"""

import os
import ctypes
import re
import select
import subprocess
import sys
import tempfile
import time

from psycopg import pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "tests", "fixtures", "libpq18_outcomes.txt")

CLIENT_MESSAGES = [
    (r"server is (not )?in hot standby mode|session is (not )?read-only", "tsa"),
    (r"timeout expired", "timeout"),
    (r"Connection refused", "io"),
    (r"SSL|certificate|server does not support SSL", "tls"),
    (r"require_auth|channel binding|no password supplied|password is required|"
     r"authentication method requirement", "auth"),
]


def classify(message, port_names, sqlstate=None):
    attempts = re.findall(r'connection to server at "[^"]*", port (\d+) failed: (.*)', message)
    if not attempts:
        return "err config"
    port, first_line = attempts[-1]
    # The reason of the last attempt: its line and what follows up to the next attempt.
    tail = message[message.rfind('port %s failed: ' % port):]
    server = port_names.get(port, "port " + port)
    if "FATAL" in first_line or "ERROR" in first_line:
        return "err %s @%s" % (sqlstate() if sqlstate else "?", server)
    for pattern, cls in CLIENT_MESSAGES:
        if re.search(pattern, tail):
            return "err %s @%s" % (cls, server)
    return "err ? @%s (%s)" % (server, first_line)


def libpq():
    """The libpq psycopg loaded (the wheel's own copy), for what psycopg does not wrap."""
    import psycopg_binary
    libs = os.path.join(os.path.dirname(os.path.dirname(psycopg_binary.__file__)),
                        "psycopg_binary.libs")
    for name in sorted(os.listdir(libs)):
        if name.startswith("libpq"):
            return ctypes.CDLL(os.path.join(libs, name))
    sys.exit("no libpq in " + libs)


def sqlstate_of_last_attempt(conninfo):
    """The SQLSTATE the server sent to end the attempt. libpq keeps it to itself, but
    shows it in the message at the VERBOSE error verbosity, which can only be set on a
    connection started with PQconnectStart and polled by hand."""
    conn = pq.PGconn.connect_start(conninfo)
    try:
        libpq().PQsetErrorVerbosity(ctypes.c_void_p(conn.pgconn_ptr), 2)  # PQERRORS_VERBOSE
        deadline = time.time() + 30
        while time.time() < deadline:
            status = conn.connect_poll()
            if status in (pq.PollingStatus.OK, pq.PollingStatus.FAILED):
                break
            wait = [conn.socket] if status == pq.PollingStatus.READING else []
            write = [conn.socket] if status == pq.PollingStatus.WRITING else []
            select.select(wait, write, [], 1)
        else:
            return "timeout?"
        codes = re.findall(r"(?:FATAL|ERROR):  ([0-9A-Z]{5}): ", conn.error_message.decode(errors="replace"))
        return codes[-1] if codes else "?"
    finally:
        conn.finish()


def fill(template, values):
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], template)


def run_case(env, conninfo, values, port_names):
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith("PG"):
                del os.environ[key]
        os.environ["HOME"] = values["home"]
        if env != "-":
            for pair in env.split():
                key, value = pair.split("=", 1)
                os.environ[key] = fill(value, values)
        conn = pq.PGconn.connect(fill(conninfo, values).encode())
        try:
            if conn.status == pq.ConnStatus.OK:
                tls = "tls" if conn.ssl_in_use else "plain"
                # The server behind any pooler, as the Rust test sees it.
                port = conn.exec_(b"SELECT inet_server_port()").get_value(0, 0).decode()
                return "ok %s @%s" % (tls, port_names.get(port, port))
            return classify(conn.error_message.decode(errors="replace"), port_names,
                            lambda: sqlstate_of_last_attempt(fill(conninfo, values).encode()))
        finally:
            conn.finish()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main():
    print("libpq", pq.version(), file=sys.stderr)
    if pq.version() // 10000 != 18:
        sys.exit("this table records libpq 18; this psycopg carries libpq %d" % pq.version())
    handoff = os.path.join(tempfile.mkdtemp(), "servers")
    env = dict(os.environ, QUARRY_LIBPQ_SERVE=handoff)
    server = subprocess.Popen(
        ["cargo", "test", "--features", "temp-server", "--test", "libpq_diff", "--",
         "--exact", "serve_for_the_reference_script"],
        cwd=ROOT, env=env)
    try:
        values = {}
        for _ in range(1800):
            if os.path.exists(handoff):
                with open(handoff) as f:
                    values = dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
                if "ready" in values:
                    break
            if server.poll() is not None:
                sys.exit("the test binary ended before the servers were up")
            time.sleep(1)
        port_names = {}
        for name, value in values.items():
            if value.isdigit() and "." not in name and name != "ready":
                port_names[value] = name
        lines = open(TABLE).read().splitlines()
        out = []
        changed = 0
        for line in lines:
            if not line.strip() or line.startswith("#"):
                out.append(line)
                continue
            fields = line.split(" | ")
            outcome = run_case(fields[1], fields[2], values, port_names)
            if outcome != fields[3]:
                changed += 1
                print("%s: %s -> %s" % (fields[0], fields[3], outcome), file=sys.stderr)
            fields[3] = outcome
            out.append(" | ".join(fields))
        with open(TABLE, "w") as f:
            f.write("\n".join(out) + "\n")
        print("%d cases, %d changed" % (len(out), changed), file=sys.stderr)
    finally:
        if os.path.exists(handoff):
            os.remove(handoff)
        server.wait(timeout=120)


if __name__ == "__main__":
    main()
