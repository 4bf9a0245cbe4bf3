-- How many accounts there are, and how many have a 2-step device, kept by triggers (see the
-- SQLite migration of the same number): the Users page reads one row instead of counting
-- 100,000 accounts on every page.

CREATE TABLE account_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    users BIGINT NOT NULL,
    using_two_step BIGINT NOT NULL
);
INSERT INTO account_counts (id, users, using_two_step)
VALUES (1, (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM two_step_devices));

CREATE FUNCTION account_counts_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts SET users = users + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION account_counts_devices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_counts
    SET using_two_step = using_two_step + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER account_counts_users AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION account_counts_users();
CREATE TRIGGER account_counts_devices AFTER INSERT OR DELETE ON two_step_devices
    FOR EACH ROW EXECUTE FUNCTION account_counts_devices();
