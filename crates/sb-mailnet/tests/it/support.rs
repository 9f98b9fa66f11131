//! What the tests share: a service on a fresh SQLite store, and names no other run uses.

use std::sync::Arc;

use sb_service::{DemoStoreConnector, Service, ServiceConfig};
use sb_store::{Store, StoreOptions};

pub struct TestServer {
    pub service: Service,
    _dir: tempfile::TempDir,
}

/// A service without triage models (mail is stored, threaded and left for triage).
pub async fn service() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    let store = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let service = Service::new(store.clone(), None, Arc::new(DemoStoreConnector::new(store)), ServiceConfig::new(Default::default()));
    TestServer { service, _dir: dir }
}

/// `prefix` plus the process id and the time in nanoseconds: letters and digits only (an IMAP
/// folder name must not hold the hierarchy separator).
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}n{nanos}", std::process::id())
}
