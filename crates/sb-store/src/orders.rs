//! The demo store's orders: what the built-in order connector reads. Order numbers are kept
//! upper-case without `#`, so `#a10493` and `A10493` find the same order.

use sqlx::AssertSqlSafe;
use chrono::{DateTime, NaiveDate, Utc};
use sb_domain::{Carrier, Order, OrderItem, OrderStatus};

use crate::records::{json_text, DbRow};
use crate::{from_ms, from_ms_opt, on_reader, on_writer, to_ms, Error, Result, Store};

const ORDER_COLUMNS: &str = "number, customer_email, customer_name, status, placed_at, shipped_at, delivered_at, promised_delivery, carrier, \
     tracking_number, total_minor, currency, items";

/// `#a10493` → `A10493`.
pub fn normalise_order_number(number: &str) -> String {
    number.trim().trim_start_matches('#').to_uppercase()
}

fn parse_carrier(label: &str) -> Option<Carrier> {
    [Carrier::Ups, Carrier::Fedex, Carrier::Usps, Carrier::Dhl].into_iter().find(|carrier| carrier.as_str() == label)
}

fn order_from_row(row: &impl DbRow) -> Result<Order> {
    let status_label = row.string("status")?;
    let status = OrderStatus::parse(&status_label).ok_or_else(|| Error::Invalid(format!("unknown order status `{status_label}` in the database")))?;
    let promised_delivery = row
        .opt_string("promised_delivery")?
        .map(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|error| Error::Invalid(format!("bad promised_delivery `{text}`: {error}"))))
        .transpose()?;
    let items_text = row.string("items")?;
    let items: Vec<OrderItem> = serde_json::from_str(&items_text).map_err(|source| Error::Json { what: "order items", source })?;
    Ok(Order {
        number: row.string("number")?,
        customer_email: row.opt_string("customer_email")?,
        customer_name: row.opt_string("customer_name")?,
        status,
        placed_at: from_ms(row.i64("placed_at")?),
        shipped_at: from_ms_opt(row.opt_i64("shipped_at")?),
        delivered_at: from_ms_opt(row.opt_i64("delivered_at")?),
        promised_delivery,
        carrier: row.opt_string("carrier")?.as_deref().and_then(parse_carrier),
        tracking_number: row.opt_string("tracking_number")?,
        total_minor: row.i64("total_minor")?,
        currency: row.string("currency")?,
        items,
    })
}

impl Store {
    /// Inserts or replaces an order (demo data, imports).
    pub async fn upsert_order(&self, order: &Order) -> Result<()> {
        let number = normalise_order_number(&order.number);
        let items_text = json_text("order items", &order.items)?;
        let email = order.customer_email.as_deref().map(|email| email.trim().to_lowercase());
        on_writer!(self, |pool| {
            sqlx::query(AssertSqlSafe(&*format!(
                "INSERT INTO orders ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (number) DO UPDATE SET customer_email = excluded.customer_email, customer_name = excluded.customer_name, \
                 status = excluded.status, placed_at = excluded.placed_at, shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at, \
                 promised_delivery = excluded.promised_delivery, carrier = excluded.carrier, tracking_number = excluded.tracking_number, \
                 total_minor = excluded.total_minor, currency = excluded.currency, items = excluded.items"
            )))
            .bind(&number)
            .bind(&email)
            .bind(&order.customer_name)
            .bind(order.status.as_str())
            .bind(to_ms(order.placed_at))
            .bind(order.shipped_at.map(to_ms))
            .bind(order.delivered_at.map(to_ms))
            .bind(order.promised_delivery.map(|date| date.format("%Y-%m-%d").to_string()))
            .bind(order.carrier.map(|carrier| carrier.as_str()))
            .bind(&order.tracking_number)
            .bind(order.total_minor)
            .bind(&order.currency)
            .bind(&items_text)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn find_order(&self, number: &str) -> Result<Option<Order>> {
        let number = normalise_order_number(number);
        let order = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {ORDER_COLUMNS} FROM orders WHERE number = $1"))).bind(&number).fetch_optional(pool).await?;
            row.map(|row| order_from_row(&row)).transpose()?
        });
        Ok(order)
    }

    /// A customer's orders, newest first.
    pub async fn orders_for_customer(&self, email: &str, limit: i64) -> Result<Vec<Order>> {
        let email = email.trim().to_lowercase();
        let orders = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {ORDER_COLUMNS} FROM orders WHERE customer_email = $1 ORDER BY placed_at DESC LIMIT $2")))
                .bind(&email)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(order_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(orders)
    }

    /// Changes an order's status (a cancellation the agent confirmed, say).
    pub async fn set_order_status(&self, number: &str, status: OrderStatus, at: DateTime<Utc>) -> Result<()> {
        let number = normalise_order_number(number);
        let at_ms = to_ms(at);
        let updated = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE orders SET status = $1, shipped_at = CASE WHEN $2 = 'shipped' THEN $3 ELSE shipped_at END, \
                 delivered_at = CASE WHEN $4 = 'delivered' THEN $5 ELSE delivered_at END WHERE number = $6",
            )
            .bind(status.as_str())
            .bind(status.as_str())
            .bind(at_ms)
            .bind(status.as_str())
            .bind(at_ms)
            .bind(&number)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(Error::not_found("order", number));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_order_number;

    #[test]
    fn order_numbers_normalise() {
        assert_eq!(normalise_order_number("#a10493"), "A10493");
        assert_eq!(normalise_order_number(" 558201 "), "558201");
    }
}
