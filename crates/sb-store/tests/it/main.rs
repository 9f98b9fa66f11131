//! The store's integration tests. `conformance` holds the suite that every backend must pass:
//! each test there runs once on SQLite and once on PostgreSQL.

mod conformance;
mod support;
