-- Security keys and passkeys (WebAuthn). A security key alone turns 2-step verification on,
-- as the authenticator app does: the account's row in two_step_devices is its 2-step
-- verification (the code step's counters and lock, the recovery codes), and `has_app` says
-- whether an authenticator app is part of it. A row without the app keeps an empty
-- sealed_secret, which is never opened.
ALTER TABLE two_step_devices ADD COLUMN has_app BIGINT NOT NULL DEFAULT 1;

CREATE TABLE security_keys (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- removed with the account's 2-step verification
    user_id       BIGINT NOT NULL REFERENCES two_step_devices (user_id) ON DELETE CASCADE,
    -- the credential id the authenticator chose, base64url; one account only
    credential_id TEXT NOT NULL UNIQUE,
    -- the holder's name for it, e.g. 'YubiKey on my keyring'
    name          TEXT NOT NULL,
    -- the public key and flags as webauthn-rs stores a credential (JSON; no secret)
    credential    TEXT NOT NULL,
    -- 1: registered with user verification (a passkey: may sign in without the password)
    passkey       BIGINT NOT NULL,
    -- the authenticator's signature counter; an assertion must move it forward (or keep 0)
    sign_count    BIGINT NOT NULL,
    -- Unix seconds
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);

CREATE INDEX security_keys_by_user ON security_keys (user_id);

-- A ceremony between its start and its finish: the challenge and what webauthn-rs needs to
-- check the answer (JSON), bound to the session that asked (the handle names the purpose and
-- the session's token hash, or the passkey cookie's), expiring after a short time, deleted
-- when finished (spent once). In the database, so any instance can finish it.
CREATE TABLE webauthn_ceremonies (
    handle     TEXT PRIMARY KEY,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);
