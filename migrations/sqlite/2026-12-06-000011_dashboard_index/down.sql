CREATE INDEX users_role_active ON users (role, active);
DROP INDEX users_role_active_mfa;
