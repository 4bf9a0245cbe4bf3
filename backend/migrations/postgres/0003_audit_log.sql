-- The audit log. Same schema as the SQLite migration of the same number.

CREATE TABLE audit_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT NOT NULL,
    event         TEXT NOT NULL,
    actor_id      BIGINT,
    actor_name    TEXT,
    subject_id    BIGINT,
    subject_name  TEXT,
    client_addr   TEXT,
    detail        TEXT
);

CREATE INDEX audit_events_subject ON audit_events (subject_id, id);
