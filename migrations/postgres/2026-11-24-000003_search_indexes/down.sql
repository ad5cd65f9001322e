DROP INDEX users_last_login_at_id;
DROP INDEX users_created_at_id;
CREATE INDEX users_created_at ON users (created_at);
DROP INDEX users_name_lower;
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN email TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "default";
