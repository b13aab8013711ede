-- The schema the query macros' tests are checked against.
-- `cargo pgprepare --temp-server --schema macros/tests/schema.sql` applies it to a
-- throwaway server to write macros/tests/.pgprepare/.

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
-- Mapped to `String` in tests/quarry.toml: takes `&str` arguments too.
CREATE DOMAIN email_text AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE address AS (street text, city text);

CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    age        integer,
    active     boolean NOT NULL DEFAULT true,
    score      double precision NOT NULL DEFAULT 0,
    balance    numeric,
    avatar     bytea,
    settings   jsonb NOT NULL DEFAULT '{}',
    current    mood,
    home       address,
    rank       positive_int
);

CREATE TABLE orders (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id  bigint NOT NULL REFERENCES users (id),
    total    integer NOT NULL,
    note     text,
    ref      uuid
);

CREATE TABLE tags (
    id    integer PRIMARY KEY,
    label varchar(40) NOT NULL
);

CREATE TABLE order_tags (
    order_id bigint NOT NULL REFERENCES orders (id),
    tag_id   integer NOT NULL REFERENCES tags (id),
    PRIMARY KEY (order_id, tag_id)
);

CREATE VIEW active_users AS
    SELECT id, name, email FROM users WHERE active;

CREATE VIEW user_totals AS
    SELECT u.id, u.name, sum(o.total) AS total, count(o.id) AS n
    FROM users u LEFT JOIN orders o ON o.user_id = u.id
    GROUP BY u.id, u.name;
