-- Whether the account's address is proved (a link mailed to it was used), and an address
-- change waiting for its own proof. Accounts from before verification existed count as
-- verified: turning `email_verification = "required"` on must not lock them out.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN pending_email TEXT;
UPDATE users SET email_verified = TRUE;
