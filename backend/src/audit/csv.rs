//! The audit log as CSV: every event a [`Filter`] keeps, newest first, written batch by batch
//! while the download goes (so memory stays bounded however long the log is), with the cells a
//! spreadsheet would run as a formula neutralised.

use crate::audit::{self, Filter};
use axum::body::Bytes;
use futures_util::Stream;
use sqlx::AnyPool;
use std::borrow::Cow;
use twostep_shared::api::AuditEntry;

/// Events read per query.
const BATCH: u32 = 500;

/// The first row.
pub const HEADER: [&str; 9] = [
    "id",
    "time_utc",
    "event",
    "event_description",
    "by",
    "user",
    "user_id",
    "client_address",
    "detail",
];

/// Against formula injection ("CSV injection", OWASP): spreadsheets run a cell that begins
/// with `=`, `+`, `-` or `@` (some also after a tab or carriage return) as a formula, and
/// usernames may begin with `-` or `@`. Such a cell gets a leading `'`, which spreadsheets
/// take as "this is text": shown, never evaluated. Every other cell is written unchanged.
/// Quoting of commas, quotes and line breaks is left to the `csv` crate.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `2026-11-28T09:15:02Z`.
fn time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map_or_else(
            || unix.to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// One entry's cells, in the order of [`HEADER`].
fn cells(entry: &AuditEntry) -> [String; 9] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    [
        entry.id.to_string(),
        time(entry.at),
        entry.event.as_str().to_owned(),
        entry.event.describe().to_owned(),
        text(&entry.actor),
        text(&entry.subject),
        entry
            .subject_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        text(&entry.client_address),
        text(&entry.detail),
    ]
}

/// CSV lines for `rows`, each cell neutralised.
fn lines<R: AsRef<[String]>>(rows: impl IntoIterator<Item = R>) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        let cells: Vec<Cow<'_, str>> = row.as_ref().iter().map(|c| neutralise(c)).collect();
        writer
            .write_record(cells.iter().map(|c| c.as_bytes()))
            .expect("writing to memory cannot fail");
    }
    Bytes::from(writer.into_inner().expect("writing to memory cannot fail"))
}

/// Where an export is.
enum Step {
    Header,
    Below(i64),
    Done,
}

/// The CSV of every event `filter` keeps, newest first, after a header row: one query of
/// [`BATCH`] events per chunk. Events recorded after the export began are not in it. A
/// database error ends the stream with that error (logged), so the download fails rather than
/// ending short without a sign.
pub fn export(db: AnyPool, filter: Filter) -> impl Stream<Item = Result<Bytes, sqlx::Error>> {
    futures_util::stream::try_unfold(Step::Header, move |step| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            match step {
                Step::Header => {
                    let header = HEADER.map(str::to_owned);
                    Ok(Some((lines([header]), Step::Below(i64::MAX))))
                }
                Step::Below(id) => {
                    let batch =
                        audit::before(&db, &filter, id, BATCH)
                            .await
                            .inspect_err(|error| {
                                tracing::error!(%error, "the audit log CSV export stopped");
                            })?;
                    let next = batch.next.map_or(Step::Done, Step::Below);
                    if batch.entries.is_empty() && batch.next.is_none() {
                        return Ok(None);
                    }
                    Ok(Some((lines(batch.entries.iter().map(cells)), next)))
                }
                Step::Done => Ok(None),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for cell in ["=1+2", "+1", "-2-3", "@sum", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
        for cell in ["alice", "", "127.0.0.1", "a=b", "'quoted"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn cells_are_quoted_when_needed() {
        let row = ["a,b".to_owned(), "say \"hi\"".to_owned(), "x\ny".to_owned()];
        assert_eq!(&lines([row])[..], b"\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\n");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(1_764_321_302), "2025-11-28T09:15:02Z");
    }
}
