//! The text of each security e-mail: a short plain-text message saying what happened, when,
//! from which address and browser, who did it, and what to do if it was not the holder.
//! Pure: the time is passed in. A message carries no link, code, password, token or secret —
//! nothing in a [`Notice`] could hold one.

/// What a message tells of. The `as_str` names are stored in the outbox and the per-hour
/// limit, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// 2-step verification turned on.
    TwoStepOn,
    /// Moved to a new phone.
    TwoStepMoved,
    /// Turned off, by the holder, an administrator or the operator.
    TwoStepOff,
    /// A security key added. Not sent yet: security keys are built on another branch, which
    /// queues this where a key is registered.
    SecurityKeyAdded,
    /// A security key removed (as [`MailKind::SecurityKeyAdded`]).
    SecurityKeyRemoved,
    /// A recovery code used (with how many are left).
    RecoveryCodeUsed,
    /// New recovery codes made.
    RecoveryCodesRenewed,
    /// The holder changed the password.
    PasswordChanged,
    /// An administrator (or the operator) set a new password.
    PasswordReset,
    /// A sign-in from a browser the account has not used before.
    NewBrowser,
    /// The right password, and the code step not completed within 10 minutes.
    CodeStepNotCompleted,
    /// Too many wrong codes: the code step is locked.
    CodeStepLocked,
    /// The address for security e-mails changed (sent to the old address).
    AddressChanged,
    /// An administrator's test message to their own address.
    Test,
}

impl MailKind {
    pub const ALL: [MailKind; 14] = [
        Self::TwoStepOn,
        Self::TwoStepMoved,
        Self::TwoStepOff,
        Self::SecurityKeyAdded,
        Self::SecurityKeyRemoved,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesRenewed,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::NewBrowser,
        Self::CodeStepNotCompleted,
        Self::CodeStepLocked,
        Self::AddressChanged,
        Self::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoStepOn => "two_step_on",
            Self::TwoStepMoved => "two_step_moved",
            Self::TwoStepOff => "two_step_off",
            Self::SecurityKeyAdded => "security_key_added",
            Self::SecurityKeyRemoved => "security_key_removed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::NewBrowser => "new_browser",
            Self::CodeStepNotCompleted => "code_step_not_completed",
            Self::CodeStepLocked => "code_step_locked",
            Self::AddressChanged => "address_changed",
            Self::Test => "test",
        }
    }
}

/// Who made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who<'a> {
    /// The holder (or someone signed in as them).
    Holder,
    /// An administrator, by username.
    Administrator(&'a str),
    /// The server's operator, through its command line.
    Operator,
}

/// One event to tell the holder of. Holds no secret: the fields are names, times, addresses
/// and counts only.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub kind: MailKind,
    /// The account's username, for the greeting.
    pub username: &'a str,
    /// When it happened (Unix seconds).
    pub at: u64,
    pub who: Who<'a>,
    /// The client's address, when known.
    pub client_addr: Option<&'a str>,
    /// The browser, as [`crate::sessions::browser_name`] names it, when known.
    pub browser: Option<&'a str>,
    /// Recovery codes left, for [`MailKind::RecoveryCodeUsed`].
    pub codes_left: Option<u32>,
}

impl<'a> Notice<'a> {
    /// A notice of something the holder's own session did.
    pub fn own(kind: MailKind, username: &'a str, at: u64) -> Self {
        Self {
            kind,
            username,
            at,
            who: Who::Holder,
            client_addr: None,
            browser: None,
            codes_left: None,
        }
    }

    pub fn from_client(mut self, client_addr: Option<&'a str>, browser: Option<&'a str>) -> Self {
        self.client_addr = client_addr;
        self.browser = browser;
        self
    }

    pub fn by(mut self, who: Who<'a>) -> Self {
        self.who = who;
        self
    }
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub subject: String,
    pub body: String,
}

