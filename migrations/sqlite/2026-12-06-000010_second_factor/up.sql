-- Whether the account signs in with a second factor: true exactly when it has a confirmed
-- TOTP credential below. Kept on the user row, written in the same transaction as the
-- credential, so that every request that checks a user reads it with no extra query.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether the session was completed with a second factor (later features may demand it).
ALTER TABLE sessions ADD COLUMN mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- One TOTP secret per account, sealed with the server's MFA key (ChaCha20-Poly1305); an
-- enrolment waits unconfirmed until a code made from it is sent. `last_step`: the latest
-- 30-second step whose code was accepted, so that no code is accepted twice.
CREATE TABLE totp_credentials (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT,
    created_at TIMESTAMP NOT NULL
);

-- Single-use recovery codes, kept only as a keyed hash (HMAC-SHA-256 under the MFA key).
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- A login waiting for its second step: the right password was given. Only a SHA-256 of its
-- token is kept; it carries the throttle keys the password step counted against, so the
-- codes count against the same ones.
CREATE TABLE mfa_challenges (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_key TEXT NOT NULL,
    address_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
