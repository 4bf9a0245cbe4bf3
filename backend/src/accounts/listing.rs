//! The Users list at any size: one page of the accounts a [`Filter`] keeps, by name, and how
//! many it keeps, each read by the database with an index (see migration 0012): no request
//! reads every account, so a page costs the same at 100 accounts and at 100,000.

use crate::accounts::users::{self, UserRecord};
use crate::factors::status::{self, OFF};
use crate::storage::query::{Conditions, Value, prefix_range, query};
use serde::Deserialize;
use sqlx::{AnyPool, Row};
use twostep_shared::api::{Role, TwoStepStatus, TwoStepSummary};

/// Which accounts a page lists; each part left out keeps everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Names that begin with this, in any case (names are stored in lower case). The
    /// beginning, not any part: a range on the name's index.
    pub name: Option<String>,
    pub role: Option<Role>,
    pub two_step: Option<TwoStepFilter>,
    /// `Some(true)`: only disabled accounts; `Some(false)`: only the others.
    pub disabled: Option<bool>,
    pub kind: Option<KindFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoStepFilter {
    On,
    Off,
    Locked,
    /// Accounts with security keys registered.
    SecurityKeys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindFilter {
    TeamServer,
    Organizational,
}

impl Filter {
    /// The conditions on `users u`, only the parts in use (so each can use its index).
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(name) = &self.name {
            let (low, high) = prefix_range(name);
            let low = c.bind(Value::Text(low));
            let high = c.bind(Value::Text(high));
            c.push(format!("u.username >= {low} AND u.username < {high}"));
        }
        if let Some(role) = self.role {
            let role = c.bind(Value::Text(users::role_to_db(role).to_owned()));
            c.push(format!("u.role = {role}"));
        }
        match self.kind {
            Some(KindFilter::TeamServer) => c.push("u.identity_provider IS NULL".into()),
            Some(KindFilter::Organizational) => c.push("u.identity_provider IS NOT NULL".into()),
            None => {}
        }
        match self.disabled {
            Some(true) => c.push("u.disabled_at IS NOT NULL".into()),
            Some(false) => c.push("u.disabled_at IS NULL".into()),
            None => {}
        }
        // `IN` rather than `EXISTS`: the database can start from the (few) devices.
        match self.two_step {
            Some(TwoStepFilter::On) => {
                c.push("u.id IN (SELECT user_id FROM two_step_devices)".into());
            }
            Some(TwoStepFilter::Off) => {
                c.push("u.id NOT IN (SELECT user_id FROM two_step_devices)".into());
            }
            Some(TwoStepFilter::Locked) => {
                c.push("u.id IN (SELECT user_id FROM two_step_devices WHERE locked <> 0)".into())
            }
            Some(TwoStepFilter::SecurityKeys) => {
                c.push("u.id IN (SELECT user_id FROM security_keys)".into())
            }
            None => {}
        }
        c
    }
}

/// An account on a page, with its 2-step status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub user: UserRecord,
    pub two_step: TwoStepStatus,
    /// The address for security e-mails.
    pub email: Option<String>,
}

/// Where a page begins: the `n`th page of [`page`]'s size (1-based; the database skips the
/// pages before it, so a far page costs more), or just after a name (keyset paging: an
/// index range, the same cost on any page; what the app's Next page does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Page(u32),
    After(String),
}

/// Most matches a filtered list counts: past it the total is "more than" this. Counting every
/// match of a broad filter would read most of the accounts on every page.
pub const COUNTED_AT_MOST: u64 = twostep_shared::api::USERS_COUNTED_AT_MOST;

/// One page of the accounts that `filter` keeps, by name, and whether another follows.
pub struct Page {
    pub listed: Vec<Listed>,
    /// The last name on this page, when more accounts follow (`after` for the next page).
    pub next: Option<String>,
}