/// `2026-12-06 13:05 UTC`.
fn time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map_or_else(
            || unix.to_string(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// The subject, the sentence saying what happened, and the advice if it was not the holder.
fn wording(notice: &Notice<'_>) -> (&'static str, String, &'static str) {
    const CHANGE_PASSWORD: &str = "someone may know your password, so change it at once \
                                   and tell your administrator";
    const TELL_ADMIN: &str = "tell your administrator at once: someone may have signed in as you";
    let by = match notice.who {
        Who::Holder => String::new(),
        Who::Administrator(name) => format!(" by the administrator {name}"),
        Who::Operator => " by the server's operator".to_owned(),
    };
    match notice.kind {
        MailKind::TwoStepOn => (
            "2-step verification was turned on",
            "2-step verification was turned on for your account".to_owned(),
            TELL_ADMIN,
        ),
        MailKind::TwoStepMoved => (
            "2-step verification was moved to a new phone",
            "2-step verification of your account was moved to a new phone; the codes of the \
             previous phone no longer work"
                .to_owned(),
            TELL_ADMIN,
        ),
        MailKind::TwoStepOff => (
            "2-step verification was turned off",
            format!("2-step verification was turned off for your account{by}"),
            match notice.who {
                Who::Holder => TELL_ADMIN,
                _ => "ask your administrator why, and set up 2-step verification again",
            },
        ),
        MailKind::SecurityKeyAdded => (
            "A security key was added",
            "a security key was added to your account".to_owned(),
            TELL_ADMIN,
        ),
        MailKind::SecurityKeyRemoved => (
            "A security key was removed",
            format!("a security key was removed from your account{by}"),
            TELL_ADMIN,
        ),
        MailKind::RecoveryCodeUsed => (
            "A recovery code was used",
            match notice.codes_left {
                Some(1) => "one of your recovery codes was used; 1 is left".to_owned(),
                Some(left) => format!("one of your recovery codes was used; {left} are left"),
                None => "one of your recovery codes was used".to_owned(),
            },
            "someone has your password and one of your recovery codes, so change your \
             password, make new recovery codes, and tell your administrator",
        ),
        MailKind::RecoveryCodesRenewed => (
            "New recovery codes were made",
            "new recovery codes were made for your account; the previous ones no longer work"
                .to_owned(),
            TELL_ADMIN,
        ),
        MailKind::PasswordChanged => (
            "Your password was changed",
            "the password of your account was changed".to_owned(),
            "tell your administrator at once and ask for a password reset",
        ),
        MailKind::PasswordReset => (
            "Your password was reset",
            format!(
                "the password of your account was reset{by}; sign in with the one-time password you were given"
            ),
            "tell your administrator at once",
        ),
        MailKind::NewBrowser => (
            "Sign-in from a new browser",
            "your account was signed in to from a browser it has not used before".to_owned(),
            CHANGE_PASSWORD,
        ),
        MailKind::CodeStepNotCompleted => (
            "Your password was used without the code step",
            "the right password for your account was typed, but the verification code step \
             was not completed within 10 minutes"
                .to_owned(),
            CHANGE_PASSWORD,
        ),
        MailKind::CodeStepLocked => (
            "Your verification code step is locked",
            "too many wrong verification codes were typed for your account, so its code step \
             is locked; an administrator can unlock it, or you can sign in with a recovery code"
                .to_owned(),
            CHANGE_PASSWORD,
        ),
        MailKind::AddressChanged => (
            "Your address for security e-mails was changed",
            format!(
                "the address your account's security e-mails go to was changed{by}; this \
                 address gets no more of them"
            ),
            TELL_ADMIN,
        ),
        MailKind::Test => (
            "Test message",
            "this is a test of the security e-mails, sent at your own request".to_owned(),
            "tell your administrator",
        ),
    }
}

/// The message for `notice`, signed by `site` (the issuer name, e.g. "Team Server").
pub fn render(notice: &Notice<'_>, site: &str) -> Text {
    let (subject, what, advice) = wording(notice);
    let mut body = format!("Hello {},\n\n", notice.username);
    let mut chars = what.chars();
    if let Some(first) = chars.next() {
        body.extend(first.to_uppercase());
        body.push_str(chars.as_str());
    }
    body.push_str(".\n\n");
    body.push_str(&format!("When: {}\n", time(notice.at)));
    if let Some(addr) = notice.client_addr {
        body.push_str(&format!("From the address: {addr}\n"));
    }
    if let Some(browser) = notice.browser {
        body.push_str(&format!("Browser: {browser}\n"));
    }
    let by = match notice.who {
        Who::Holder if notice.kind == MailKind::Test => None,
        Who::Holder => Some("you (signed in to your account)".to_owned()),
        Who::Administrator(name) => Some(format!("the administrator {name}")),
        Who::Operator => Some("the server's operator".to_owned()),
    };
    if let Some(by) = by {
        body.push_str(&format!("By: {by}\n"));
    }
    body.push_str(&format!(
        "\nIf this was you, you need not do anything.\nIf it was not you: {advice}.\n\n\
         This message was sent by {site}. It never contains a link to sign in, a code or a \
         password; do not trust a message that asks you for one.\n"
    ));
    Text {
        subject: format!("{site}: {subject}"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_when_where_and_who() {
        let notice = Notice::own(MailKind::TwoStepOff, "alice", 1_764_321_302)
            .from_client(Some("203.0.113.5"), Some("Firefox on Linux"))
            .by(Who::Administrator("root"));
        let text = render(&notice, "Team Server");
        assert_eq!(
            text.subject,
            "Team Server: 2-step verification was turned off"
        );
        for part in [
            "Hello alice,",
            "2-step verification was turned off for your account by the administrator root.",
            "When: 2025-11-28 09:15 UTC",
            "From the address: 203.0.113.5",
            "Browser: Firefox on Linux",
            "By: the administrator root",
            "If it was not you: ask your administrator why",
        ] {
            assert!(text.body.contains(part), "{part:?} in {}", text.body);
        }
    }

    #[test]
    fn no_message_has_a_link() {
        for kind in MailKind::ALL {
            let notice = Notice {
                codes_left: Some(3),
                ..Notice::own(kind, "bob", 0)
            };
            let text = render(&notice, "Team Server");
            for bad in ["http:", "https:", "www."] {
                assert!(!text.body.contains(bad), "{kind:?}: {}", text.body);
            }
        }
    }

    #[test]
    fn kind_names_are_distinct() {
        let mut names: Vec<_> = MailKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MailKind::ALL.len());
    }
}
