-- 2-step verification: the associated device, setups in progress, and recovery codes.
-- Same schema as the SQLite migration of the same number.

CREATE TABLE two_step_devices (
    user_id          BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret    TEXT NOT NULL,
    last_step        BIGINT NOT NULL,
    failed_attempts  BIGINT NOT NULL DEFAULT 0,
    last_failed_at   BIGINT NOT NULL DEFAULT 0,
    locked           BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE two_step_setups (
    user_id        BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES two_step_devices (user_id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
