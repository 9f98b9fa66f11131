//! Shopify's order JSON and its mapping onto [`sb_domain::Order`].
//!
//! Pure and synchronous so that every mapping rule is tested on plain JSON. Only the fields the
//! mapping reads are declared; serde ignores the rest of Shopify's (large) order object.

use crate::money::{currency_exponent, parse_minor_units};
use chrono::{DateTime, FixedOffset, Utc};
use sb_domain::{Carrier, Order, OrderItem, OrderStatus};
use serde::Deserialize;

/// The body of `GET /admin/api/{version}/orders.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrdersEnvelope {
    pub orders: Vec<ShopifyOrder>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShopifyOrder {
    /// What customers quote: `#1001`, or the shop's own prefix and suffix around the number.
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub customer: Option<ShopifyCustomer>,
    pub created_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    /// `null` (nothing shipped), `partial`, `fulfilled` or `restocked`.
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    #[serde(default)]
    pub fulfillments: Option<Vec<ShopifyFulfillment>>,
    #[serde(default)]
    pub line_items: Option<Vec<ShopifyLineItem>>,
    pub total_price: String,
    pub currency: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShopifyCustomer {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShopifyFulfillment {
    /// `pending`, `open`, `success`, `cancelled`, `error` or `failure`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// The carrier's latest event: `label_printed`, `in_transit`, `out_for_delivery`,
    /// `delivered`, `failure`, ...
    #[serde(default)]
    pub shipment_status: Option<String>,
    #[serde(default)]
    pub tracking_company: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_numbers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShopifyLineItem {
    #[serde(default)]
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    /// Unit price as a decimal string in the order's currency.
    pub price: String,
}

impl ShopifyFulfillment {
    /// A cancelled or failed fulfilment never left the warehouse: it says nothing about where
    /// the parcel is, so it takes no part in status, dates or tracking.
    fn is_active(&self) -> bool {
        !matches!(self.status.as_deref(), Some("cancelled" | "error" | "failure"))
    }

    fn is_delivered(&self) -> bool {
        self.shipment_status.as_deref() == Some("delivered")
    }

    fn tracking_number(&self) -> Option<String> {
        let from_list = || self.tracking_numbers.as_ref()?.iter().find(|number| !number.trim().is_empty()).cloned();
        non_empty(self.tracking_number.as_deref()).or_else(from_list)
    }
}

/// Maps one Shopify order. `Err` carries a lowercase detail for [`crate::Error::BadResponse`].
pub(crate) fn order_from_shopify(shopify_order: ShopifyOrder) -> Result<Order, String> {
    let trimmed_name = shopify_order.name.trim();
    let number = trimmed_name.strip_prefix('#').unwrap_or(trimmed_name).to_owned();
    if number.is_empty() {
        return Err("an order has an empty name".to_owned());
    }
    let currency = shopify_order.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(format!("order {number} has currency {:?}, not an iso 4217 code", shopify_order.currency));
    }
    let exponent = currency_exponent(&currency);
    let total_minor = parse_minor_units(&shopify_order.total_price, exponent).ok_or_else(|| {
        format!("order {number} has total_price {:?}, not an exact decimal amount in {currency}", shopify_order.total_price)
    })?;
    let mut items = Vec::new();
    for line_item in shopify_order.line_items.unwrap_or_default() {
        let unit_price_minor = parse_minor_units(&line_item.price, exponent).ok_or_else(|| {
            format!("order {number} has a line item priced {:?}, not an exact decimal amount in {currency}", line_item.price)
        })?;
        items.push(OrderItem {
            sku: line_item.sku.unwrap_or_default(),
            name: line_item.title,
            quantity: line_item.quantity,
            unit_price_minor,
        });
    }

    let active_fulfillments: Vec<ShopifyFulfillment> =
        shopify_order.fulfillments.unwrap_or_default().into_iter().filter(ShopifyFulfillment::is_active).collect();
    let status = order_status(shopify_order.cancelled_at.is_some(), shopify_order.fulfillment_status.as_deref(), &active_fulfillments);
    let shipped_at = active_fulfillments.iter().filter_map(|fulfillment| fulfillment.created_at).min().map(to_utc);
    // Shopify's REST order has no delivery timestamp: a delivered fulfilment's `updated_at` is
    // when the carrier's "delivered" event was recorded, the closest thing it has.
    let delivered_at = match status {
        OrderStatus::Delivered => active_fulfillments
            .iter()
            .filter(|fulfillment| fulfillment.is_delivered())
            .filter_map(|fulfillment| fulfillment.updated_at)
            .max()
            .map(to_utc),
        _ => None,
    };
    // The newest parcel is the one a customer asking "where is my order" is waiting for.
    let tracked_fulfillment = active_fulfillments
        .iter()
        .filter(|fulfillment| fulfillment.tracking_number().is_some())
        .max_by_key(|fulfillment| fulfillment.created_at);
    let tracking_number = tracked_fulfillment.and_then(ShopifyFulfillment::tracking_number);
    let carrier = tracked_fulfillment.and_then(|fulfillment| fulfillment.tracking_company.as_deref()).and_then(carrier_from_company);

    let customer = shopify_order.customer;
    let customer_email =
        non_empty(shopify_order.email.as_deref()).or_else(|| non_empty(customer.as_ref().and_then(|customer| customer.email.as_deref())));
    let customer_name = customer.as_ref().and_then(|customer| {
        let first_name = customer.first_name.as_deref().unwrap_or("").trim();
        let last_name = customer.last_name.as_deref().unwrap_or("").trim();
        non_empty(Some(&format!("{first_name} {last_name}")))
    });

    Ok(Order {
        number,
        customer_email,
        customer_name,
        status,
        placed_at: to_utc(shopify_order.created_at),
        shipped_at,
        delivered_at,
        // Shopify keeps no promised delivery date on the order; lateness cannot be judged here.
        promised_delivery: None,
        carrier,
        tracking_number,
        total_minor,
        currency,
        items,
    })
}

/// Cancelled wins over everything (a cancelled order may still show an old fulfilment); then
/// delivered, then shipped.
fn order_status(is_cancelled: bool, fulfillment_status: Option<&str>, active_fulfillments: &[ShopifyFulfillment]) -> OrderStatus {
    if is_cancelled {
        return OrderStatus::Cancelled;
    }
    // A partially fulfilled order with one parcel delivered still has goods on the way (or
    // not yet sent): calling it delivered would start the refund window and hide the rest.
    let any_delivered = active_fulfillments.iter().any(ShopifyFulfillment::is_delivered);
    if any_delivered && fulfillment_status != Some("partial") {
        return OrderStatus::Delivered;
    }
    match fulfillment_status {
        Some("fulfilled" | "partial") => OrderStatus::Shipped,
        _ => OrderStatus::Unfulfilled,
    }
}

/// Shopify's `tracking_company` is free text (`UPS`, `FedEx`, `DHL Express`, `USPS`, or
/// anything a merchant typed). Matching whole words keeps `USPS` from reading as `UPS`.
pub(crate) fn carrier_from_company(tracking_company: &str) -> Option<Carrier> {
    let lowercase = tracking_company.to_lowercase();
    let words: Vec<&str> = lowercase.split(|character: char| !character.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
    let has_word = |wanted: &str| words.contains(&wanted);
    let squashed: String = words.concat();
    if has_word("usps") || squashed.contains("unitedstatespostalservice") {
        Some(Carrier::Usps)
    } else if has_word("ups") || squashed.contains("unitedparcelservice") {
        Some(Carrier::Ups)
    } else if has_word("fedex") || squashed.contains("federalexpress") || squashed.starts_with("fedex") {
        Some(Carrier::Fedex)
    } else if has_word("dhl") || squashed.starts_with("dhl") {
        Some(Carrier::Dhl)
    } else {
        None
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|trimmed| !trimmed.is_empty()).map(str::to_owned)
}

fn to_utc(timestamp: DateTime<FixedOffset>) -> DateTime<Utc> {
    timestamp.with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    /// Maps one order given as Shopify JSON and renders the result (or the error detail).
    fn check(shopify_json: &str, expect: Expect) {
        let shopify_order: ShopifyOrder = serde_json::from_str(shopify_json).expect("test json parses");
        let rendered = match order_from_shopify(shopify_order) {
            Ok(order) => serde_json::to_string_pretty(&order).expect("order serialises"),
            Err(detail) => format!("error: {detail}"),
        };
        expect.assert_eq(&rendered);
    }

    fn check_carrier(tracking_company: &str, expect: Expect) {
        expect.assert_eq(&format!("{:?}", carrier_from_company(tracking_company)));
    }

    #[test]
    fn carriers_by_whole_word() {
        check_carrier("UPS", expect!["Some(Ups)"]);
        check_carrier("UPS Mail Innovations", expect!["Some(Ups)"]);
        check_carrier("USPS", expect!["Some(Usps)"]);
        check_carrier("United States Postal Service", expect!["Some(Usps)"]);
        check_carrier("FedEx", expect!["Some(Fedex)"]);
        check_carrier("FedEx SmartPost", expect!["Some(Fedex)"]);
        check_carrier("DHL Express", expect!["Some(Dhl)"]);
        check_carrier("DHL eCommerce", expect!["Some(Dhl)"]);
        check_carrier("Canada Post", expect!["None"]);
        check_carrier("Groupshipping", expect!["None"]);
        check_carrier("", expect!["None"]);
    }

    #[test]
    fn partial_fulfilment_with_one_parcel_delivered_is_shipped() {
        check(
            r##"{
              "name": "#1002", "email": "", "customer": null,
              "created_at": "2024-05-01T10:00:00-04:00", "cancelled_at": null,
              "fulfillment_status": "partial", "total_price": "20.00", "currency": "usd",
              "line_items": [{"sku": null, "title": "Mug", "quantity": 2, "price": "10.00"}],
              "fulfillments": [
                {"status": "success", "created_at": "2024-05-02T09:00:00-04:00", "updated_at": "2024-05-04T12:00:00-04:00",
                 "shipment_status": "delivered", "tracking_company": "USPS", "tracking_number": "9400111899223817000000"},
                {"status": "cancelled", "created_at": "2024-05-03T09:00:00-04:00",
                 "shipment_status": null, "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784"}
              ]
            }"##,
            expect![[r#"
                {
                  "number": "1002",
                  "customer_email": null,
                  "customer_name": null,
                  "status": "shipped",
                  "placed_at": "2024-05-01T14:00:00Z",
                  "shipped_at": "2024-05-02T13:00:00Z",
                  "delivered_at": null,
                  "promised_delivery": null,
                  "carrier": "usps",
                  "tracking_number": "9400111899223817000000",
                  "total_minor": 2000,
                  "currency": "USD",
                  "items": [
                    {
                      "sku": "",
                      "name": "Mug",
                      "quantity": 2,
                      "unit_price_minor": 1000
                    }
                  ]
                }"#]],
        );
    }

    #[test]
    fn customer_email_and_tracking_list_as_fallbacks() {
        check(
            r##"{
              "name": "SB-7", "email": null,
              "customer": {"email": "Kim@Example.com", "first_name": "Kim", "last_name": null},
              "created_at": "2024-05-01T10:00:00Z", "fulfillment_status": "fulfilled",
              "total_price": "1500", "currency": "JPY",
              "fulfillments": [{"status": "success", "created_at": "2024-05-02T00:00:00Z",
                "shipment_status": "in_transit", "tracking_company": "Yamato", "tracking_number": null,
                "tracking_numbers": ["", "4000-1234-5678"]}]
            }"##,
            expect![[r#"
                {
                  "number": "SB-7",
                  "customer_email": "Kim@Example.com",
                  "customer_name": "Kim",
                  "status": "shipped",
                  "placed_at": "2024-05-01T10:00:00Z",
                  "shipped_at": "2024-05-02T00:00:00Z",
                  "delivered_at": null,
                  "promised_delivery": null,
                  "carrier": null,
                  "tracking_number": "4000-1234-5678",
                  "total_minor": 1500,
                  "currency": "JPY",
                  "items": []
                }"#]],
        );
    }

    #[test]
    fn cancelled_wins_over_an_old_delivery() {
        check(
            r##"{
              "name": "#1003", "created_at": "2024-05-01T10:00:00Z", "cancelled_at": "2024-05-09T10:00:00Z",
              "fulfillment_status": "fulfilled", "total_price": "5.00", "currency": "EUR",
              "fulfillments": [{"status": "success", "shipment_status": "delivered"}]
            }"##,
            expect![[r#"
                {
                  "number": "1003",
                  "customer_email": null,
                  "customer_name": null,
                  "status": "cancelled",
                  "placed_at": "2024-05-01T10:00:00Z",
                  "shipped_at": null,
                  "delivered_at": null,
                  "promised_delivery": null,
                  "carrier": null,
                  "tracking_number": null,
                  "total_minor": 500,
                  "currency": "EUR",
                  "items": []
                }"#]],
        );
    }

    #[test]
    fn inexact_or_malformed_money_is_an_error() {
        check(
            r##"{"name": "#1004", "created_at": "2024-05-01T10:00:00Z", "total_price": "19.999", "currency": "USD"}"##,
            expect![[r#"error: order 1004 has total_price "19.999", not an exact decimal amount in USD"#]],
        );
        check(
            r##"{"name": "#1005", "created_at": "2024-05-01T10:00:00Z", "total_price": "10.00", "currency": "USD",
                "line_items": [{"title": "Mug", "quantity": 1, "price": "ten"}]}"##,
            expect![[r#"error: order 1005 has a line item priced "ten", not an exact decimal amount in USD"#]],
        );
        check(
            r##"{"name": "#1006", "created_at": "2024-05-01T10:00:00Z", "total_price": "10.00", "currency": "dollars"}"##,
            expect![[r#"error: order 1006 has currency "dollars", not an iso 4217 code"#]],
        );
        check(
            r##"{"name": " # ", "created_at": "2024-05-01T10:00:00Z", "total_price": "10.00", "currency": "USD"}"##,
            expect!["error: an order has an empty name"],
        );
    }
}
