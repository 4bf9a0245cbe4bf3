//! `twostep user import FILE`: the CSV of accounts to create, read whole and checked before
//! anything is written, each error naming its line. One account a line:
//! `name,role[,provider[,email]]` — `role` is `user` or `administrator`; with a provider the
//! account is organizational and signs in with that e-mail; without one it is a Team Server
//! account with a one-time password. A first line `name,role,…` is a header and is skipped;
//! blank lines are skipped.

use crate::accounts::creation::{Kind, NewAccount};
use twostep_shared::api::Role;
use twostep_shared::input::Username;

/// An account of the file, and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: u64,
    pub account: NewAccount,
}

/// What is wrong with the file: the line, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportError {
    pub line: u64,
    pub message: String,
}

/// Reads the whole file; the first error found stops it (nothing is created from a file with
/// an error).
pub fn parse(text: &str) -> Result<Vec<Line>, ImportError> {
    let mut lines: Vec<Line> = Vec::new();
    // Line by line (a line holds one account), so each error names the line as an editor
    // counts it, blank lines included.
    for (index, text) in text.lines().enumerate() {
        let number = index as u64 + 1;
        let error = |message: String| ImportError {
            line: number,
            message,
        };
        if text.trim().is_empty() {
            continue;
        }
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes())
            .records()
            .next()
            .unwrap_or_else(|| Ok(csv::StringRecord::new()))
            .map_err(|e| error(format!("not CSV: {e}")))?;
        let fields: Vec<&str> = record.iter().collect();
        if lines.is_empty() && fields[0].eq_ignore_ascii_case("name") {
            continue;
        }
        if fields.len() < 2 || fields.len() > 4 {
            return Err(error(format!(
                "expected name,role[,provider[,email]], found {} field(s)",
                fields.len()
            )));
        }
        let username = Username::parse(fields[0])
            .map_err(|e| error(format!("the name {:?} is refused: {e}", fields[0])))?;
        let role = match fields[1].to_ascii_lowercase().as_str() {
            "user" => Role::User,
            "administrator" => Role::Administrator,
            other => {
                return Err(error(format!(
                    "the role {other:?} is not user or administrator"
                )));
            }
        };
        let provider = fields.get(2).copied().unwrap_or_default();
        let email = fields.get(3).copied().unwrap_or_default();
        let kind = if provider.is_empty() {
            if !email.is_empty() {
                return Err(error(
                    "an e-mail is for an organizational account: name its provider too".into(),
                ));
            }
            Kind::TeamServer
        } else {
            Kind::organizational(provider, Some(email), None).map_err(|e| error(e.to_string()))?
        };
        if let Some(first) = lines.iter().find(|l| l.account.username == username) {
            return Err(error(format!(
                "the name {username} is also on line {}",
                first.number
            )));
        }
        lines.push(Line {
            number,
            account: NewAccount {
                username,
                role,
                kind,
                email: None,
            },
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> ImportError {
        parse(text).expect_err("refused")
    }

    #[test]
    fn a_file_of_accounts_is_read_with_its_line_numbers() {
        let lines = parse(
            "name,role,provider,email\n\
             alice,user\n\
             \n\
             Bob , Administrator\n\
             erin,user,Contoso,Erin@Example.com\n",
        )
        .unwrap();
        let summary: Vec<_> = lines
            .iter()
            .map(|l| (l.number, l.account.username.as_str(), l.account.role))
            .collect();
        assert_eq!(
            summary,
            [
                (2, "alice", Role::User),
                (4, "bob", Role::Administrator),
                (5, "erin", Role::User)
            ]
        );
        assert_eq!(lines[0].account.kind, Kind::TeamServer);
        assert!(matches!(
            &lines[2].account.kind,
            Kind::Organizational { provider, link }
                if provider == "Contoso" && link.email.as_deref() == Some("erin@example.com")
        ));
    }

    #[test]
    fn each_error_names_its_line() {
        let duplicate = refused("alice,user\nbob,user\nAlice,administrator\n");
        assert_eq!(duplicate.line, 3);
        assert!(duplicate.message.contains("also on line 1"), "{duplicate}");
        let role = refused("alice,user\nbob,boss\n");
        assert_eq!(role.line, 2);
        assert!(role.message.contains("\"boss\""), "{role}");
        let name = refused("alice,user\nbob,user\nal ice,user\n");
        assert_eq!(name.line, 3);
        assert!(name.message.contains("refused"), "{name}");
        assert_eq!(refused("alice\n").line, 1);
        assert_eq!(refused("alice,user,,erin@example.com\n").line, 1);
        assert_eq!(refused("alice,user,Contoso\n").line, 1);
    }
}
