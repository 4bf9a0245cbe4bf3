-- Administrators run the accounts (docs/admin.md). Same schema as the SQLite migration of the
-- same number.

ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN password_change_required BIGINT NOT NULL DEFAULT 0;

-- Names compare byte by byte, as on SQLite: the list has the same order on both databases,
-- and a search for the beginning of a name is a range on an index.
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN subject_name TYPE TEXT COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN actor_name TYPE TEXT COLLATE "C";

CREATE INDEX users_role_name ON users (role, username);
CREATE INDEX users_organizational_name ON users (username) WHERE identity_provider IS NOT NULL;
CREATE INDEX users_team_server_name ON users (username) WHERE identity_provider IS NULL;
CREATE INDEX users_disabled_name ON users (username) WHERE disabled_at IS NOT NULL;
CREATE INDEX two_step_devices_locked ON two_step_devices (user_id) WHERE locked <> 0;

CREATE INDEX audit_events_subject_name ON audit_events (subject_name, id);
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, id);
