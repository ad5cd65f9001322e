-- Personal access tokens (API.md §10): a program's long-lived credential. Only a SHA-256 of
-- the token is kept, looked up through its unique index on every request that sends one (a
-- token carries 240 random bits, so an unsalted fast hash is enough; no bcrypt per request).
-- `last_used_at` is written at most once a minute per token, not on every request.
CREATE TABLE personal_tokens (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX personal_tokens_user_id ON personal_tokens (user_id);
