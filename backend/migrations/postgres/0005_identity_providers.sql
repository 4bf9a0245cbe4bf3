-- Sign-in through external OpenID Connect identity providers: how an organizational account is
-- linked to its identity at its provider, and the sign-ins in progress. Same schema as the
-- SQLite migration of the same number, which explains each column.

ALTER TABLE users ADD COLUMN idp_subject TEXT;
ALTER TABLE users ADD COLUMN idp_email TEXT;

CREATE UNIQUE INDEX users_idp_subject ON users (identity_provider, idp_subject);
CREATE UNIQUE INDEX users_idp_email ON users (identity_provider, idp_email);

CREATE TABLE oidc_flows (
    state_hash     TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    sealed_secrets TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
