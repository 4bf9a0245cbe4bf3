-- How many accounts there are, and how many have a 2-step device, kept by triggers (see the
-- SQLite migration of the same number): the Users page reads one row instead of counting
-- 100,000 accounts on every page. Triggers per statement, with the rows it added or removed:
-- a row trigger would update the one row once per account, and 100,000 updates of one row in
-- one transaction each walk the chain of its earlier versions.

CREATE TABLE account_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    users BIGINT NOT NULL,
    using_two_step BIGINT NOT NULL
);
INSERT INTO account_counts (id, users, using_two_step)
VALUES (1, (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM two_step_devices));

CREATE FUNCTION account_counts_users_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts SET users = users + (SELECT COUNT(*) FROM changed) WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION account_counts_users_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts SET users = users - (SELECT COUNT(*) FROM changed) WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION account_counts_devices_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts SET using_two_step = using_two_step + (SELECT COUNT(*) FROM changed)
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION account_counts_devices_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts SET using_two_step = using_two_step - (SELECT COUNT(*) FROM changed)
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER account_counts_users_added AFTER INSERT ON users
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION account_counts_users_added();
CREATE TRIGGER account_counts_users_removed AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION account_counts_users_removed();
CREATE TRIGGER account_counts_devices_added AFTER INSERT ON two_step_devices
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION account_counts_devices_added();
CREATE TRIGGER account_counts_devices_removed AFTER DELETE ON two_step_devices
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION account_counts_devices_removed();
