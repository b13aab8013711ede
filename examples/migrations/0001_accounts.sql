-- The web example's table (also in schema.sql, which the other examples and
-- `cargo pgprepare` apply: IF NOT EXISTS lets both create it).
CREATE TABLE IF NOT EXISTS accounts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner   text NOT NULL,
    balance bigint NOT NULL CHECK (balance >= 0)
);
