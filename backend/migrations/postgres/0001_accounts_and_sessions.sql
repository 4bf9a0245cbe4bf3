-- Accounts and sessions (the foundation). Same schema as the SQLite migration of the same
-- number; integers are BIGINT so both databases hand back i64.

CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    password_hash     TEXT,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'administrator')),
    identity_provider TEXT,
    created_at        BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage       TEXT NOT NULL CHECK (stage IN ('signed_in', 'verifying')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
