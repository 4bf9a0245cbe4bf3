-- Security e-mails: an address per account, the outbox the messages are written to in the
-- same transaction as the event they tell of, and the per-account limit on how many of one
-- kind an hour may be queued.

-- The account's address for security e-mails (NULL: none). Team Server accounts: set by an
-- administrator or the holder; organizational accounts: the verified address their provider
-- gave at the latest sign-in.
ALTER TABLE users ADD COLUMN email TEXT;

CREATE TABLE mail_outbox (
    -- also the message's Message-ID (with created_at), so a retry carries the same one
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- what it tells (twostep::mail::MailKind), e.g. 'device_associated'
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- the plain-text message: never a code, password, token, secret or a sign-in link
    body         TEXT NOT NULL,
    -- 'due' (waiting, or taken by a sender until taken_until), 'sent', 'failed' (gave up after
    -- a day of retries), 'cancelled' (the event it warned of did not happen: the code step
    -- was completed in time)
    state        TEXT NOT NULL DEFAULT 'due' CHECK (state IN ('due', 'sent', 'failed', 'cancelled')),
    created_at   BIGINT NOT NULL,
    -- Unix seconds before which it is not sent (the next retry; the 10-minute wait of
    -- "the code step was not completed")
    send_after   BIGINT NOT NULL,
    -- a sender took it until then (0: nobody); a sender that died while sending leaves it to
    -- be taken again after this time
    taken_until  BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    -- the last delivery error (the mail server's answer), for operators
    last_error   TEXT,
    sent_at      BIGINT,
    -- SHA-256 of the waiting session's token for "the code step was not completed": the code
    -- step that completes it cancels this row in its own transaction
    cancel_key   TEXT
);

-- The senders' query: due rows by time.
CREATE INDEX mail_outbox_due ON mail_outbox (send_after) WHERE state = 'due';
CREATE INDEX mail_outbox_cancel ON mail_outbox (cancel_key) WHERE cancel_key IS NOT NULL;

-- At most a few messages of one kind per account per hour (a fixed window from the first):
-- counted by one upsert in the event's transaction, so simultaneous events on several
-- instances cannot queue more.
CREATE TABLE mail_limits (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    queued       BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