/// One page of at most `per_page` accounts that `filter` keeps, from `start`, by name. The page
/// is chosen among the accounts alone, then joined with the devices of its own rows only.
pub async fn page(
    db: &AnyPool,
    filter: &Filter,
    start: &Start,
    per_page: u32,
) -> Result<Page, sqlx::Error> {
    let mut c = filter.conditions();
    let mut offset = 0;
    match start {
        Start::Page(n) => offset = i64::from((*n).max(1) - 1) * i64::from(per_page),
        Start::After(name) => {
            let after = c.bind(Value::Text(name.clone()));
            c.push(format!("u.username > {after}"));
        }
    }
    let clause = c.clause();
    let mut values = c.values;
    // One more than the page: whether another page follows.
    values.push(Value::Int(i64::from(per_page) + 1));
    let limit = values.len();
    values.push(Value::Int(offset));
    let offset = values.len();
    let sql = format!(
        "SELECT p.id AS id, p.username AS username, p.role AS role,
                p.identity_provider AS identity_provider, p.disabled_at AS disabled_at,
                p.password_change_required AS password_change_required, p.email AS email, {}
         FROM (SELECT u.id, u.username, u.role, u.identity_provider, u.disabled_at,
                      u.password_change_required, u.email
               FROM users u{clause} ORDER BY u.username LIMIT ${limit} OFFSET ${offset}) p
         LEFT JOIN two_step_devices d ON d.user_id = p.id
         ORDER BY p.username",
        status::STATUS_COLUMNS
    );
    let rows = query(sql, values).fetch_all(db).await?;
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows.iter().take(per_page as usize) {
        let device: Option<i64> = row.try_get("user_id")?;
        listed.push(Listed {
            user: users::record(row)?,
            two_step: match device {
                Some(_) => status::status_of_device(row)?,
                None => OFF,
            },
            email: row.try_get("email")?,
        });
    }
    let next = (rows.len() > per_page as usize)
        .then(|| listed.last().map(|l| l.user.username.clone()))
        .flatten();
    Ok(Page { listed, next })
}

/// How many accounts `filter` keeps, and whether more do: a filtered count stops past
/// [`COUNTED_AT_MOST`] (then `(COUNTED_AT_MOST, true)`); with no filter, every account,
/// exactly, from the kept counts.
pub async fn count(db: &AnyPool, filter: &Filter) -> Result<(u64, bool), sqlx::Error> {
    if *filter == Filter::default() {
        return Ok((summary(db).await?.users, false));
    }
    let c = filter.conditions();
    let clause = c.clause();
    let mut values = c.values;
    values.push(Value::Int(COUNTED_AT_MOST as i64 + 1));
    let limit = values.len();
    let n: i64 = query(
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM users u{clause} LIMIT ${limit}) m"
        ),
        values,
    )
    .fetch_one(db)
    .await?
    .try_get("n")?;
    let n = n.max(0) as u64;
    Ok((n.min(COUNTED_AT_MOST), n > COUNTED_AT_MOST))
}

/// How many accounts there are, and how many have a device: one row that triggers keep
/// (migration 0015), not a count over every account.
pub async fn summary(db: &AnyPool) -> Result<TwoStepSummary, sqlx::Error> {
    let row = sqlx::query("SELECT users, using_two_step FROM account_counts WHERE id = 1")
        .fetch_one(db)
        .await?;
    Ok(TwoStepSummary {
        users: row.try_get::<i64, _>("users")?.max(0) as u64,
        using_two_step: row.try_get::<i64, _>("using_two_step")?.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parts_in_use_are_written() {
        assert_eq!(Filter::default().conditions().clause(), "");
        let c = Filter {
            name: Some("Al".into()),
            role: Some(Role::Administrator),
            two_step: Some(TwoStepFilter::Locked),
            disabled: Some(false),
            kind: Some(KindFilter::Organizational),
        }
        .conditions();
        assert_eq!(
            c.clause(),
            " WHERE u.username >= $1 AND u.username < $2 AND u.role = $3 \
             AND u.identity_provider IS NOT NULL AND u.disabled_at IS NULL \
             AND u.id IN (SELECT user_id FROM two_step_devices WHERE locked <> 0)"
        );
        assert_eq!(c.values.len(), 3);
    }
}
