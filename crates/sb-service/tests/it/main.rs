//! Integration tests of the service that need no triage models: the SLA watcher, today's
//! forecast and the live router.

mod forecast_today;
mod routing;
mod policy_refresh;
mod sla_watch;

use std::sync::Arc;

use sb_service::{DemoStoreConnector, Service, ServiceConfig};
use sb_store::{Store, StoreOptions};

/// A service on a new SQLite store (migrated), without models; the folder lives as long as
/// the returned guard.
async fn service() -> (Service, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sb.db").display());
    let store = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let connector = Arc::new(DemoStoreConnector::new(store.clone()));
    (Service::new(store, None, connector, ServiceConfig::new(Default::default())), dir)
}
