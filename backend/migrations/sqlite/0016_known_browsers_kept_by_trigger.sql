-- At most 10 known browsers per account (the oldest goes), kept by a trigger: the new row and
-- the end of the account's 11th newest are one statement, so a sign-in that makes a browser
-- known costs one database round trip for it instead of two (docs/account-changes.md, "Known
-- browsers"). The new row itself always stays, even when the others look newer (made by an
-- instance whose clock is ahead of this one's): its cookie never names a row already ended.
-- Same as the PostgreSQL migration of the same number; the 10 is
-- `accounts::known_browsers::PER_ACCOUNT`, which a test checks against this trigger.

CREATE TRIGGER known_browsers_keep_newest AFTER INSERT ON known_browsers
BEGIN
    DELETE FROM known_browsers
    WHERE user_id = NEW.user_id AND token_hash NOT IN (
        SELECT token_hash FROM known_browsers WHERE user_id = NEW.user_id
        ORDER BY token_hash = NEW.token_hash DESC, created_at DESC, last_used_at DESC
        LIMIT 10);
END;
