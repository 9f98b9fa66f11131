//! The store's error type. Callers (the service, the HTTP edge) map these onto user-facing
//! codes; nothing here leaks SQL to a client.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad database url: {0}")]
    BadUrl(String),
    #[error("cannot connect to the database ({0}); check that it runs and the url is right")]
    Connect(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite group-commit writer, which runs its batch through rusqlite.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}; the database may be newer than this binary")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("stored {what} is not valid json: {source}")]
    Json { what: &'static str, source: serde_json::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Error {
        Error::NotFound { entity, id: id.to_string() }
    }

    /// True for a unique-constraint violation (a concurrent duplicate).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Database(sqlx::Error::Database(database_error)) => database_error.is_unique_violation(),
            Error::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => {
                matches!(failure.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            }
            _ => false,
        }
    }
}
