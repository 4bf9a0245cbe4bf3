-- The holder's controls: when a session last proved who it is (recent sign-in), when it was
-- last seen (idle limit, "Where you're signed in"), and where it came from.
--
-- authenticated_at: Unix seconds of the session's last password step, code step or
-- re-authentication; actions that change 2-step verification, the password or other
-- sessions need it within --recent-sign-in-seconds.
ALTER TABLE sessions ADD COLUMN authenticated_at INTEGER NOT NULL DEFAULT 0;
-- last_seen_at: Unix seconds of the session's last request, written at most once a minute;
-- a signed-in session unseen for --session-idle-minutes has ended.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
-- The browser's User-Agent (at most 256 characters) and the client address at sign-in.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN client_addr TEXT;

-- Sessions from before count as signed in and seen when they started.
UPDATE sessions SET authenticated_at = created_at, last_seen_at = created_at;
