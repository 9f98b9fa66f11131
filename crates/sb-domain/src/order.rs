//! Orders as the service-action workflow sees them, whichever connector found them (the built-in
//! demo store or a Shopify-compatible shop).
//!
//! Money is kept in minor units (cents) with its ISO 4217 code: no floating point for amounts.

use crate::Carrier;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Fulfilment state of an order. `Late` is not a state: it is computed from the promised date
/// (see [`Order::is_late`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid, not yet handed to a carrier: it can still be cancelled or changed.
    Unfulfilled,
    /// Handed to a carrier, not yet delivered.
    Shipped,
    Delivered,
    Cancelled,
    /// Sent back by the customer and received.
    Returned,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unfulfilled => "unfulfilled",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
        }
    }

    pub fn parse(label: &str) -> Option<OrderStatus> {
        [OrderStatus::Unfulfilled, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Cancelled, OrderStatus::Returned]
            .into_iter()
            .find(|status| status.as_str() == label)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// Price of one unit in minor units of the order's currency.
    pub unit_price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The number customers quote, without a leading `#` (`A10493`, `558201`).
    pub number: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The delivery date promised to the customer.
    pub promised_delivery: Option<NaiveDate>,
    pub carrier: Option<Carrier>,
    pub tracking_number: Option<String>,
    pub total_minor: i64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    pub items: Vec<OrderItem>,
}

impl Order {
    /// Shipped or unfulfilled past its promised delivery date.
    pub fn is_late(&self, today: NaiveDate) -> bool {
        matches!(self.status, OrderStatus::Unfulfilled | OrderStatus::Shipped) && self.promised_delivery.is_some_and(|promised| promised < today)
    }
}
