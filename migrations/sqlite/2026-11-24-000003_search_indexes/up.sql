-- Indexes for the admin console at 100,000 users: prefix search on names, sorting by last
-- login. SQLite already compares text byte by byte, as the PostgreSQL side now does too.
CREATE INDEX users_name_lower ON users (lower(name));
-- Sorted listings break ties by id so that pages never overlap: the indexes carry it.
DROP INDEX users_created_at;
CREATE INDEX users_created_at_id ON users (created_at, id);
CREATE INDEX users_last_login_at_id ON users (last_login_at, id);
