-- Limits that count an attempt before the work (see backend/src/policy.rs and guards.rs).
--
-- Wrong passwords were counted per typed username, as typed: a password typed into the
-- username field was stored. They are now counted per key: 'name:' and an HMAC of the typed
-- username under a key derived from the server key, or 'device:' and the id of the browser's
-- device cookie. The old rows cannot be re-keyed here (the key is not in the database), and
-- they hold typed text, so they are dropped: every name starts again with its free tries.
DROP TABLE password_failures;

CREATE TABLE attempt_counters (
    counter_key TEXT PRIMARY KEY,
    -- consecutive failures, counting attempts reserved and still being checked
    failures INTEGER NOT NULL,
    -- Unix seconds of the last counted attempt; rows a day old are swept
    last_at  INTEGER NOT NULL
);

CREATE INDEX attempt_counters_last_at ON attempt_counters (last_at);

-- Wrong recovery codes are counted apart from wrong app codes, so a locked code step can
-- still be opened with a right recovery code at once.
ALTER TABLE two_step_devices ADD COLUMN recovery_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE two_step_devices ADD COLUMN recovery_last_failed_at INTEGER NOT NULL DEFAULT 0;

-- recovery_codes.code_hash: new codes are stored as 'hmac-sha256$' and an HMAC under a key
-- derived from the server key (no Argon2: a recovery code carries 50 random bits). Rows
-- written before hold an Argon2id PHC string; they keep working until used or replaced.

-- The audit log named the typed text of failed sign-ins for names that are not accounts;
-- those events now say "unknown account" (with a keyed reference in the detail).
UPDATE audit_events SET subject_name = 'unknown account'
WHERE subject_id IS NULL AND event = 'sign_in_failed_password';

-- The periodic sweep deletes by these.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX audit_events_at ON audit_events (at);

-- (0001 says the session token hash is hex; it is base64url without padding.)
