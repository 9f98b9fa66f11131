//! Test databases: a fresh SQLite file in a temp folder, or a fresh schema on the real
//! PostgreSQL server (127.0.0.1:5432, user postgres, database test; override with
//! `SWITCHBOARD_TEST_POSTGRES`). A missing PostgreSQL fails the test loudly: it is never skipped.

use std::sync::atomic::{AtomicU64, Ordering};

use sb_store::{Store, StoreOptions};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

pub struct TestDb {
    pub store: Store,
    /// URL of the database (SQLite file, or PostgreSQL server) for side connections.
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static SCHEMA_COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
        let store = Store::connect(&url, &StoreOptions::default()).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb { store, url, schema: None, _dir: Some(dir) }
    }

    pub async fn postgres() -> TestDb {
        let url = postgres_url();
        let schema = format!(
            "sb_test_{}_{}_{}",
            std::process::id(),
            SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        let options = StoreOptions { postgres_schema: Some(schema.clone()), max_connections: 6, ..StoreOptions::default() };
        let store = match Store::connect(&url, &options).await {
            Ok(store) => store,
            Err(error) => panic!(
                "PostgreSQL is required for these tests and does not answer at {url}: {error}\n\
                 start it with scripts/services.sh (or: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)"
            ),
        };
        store.migrate().await.expect("migrate postgres");
        TestDb { store, url, schema: Some(schema), _dir: None }
    }

    /// Runs SQL on a side connection, as someone with direct database access would (tamper
    /// tests).
    pub async fn raw_execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        match &self.schema {
            None => {
                let mut connection = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut connection).await?;
            }
            Some(schema) => {
                let mut connection = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}; {sql}"))).execute(&mut connection).await?;
            }
        }
        Ok(())
    }

    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            self.store.drop_postgres_schema(schema).await.expect("drop test schema");
        }
        self.store.close().await;
    }
}
