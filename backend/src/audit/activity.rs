//! "Your security activity": the holder's own events from the audit log (newest first), and
//! how many warning signs (wrong codes, a code used twice, a lock) came since their previous
//! sign-in, for the notice the app shows after signing in.

use crate::audit;
use sqlx::{AnyPool, Row};
use twostep_shared::account::ActivityPage;
use twostep_shared::api::AuditEventKind;

/// The kinds that are warning signs for the holder.
pub const WARNINGS: [AuditEventKind; 3] = [
    AuditEventKind::SignInFailedCode,
    AuditEventKind::ReplayedCodeRefused,
    AuditEventKind::CodeStepLocked,
];

/// One page of the user's own events, with the warnings since their previous sign-in.
pub async fn page(db: &AnyPool, user_id: i64, page: u32) -> Result<ActivityPage, sqlx::Error> {
    let mine = audit::Filter {
        subject_id: Some(user_id),
        ..Default::default()
    };
    let events = audit::page(db, page, &mine).await?;
    let warnings = warnings_since_previous_sign_in(db, user_id).await?;
    Ok(ActivityPage {
        entries: events.entries,
        page: events.page,
        per_page: events.per_page,
        total: events.total,
        warnings_since_previous_sign_in: warnings,
    })
}

/// Warning events about the user after the sign-in before the latest one (all of them when
/// there was none before).
async fn warnings_since_previous_sign_in(db: &AnyPool, user_id: i64) -> Result<u64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events
         WHERE subject_id = $1 AND event IN ($2, $3, $4)
           AND id > COALESCE((SELECT id FROM audit_events
                              WHERE subject_id = $1 AND event = $5
                              ORDER BY id DESC LIMIT 1 OFFSET 1), 0)",
    )
    .bind(user_id)
    .bind(WARNINGS[0].as_str())
    .bind(WARNINGS[1].as_str())
    .bind(WARNINGS[2].as_str())
    .bind(AuditEventKind::SignedIn.as_str())
    .fetch_one(db)
    .await?;
    Ok(row.try_get::<i64, _>("n")? as u64)
}
