-- Sign-in through external OpenID Connect identity providers: how an organizational account is
-- linked to its identity at its provider (users.identity_provider), and the sign-ins in progress.

-- The provider's `sub` claim for this account. Set by an administrator, or on the first
-- sign-in that matched `idp_email`; from then on only this subject signs in to the account.
ALTER TABLE users ADD COLUMN idp_subject TEXT;
-- A verified e-mail claim (lower-case) that links the account while `idp_subject` is unknown.
ALTER TABLE users ADD COLUMN idp_email TEXT;

-- One account per identity at a provider (NULLs, e.g. Team Server accounts, do not clash).
CREATE UNIQUE INDEX users_idp_subject ON users (identity_provider, idp_subject);
CREATE UNIQUE INDEX users_idp_email ON users (identity_provider, idp_email);

CREATE TABLE oidc_flows (
    -- SHA-256 (base64url) of the `state` sent to the provider; the state itself lives only in
    -- the browser (URL and a cookie), so a database copy cannot finish a sign-in
    state_hash     TEXT PRIMARY KEY,
    -- the identity provider's name, as configured
    provider       TEXT NOT NULL,
    -- the nonce and the PKCE code verifier (JSON), sealed with AES-256-GCM under the server key
    sealed_secrets TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    -- 10 minutes after creation; each flow is deleted when its answer comes back (single use)
    expires_at     INTEGER NOT NULL
);

CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
