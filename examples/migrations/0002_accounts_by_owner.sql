-- no-transaction
-- CREATE INDEX CONCURRENTLY does not block writers, and refuses to run in a
-- transaction: the first line above makes the migrator run this file outside one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_by_owner ON accounts (owner, id);
