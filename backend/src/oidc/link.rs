//! How an organizational account is linked to a person at its identity provider, and the
//! checks on what an administrator types for it.
//!
//! An account is linked by the provider's **subject** (`sub` claim: stable and unique at that
//! provider), or by a **verified e-mail** (`email` claim with `email_verified: true`) until its
//! first sign-in, which records the subject; from then on only that subject signs in to the
//! account, even if the e-mail address later moves to somebody else at the provider.
//!
//! A link holds the **issuer** it was made with: a subject is unique only at its issuer. When
//! a provider's configured issuer changes under the same name, its accounts' links are
//! refused ([`Found::Stale`]) until the operator links each account again (`twostep user
//! link`) or confirms the new issuer for all of them (`twostep user confirm-issuer`). A
//! link with no issuer recorded (made before issuers were, or by a CLI not given the
//! providers file) takes the provider's current issuer at its next sign-in.

use crate::accounts::users::{self, IdentityLink, UserRecord};
use crate::oidc::IdentityProvider;
use crate::oidc::relying_party::VerifiedIdentity;

/// The longest subject identifier OpenID Connect allows (Core §2: at most 255 ASCII characters).
pub const MAX_SUBJECT_CHARS: usize = 255;
/// The longest e-mail address accepted.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Checks a subject identifier as typed by an administrator (or sent by a provider).
pub fn parse_subject(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > MAX_SUBJECT_CHARS {
        return Err(format!(
            "a subject must be 1 to {MAX_SUBJECT_CHARS} characters"
        ));
    }
    if !text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err("a subject has only printable ASCII characters".to_owned());
    }
    Ok(text.to_owned())
}

/// Checks an e-mail address and gives the form it is stored and compared in (lower-case).
pub fn normalize_email(text: &str) -> Result<String, String> {
    let email = text.trim().to_lowercase();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(format!("{text:?} is not an e-mail address"))
    }
}

/// How a verified identity found its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedBy {
    Subject,
    /// By its verified e-mail; the subject has just been recorded.
    Email,
}

/// What a verified identity signs in to.
#[derive(Debug)]
pub enum Found {
    Account(UserRecord, LinkedBy),
    /// Nobody is linked to this identity.
    Nobody,
    /// The account linked to this subject was linked at another issuer than the provider's.
    Stale {
        user: UserRecord,
        linked_issuer: String,
    },
}

/// The organizational account of `provider` that `identity` signs in to: the one linked to
/// its subject at the provider's issuer, else the one waiting for its verified e-mail (whose
/// subject and issuer are then recorded).
pub async fn find_account(
    db: &sqlx::AnyPool,
    provider: &IdentityProvider,
    identity: &VerifiedIdentity,
) -> Result<Found, sqlx::Error> {
    let issuer = provider.issuer.as_str();
    if let Some(user) = users::find_by_subject(db, &provider.name, &identity.subject).await? {
        return match users::identity_link(db, user.id).await?.issuer {
            Some(linked_issuer) if linked_issuer != issuer => Ok(Found::Stale {
                user,
                linked_issuer,
            }),
            Some(_) => Ok(Found::Account(user, LinkedBy::Subject)),
            None => {
                users::record_issuer(db, user.id, issuer).await?;
                Ok(Found::Account(user, LinkedBy::Subject))
            }
        };
    }
    let Some(email) = identity
        .verified_email
        .as_ref()
        .filter(|_| provider.link_by_email)
    else {
        return Ok(Found::Nobody);
    };
    let Some(user) = users::find_by_email_to_link(db, &provider.name, email).await? else {
        return Ok(Found::Nobody);
    };
    if let Some(linked_issuer) = users::identity_link(db, user.id).await?.issuer
        && linked_issuer != issuer
    {
        return Ok(Found::Stale {
            user,
            linked_issuer,
        });
    }
    if users::record_subject(db, user.id, &identity.subject, issuer).await? {
        Ok(Found::Account(user, LinkedBy::Email))
    } else {
        Ok(Found::Nobody)
    }
}

/// A link in words: "subject S and e-mail E at PROVIDER (issuer I)".
pub fn describe(idp: &str, link: &IdentityLink) -> String {
    let mut parts = Vec::new();
    if let Some(subject) = &link.subject {
        parts.push(format!("subject {subject}"));
    }
    if let Some(email) = &link.email {
        parts.push(format!("e-mail {email}"));
    }
    match &link.issuer {
        Some(issuer) => format!("{} at {idp} (issuer {issuer})", parts.join(" and ")),
        None => format!("{} at {idp}", parts.join(" and ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert_eq!(parse_subject("248289761001").unwrap(), "248289761001");
        assert!(parse_subject("").is_err());
        assert!(parse_subject(&"x".repeat(256)).is_err());
        assert!(parse_subject("tab\there").is_err());
    }

    #[test]
    fn emails_are_lower_case() {
        assert_eq!(
            normalize_email(" Erin@Contoso.Example ").unwrap(),
            "erin@contoso.example"
        );
        for bad in ["", "erin", "@contoso.example", "erin@", "a b@c.d", "a@b@c"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
