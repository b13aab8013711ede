-- Used by query_file! in tests/ui/pass/query.rs.
SELECT id, name, email
FROM users
WHERE id = $1
