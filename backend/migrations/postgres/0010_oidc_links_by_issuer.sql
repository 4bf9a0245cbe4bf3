-- Organizational sign-in holds the guarantees of a password sign-in. Same schema as the
-- SQLite migration of the same number, which explains each column.

ALTER TABLE oidc_flows ADD COLUMN client_key TEXT;
ALTER TABLE oidc_flows ADD COLUMN slot BIGINT;
CREATE UNIQUE INDEX oidc_flows_slots ON oidc_flows (client_key, slot);
ALTER TABLE oidc_flows ADD COLUMN started_by TEXT;

ALTER TABLE users ADD COLUMN idp_issuer TEXT;
