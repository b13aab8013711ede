-- The schema of the examples.
--
-- Each example applies this file when it starts. Every statement is idempotent
-- (`IF NOT EXISTS`, or a DO block that ignores `duplicate_object`), so running
-- an example twice against the same $DATABASE_URL works.
--
-- The `query!` macros check the examples' SQL against this schema when they
-- compile. With no $DATABASE_URL they read `.pgprepare/` at the repository root,
-- which is written (and checked, in CI) from this file alone:
--   cargo run -p cargo-pgprepare -- pgprepare --temp-server --schema examples/schema.sql

-- quickstart, web, replicas ----------------------------------------------------
CREATE TABLE IF NOT EXISTS users (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name  text NOT NULL,
    email text
);

-- transactions -------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS accounts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner   text NOT NULL,
    -- An overdraft breaks this constraint: the savepoint part of the example uses it.
    balance bigint NOT NULL CHECK (balance >= 0)
);

-- custom_types: an enum, a composite, and a table that uses both and arrays of both.
-- (PostgreSQL has no CREATE TYPE IF NOT EXISTS.)
DO $$ BEGIN
    CREATE TYPE shipment_status AS ENUM ('pending', 'in_transit', 'delivered');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
    CREATE TYPE address AS (street text, city text, postcode text);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS shipments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status      shipment_status NOT NULL DEFAULT 'pending',
    -- Every status the shipment has been in, oldest first.
    -- The CHECK tells query! no element is NULL: `Vec<ShipmentStatus>`, not
    -- `Vec<Option<ShipmentStatus>>`.
    history     shipment_status[] NOT NULL DEFAULT '{pending}'
                CHECK (array_position(history, NULL) IS NULL),
    destination address NOT NULL,
    -- Depots on the way.
    stops       address[] NOT NULL DEFAULT '{}'
                CHECK (array_position(stops, NULL) IS NULL)
);
