-- The audit log: who did what to whom, when and from where. No foreign keys, so events
-- outlive the accounts they name.

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    -- see twostep_shared::api::AuditEventKind (snake_case)
    event         TEXT NOT NULL,
    -- who acted: a user, 'cli' for the server's command line, NULL when nobody signed in
    actor_id      INTEGER,
    actor_name    TEXT,
    -- whose account it concerns
    subject_id    INTEGER,
    subject_name  TEXT,
    client_addr   TEXT,
    detail        TEXT
);

CREATE INDEX audit_events_subject ON audit_events (subject_id, id);
