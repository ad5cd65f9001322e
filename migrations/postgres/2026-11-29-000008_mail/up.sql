-- Mail waiting to go out, in the database so that it survives a restart and any instance
-- can send it. The message is kept only until it is sent (it may hold a one-time link).
CREATE TABLE mail_queue (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- An instance sending it holds it until then; after, another may try.
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX mail_queue_due ON mail_queue (sent_at, next_attempt_at);

-- One-time links (password reset): only a SHA-256 of the token is kept; one live token per
-- purpose and user.
CREATE TABLE one_time_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, purpose)
);
