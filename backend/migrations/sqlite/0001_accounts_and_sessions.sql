-- Accounts and sessions (the foundation).
-- Times are Unix seconds (INTEGER) so the same queries run on SQLite and PostgreSQL.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- lower-case, checked by twostep_shared::input::Username
    username          TEXT NOT NULL UNIQUE,
    -- Argon2id PHC string; NULL for organizational accounts, which have no password here
    password_hash     TEXT,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'administrator')),
    -- NULL for a Team Server account; the identity provider's name for an organizational one
    identity_provider TEXT,
    created_at        INTEGER NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the 256-bit token in the cookie; the token itself is never stored
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'signed_in', or 'verifying': password accepted, waiting for the verification code
    stage       TEXT NOT NULL CHECK (stage IN ('signed_in', 'verifying')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
