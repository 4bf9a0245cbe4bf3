-- At most 10 known browsers per account (the oldest goes), kept by a trigger (see the SQLite
-- migration of the same number): the new row and the end of the account's 11th newest are one
-- statement. The new row itself always stays, even when the others look newer (made by an
-- instance whose clock is ahead of this one's).
--
-- Sign-ins of one account may commit at the same moment (two instances, or several code
-- steps at once): each transaction first takes a lock of its own per account (an advisory
-- lock keyed by the account's id, held to its end), so the DELETE of the second one runs after
-- the first committed and sees its row. Without it each saw only the committed rows and its
-- own, and forty at once left twelve or thirteen. (SQLite has one writer at a time.)

CREATE FUNCTION known_browsers_keep_newest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(NEW.user_id);
    DELETE FROM known_browsers
    WHERE user_id = NEW.user_id AND token_hash NOT IN (
        SELECT token_hash FROM known_browsers WHERE user_id = NEW.user_id
        ORDER BY token_hash = NEW.token_hash DESC, created_at DESC, last_used_at DESC
        LIMIT 10);
    RETURN NULL;
END $$;
CREATE TRIGGER known_browsers_keep_newest AFTER INSERT ON known_browsers
    FOR EACH ROW EXECUTE FUNCTION known_browsers_keep_newest();
