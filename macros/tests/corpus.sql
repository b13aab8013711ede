-- The nullability corpus's schema and data (macros/src/query/tests/corpus.rs): every
-- column that can be NULL is NULL in some row, every array column holds a NULL
-- element somewhere, so a column typed never-NULL that can be NULL fails the
-- corpus test with a real NULL.

CREATE DOMAIN nn_text AS text NOT NULL;
CREATE DOMAIN pos_int AS integer CHECK (VALUE > 0);

CREATE TABLE authors (
    id      integer PRIMARY KEY,
    name    text NOT NULL,
    bio     text,
    born    date,
    nick    nn_text,
    rating  pos_int,
    tags    text[],
    meta    jsonb
);

CREATE TABLE books (
    id         integer PRIMARY KEY,
    author_id  integer REFERENCES authors (id),
    title      text NOT NULL,
    summary    text,
    pages      integer,
    price      numeric,
    published  timestamptz NOT NULL DEFAULT now(),
    genres     text[] NOT NULL DEFAULT '{}',
    scores     integer[] CHECK (array_position(scores, NULL) IS NULL),
    data       jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE reviews (
    id       integer PRIMARY KEY,
    book_id  integer NOT NULL REFERENCES books (id),
    stars    integer NOT NULL,
    body     text
);

CREATE VIEW author_books AS
    SELECT a.id AS author_id, a.name, b.title, b.summary
    FROM authors a LEFT JOIN books b ON b.author_id = a.id;

CREATE VIEW book_counts AS
    SELECT a.id, a.name, count(b.id) AS n, max(b.pages) AS longest
    FROM authors a LEFT JOIN books b ON b.author_id = a.id
    GROUP BY a.id, a.name;

CREATE FUNCTION books_of(author integer)
    RETURNS TABLE (title text, summary text)
    LANGUAGE sql STABLE
    AS 'SELECT title, summary FROM books WHERE author_id = author';

-- A set-returning SQL function is inlined into the calling query, sublinks and all:
-- before PostgreSQL 17 its `IN (subquery)` prints as a bare `(SubPlan n)`.
CREATE FUNCTION bio_counted()
    RETURNS TABLE (m boolean)
    LANGUAGE sql STABLE
    AS 'SELECT a.bio IN (SELECT count(*)::text FROM books b WHERE b.author_id = a.id) FROM authors a';

-- The same through a view that calls it.
CREATE VIEW bio_counted_view AS SELECT m FROM bio_counted();

CREATE FUNCTION maybe_upper(t text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN t = ''x'' THEN NULL ELSE upper(t) END';

INSERT INTO authors VALUES
    (1, 'Ann', 'writes', '1970-01-02', 'annie', 3, '{a,b}', '{"k": 1}'),
    (2, 'Bob', NULL, NULL, 'bobby', NULL, '{c,NULL}', NULL),
    (3, 'Cid', 'quiet', '1980-05-06', 'cid', 1, NULL, '{"k": null}'),
    (4, 'x', NULL, 'infinity', 'x', 2, '{}', '[]');
-- A NOT NULL domain column holding NULL: the CREATE DOMAIN page's own example.
INSERT INTO authors (id, name, nick) VALUES (5, 'Dee', (SELECT nick FROM authors WHERE false));

INSERT INTO books VALUES
    (1, 1, 'One', 'first', 100, 9.5, '2001-01-01', '{sf,NULL}', '{1,2}', '{"a": 1}'),
    (2, 1, 'Two', NULL, NULL, NULL, 'infinity', '{}', NULL, '{"a": null}'),
    (3, 2, 'Three', 'third', 300, 30, '-infinity', '{drama}', '{}', '{}'),
    (4, NULL, 'Orphan', NULL, 50, 1, '2020-02-02', '{NULL}', '{5}', '[1, null]');

INSERT INTO reviews VALUES
    (1, 1, 5, 'great'),
    (2, 1, 3, NULL),
    (3, 3, 1, 'bad');
