-- Failed logins and sign-ups counted per account and per client address, in the database so
-- that every instance sees the same counts. Keys: "account:<id or typed name>", "ip:<addr>",
-- "signup:<addr>".
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    lockouts INTEGER NOT NULL DEFAULT 0
);
