-- Indexes for the admin console at 100,000 users: prefix search on names, sorting by last
-- login. Names compare byte by byte ("C"), as on SQLite, so that a prefix search is an index
-- range (name >= 'ab' AND name < 'ac') whatever the server's locale.
DROP INDEX users_username_lower;
DROP INDEX users_email;
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_name_lower ON users (lower(name));
-- Sorted listings break ties by id so that pages never overlap: the indexes carry it.
DROP INDEX users_created_at;
CREATE INDEX users_created_at_id ON users (created_at, id);
CREATE INDEX users_last_login_at_id ON users (last_login_at, id);
