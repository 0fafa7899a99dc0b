//! The hot reads stay prepared: a statement SQLite must re-compile when a
//! bound value changes costs the parser and planner on every call (seen
//! as `sqlite3Reprepare` in a profile of the session check).

use rusqlite::StatementStatus;

use super::connection::open;
use super::migrations::migrate;
use super::rows::{SELECT_SESSION, SELECT_SESSION_ROW};
use crate::store::SqliteTuning;

#[test]
fn the_session_reads_are_not_recompiled_when_their_token_changes() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("statements.db");
    let mut connection = open(&path, SqliteTuning::default()).expect("open");
    migrate(&mut connection).expect("migrate");
    for sql in [SELECT_SESSION, SELECT_SESSION_ROW] {
        for token in [[1_u8; 32], [2; 32], [3; 32], [4; 32]] {
            let mut statement = connection.prepare_cached(sql).expect("prepare");
            let mut rows = statement.query([token.as_slice()]).expect("query");
            assert!(rows.next().expect("step").is_none());
        }
        let statement = connection.prepare_cached(sql).expect("prepare");
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0, "{sql}");
    }
}
