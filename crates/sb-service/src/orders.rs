//! The built-in demo store as an order connector: orders live in the store's `orders` table.

use async_trait::async_trait;
use sb_connectors::OrderConnector;
use sb_domain::Order;
use sb_store::Store;

pub struct DemoStoreConnector {
    store: Store,
}

impl DemoStoreConnector {
    pub fn new(store: Store) -> DemoStoreConnector {
        DemoStoreConnector { store }
    }
}

fn backend_error(error: sb_store::Error) -> sb_connectors::Error {
    sb_connectors::Error::Backend { connector: "demo_store".to_string(), source: Box::new(error) }
}

#[async_trait]
impl OrderConnector for DemoStoreConnector {
    fn name(&self) -> &str {
        "demo_store"
    }

    async fn find_order(&self, number: &str) -> sb_connectors::Result<Option<Order>> {
        self.store.find_order(number).await.map_err(backend_error)
    }

    async fn orders_for_customer(&self, email: &str, limit: usize) -> sb_connectors::Result<Vec<Order>> {
        self.store.orders_for_customer(email, limit.min(1_000) as i64).await.map_err(backend_error)
    }
}
