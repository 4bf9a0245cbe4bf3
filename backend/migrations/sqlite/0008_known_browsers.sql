-- Known browsers (OWASP "device cookies"), kept on the server: the cookie a browser gets
-- once a whole sign-in is done names a row here, so it can be ended. A password attempt from
-- a known browser of the typed account is counted under that browser and skips the
-- per-address window; at most 10 per account (the oldest goes); a password change, a reset
-- and the removal of 2-step verification end them all.
--
-- The signed cookies of before named no row: they are no longer read (their counters in
-- attempt_counters, keyed 'device:', age out with the daily sweep).
CREATE TABLE known_browsers (
    -- SHA-256 of the cookie's random 256-bit token, base64url
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Unix seconds; a known browser lasts 90 days from its first sign-in
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);

CREATE INDEX known_browsers_by_user ON known_browsers (user_id, created_at);
