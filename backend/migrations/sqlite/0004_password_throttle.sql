-- Consecutive wrong passwords per typed username (known or not, so the throttle does not
-- reveal which usernames exist), shared by every server instance.

CREATE TABLE password_failures (
    username        TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failed_at  INTEGER NOT NULL
);
