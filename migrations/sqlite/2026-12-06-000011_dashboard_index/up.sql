-- The dashboard counts accounts by role, state and second factor in one pass over this
-- index alone (it also serves every filter the old (role, active) index did).
CREATE INDEX users_role_active_mfa ON users (role, active, mfa_enabled);
DROP INDEX users_role_active;
