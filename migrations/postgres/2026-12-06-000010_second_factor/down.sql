DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
ALTER TABLE sessions DROP COLUMN mfa;
ALTER TABLE users DROP COLUMN mfa_enabled;
