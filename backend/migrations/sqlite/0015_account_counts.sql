-- How many accounts there are, and how many have a 2-step device: the Users page's summary
-- ("N of M people use 2-step verification") and its total when nothing is filtered, read as
-- one row instead of counted over 100,000 accounts on every page (docs/admin.md). Kept by
-- triggers, so every path that adds or removes an account or a device (the app, the CLI, an
-- import, a cascade) keeps it true. Same as the PostgreSQL migration of the same number.

CREATE TABLE account_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    users INTEGER NOT NULL,
    using_two_step INTEGER NOT NULL
);
INSERT INTO account_counts (id, users, using_two_step)
VALUES (1, (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM two_step_devices));

CREATE TRIGGER account_counts_user_added AFTER INSERT ON users
BEGIN UPDATE account_counts SET users = users + 1 WHERE id = 1; END;
CREATE TRIGGER account_counts_user_removed AFTER DELETE ON users
BEGIN UPDATE account_counts SET users = users - 1 WHERE id = 1; END;
CREATE TRIGGER account_counts_device_added AFTER INSERT ON two_step_devices
BEGIN UPDATE account_counts SET using_two_step = using_two_step + 1 WHERE id = 1; END;
CREATE TRIGGER account_counts_device_removed AFTER DELETE ON two_step_devices
BEGIN UPDATE account_counts SET using_two_step = using_two_step - 1 WHERE id = 1; END;
