//! The store's integration tests. `conformance` holds the suite that every backend must pass:
//! each test there runs once on SQLite and once on PostgreSQL; `reports` is the same for the
//! reports.

/// Runs each named `async fn(&TestDb)` of the invoking module once on SQLite and once on
/// PostgreSQL (as `sqlite::NAME` and `postgres::NAME`).
macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::postgres().await;
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

mod conformance;
mod notify;
mod policy;
mod reports;
mod routing;
mod surveys;
mod support;
