-- The schema of the examples. `.pgprepare/` at the repository root describes
-- their queries against it:
--   cargo pgprepare --temp-server --schema examples/schema.sql
CREATE TABLE IF NOT EXISTS users (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name  text NOT NULL,
    email text
);
CREATE TABLE IF NOT EXISTS orders (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    total   integer NOT NULL
);
