-- Needs 001 first.
ALTER TABLE accounts ADD COLUMN balance int8 NOT NULL DEFAULT 0;
INSERT INTO accounts (id, balance) VALUES (1, 100);
