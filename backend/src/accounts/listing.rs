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

/// Page `page` (1-based) of `per_page` accounts that `filter` keeps, by name, and how many it
/// keeps in all. The page is chosen among the accounts alone, then joined with the devices of
/// its own rows only.
pub async fn page(
    db: &AnyPool,
    filter: &Filter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Listed>, u64), sqlx::Error> {
    let c = filter.conditions();
    let clause = c.clause();
    let total: i64 = query(
        format!("SELECT COUNT(*) AS n FROM users u{clause}"),
        c.values.clone(),
    )
    .fetch_one(db)
    .await?
    .try_get("n")?;
    let mut values = c.values;
    values.push(Value::Int(i64::from(per_page)));
    let limit = values.len();
    values.push(Value::Int(i64::from(page.max(1) - 1) * i64::from(per_page)));
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
    for row in rows {
        let device: Option<i64> = row.try_get("user_id")?;
        listed.push(Listed {
            user: users::record(&row)?,
            two_step: match device {
                Some(_) => status::status_of_device(&row)?,
                None => OFF,
            },
            email: row.try_get("email")?,
        });
    }
    Ok((listed, total.max(0) as u64))
}

/// How many accounts there are, and how many have a device: two counts, each over one table.
pub async fn summary(db: &AnyPool) -> Result<TwoStepSummary, sqlx::Error> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users) AS users,
                (SELECT COUNT(*) FROM two_step_devices) AS using_two_step",
    )
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
