-- Administrators run the accounts (docs/admin.md): disable an account, give a one-time
-- password the user must change, and list, count, filter and search 100,000 accounts and
-- 1,000,000 audit events one page at a time, with indexes.

-- Unix seconds when an administrator disabled the account; NULL while it may sign in.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
-- 1 when the password is a one-time password (a reset, or a new account): the holder must
-- choose a new one before anything else.
ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT 0;

-- The Users list is by name; each filter has an index in name order, so a page reads only
-- its own rows. (Name search: a range on the username's own unique index.)
CREATE INDEX users_role_name ON users (role, username);
CREATE INDEX users_organizational_name ON users (username) WHERE identity_provider IS NOT NULL;
CREATE INDEX users_team_server_name ON users (username) WHERE identity_provider IS NULL;
CREATE INDEX users_disabled_name ON users (username) WHERE disabled_at IS NOT NULL;
CREATE INDEX two_step_devices_locked ON two_step_devices (user_id) WHERE locked <> 0;

-- Audit search by name: the names' beginnings, newest first within a name.
CREATE INDEX audit_events_subject_name ON audit_events (subject_name, id);
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, id);
