-- Organizational sign-in holds the guarantees of a password sign-in (see
-- docs/identity-providers.md).

-- A sign-in in progress remembers the client address it was started from (the limit key:
-- IPv4 address or IPv6 /64, as text) and takes one of that address's few places (`slot`):
-- the unique index caps the flows per address on every instance at once. A flow whose time
-- is up gives its place back (slot NULL) while it is kept to say "expired".
ALTER TABLE oidc_flows ADD COLUMN client_key TEXT;
ALTER TABLE oidc_flows ADD COLUMN slot INTEGER;
CREATE UNIQUE INDEX oidc_flows_slots ON oidc_flows (client_key, slot);
-- The SHA-256 (base64url) of the session token of the browser that started the flow (the
-- start is a same-site request, so its session cookie comes along; the callback, arriving
-- from the provider's site, has none): that session ends when the new one begins.
ALTER TABLE oidc_flows ADD COLUMN started_by TEXT;

-- The issuer an organizational account's link was made with. A provider whose `issuer`
-- changed under the same name no longer signs in to it until an operator relinks the
-- account or confirms the new issuer. NULL (links made before this migration, or by a CLI
-- that was not given the providers file): the issuer is recorded at the next sign-in.
ALTER TABLE users ADD COLUMN idp_issuer TEXT;
