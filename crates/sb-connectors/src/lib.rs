//! Order connectors: how the service-action workflow finds a customer's orders in whichever shop
//! holds them.
//!
//! API boundary: callers hold an `Arc<dyn OrderConnector>` and see only [`sb_domain::Order`]s
//! and this crate's [`Error`]. Two implementations exist: [`ShopifyConnector`] here, a client of
//! the Shopify Admin REST API, and the built-in demo store, which lives in the service on top of
//! the database.
//!
//! Architecture invariants: this crate does not know the database, triage or the workflows'
//! rules (whether an order may be cancelled is the workflow's decision, not the connector's). It
//! never logs e-mail addresses, names or access tokens.

mod error;
mod money;
mod order_number;
mod shopify;

#[cfg(feature = "test-support")]
pub mod fake_shop;

pub use error::{Error, Result};
pub use money::{currency_exponent, parse_minor_units};
pub use order_number::normalize_order_number;
pub use shopify::{ShopifyConfig, ShopifyConnector, DEFAULT_SHOPIFY_API_VERSION};

use async_trait::async_trait;
use sb_domain::Order;

/// A source of orders: the built-in demo store or a shop's API.
///
/// Implementations are shared between requests (`Arc<dyn OrderConnector>`), so they are
/// `Send + Sync` and take `&self`.
#[async_trait]
pub trait OrderConnector: Send + Sync {
    /// A short stable name for logs and error messages (`shopify`, `demo_store`).
    fn name(&self) -> &str;

    /// Looks an order up by the number the customer quotes. `#A10493`, `A10493` and `a10493`
    /// find the same order (see [`normalize_order_number`]); a reference that cannot be an order
    /// number, or that the shop does not know, is `Ok(None)`.
    async fn find_order(&self, number: &str) -> Result<Option<Order>>;

    /// The customer's most recent orders, newest first, at most `limit` of them. Only orders
    /// whose e-mail matches `email` (case-insensitively) are returned.
    async fn orders_for_customer(&self, email: &str, limit: usize) -> Result<Vec<Order>>;
}
