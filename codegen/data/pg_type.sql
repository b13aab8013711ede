-- Built-in types for quarry-codegen. Run against a freshly initdb'd cluster;
-- see codegen/README.md for the exact command and the version used.
--
-- OIDs below 10000 are assigned by hand in PostgreSQL's catalog sources and
-- stay fixed across releases. The array types of a few catalog row types
-- (pg_database, pg_authid, ...) get OIDs >= 10000 assigned by genbki at build
-- time; those are not stable, so their typarray is written as 0.
COPY (
    SELECT t.oid,
           t.typname,
           CASE WHEN t.typarray < 10000 THEN t.typarray ELSE 0 END AS typarray,
           t.typelem,
           t.typtype,
           t.typcategory,
           t.typlen,
           t.typsubscript,
           coalesce(r.rngsubtype, 0) AS rngsubtype,
           coalesce(r.rngmultitypid, 0) AS rngmultitypid,
           format_type(t.oid, NULL) AS sql_name
    FROM pg_type t
    LEFT JOIN pg_range r ON r.rngtypid = t.oid
    WHERE t.oid < 10000
    ORDER BY t.oid
) TO STDOUT WITH (FORMAT text, HEADER true);
