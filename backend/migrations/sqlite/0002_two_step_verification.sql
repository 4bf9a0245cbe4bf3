-- 2-step verification: the associated device, setups in progress, and recovery codes.

CREATE TABLE two_step_devices (
    -- exactly one device per account
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- the TOTP secret, sealed with AES-256-GCM under the server key (base64 of nonce||ciphertext)
    sealed_secret    TEXT NOT NULL,
    -- highest time step accepted so far; codes at or below it are replays
    last_step        INTEGER NOT NULL,
    -- consecutive wrong codes, when the last one came, and whether the code step is locked
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    last_failed_at   INTEGER NOT NULL DEFAULT 0,
    locked           INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);

CREATE TABLE two_step_setups (
    -- a setup in progress; a new setup replaces the old one
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES two_step_devices (user_id) ON DELETE CASCADE,
    -- Argon2id PHC string of the normalised code
    code_hash  TEXT NOT NULL,
    used_at    INTEGER
);

CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
