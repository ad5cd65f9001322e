-- Generated secrets shared by every instance on one database (used on PostgreSQL; SQLite
-- keeps them as files in data_dir, but the schema stays the same on both backends).
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
