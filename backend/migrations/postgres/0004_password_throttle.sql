-- Consecutive wrong passwords per typed username (known or not, so the throttle does not
-- reveal which usernames exist), shared by every server instance. Same schema as the SQLite migration of the same number.

CREATE TABLE password_failures (
    username        TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failed_at  BIGINT NOT NULL
);
