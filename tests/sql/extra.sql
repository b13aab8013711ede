-- Found relative to tests/quarry_test.rs (not in tests/fixtures/).
INSERT INTO users VALUES (3, 'carol', 'carol@example.com');
