//! `ShopifyConnector` against the fake Shopify-shaped server: lookups, mapping of the demo
//! orders, and every failure the connector must turn into a typed error without panicking.

use expect_test::{expect, Expect};
use sb_connectors::fake_shop::{
    FakeShop, FakeShopBehaviour, CANCELLED_ORDER, CUSTOMER_EMAIL, DELIVERED_ORDER, OTHER_CUSTOMER_EMAIL, OTHER_CUSTOMER_ORDER,
    SHIPPED_ORDER, UNFULFILLED_ORDER,
};
use sb_connectors::{Error, OrderConnector, ShopifyConfig, ShopifyConnector};
use sb_domain::Order;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn start_shop() -> (FakeShop, Arc<dyn OrderConnector>) {
    let fake_shop = FakeShop::start().await.expect("fake shop starts");
    let connector = ShopifyConnector::new(fake_shop.config()).expect("fake shop config is valid");
    (fake_shop, Arc::new(connector))
}

/// One line per order with everything the workflows read.
fn summary(order: &Order) -> String {
    let carrier = order.carrier.map_or("-", |carrier| carrier.as_str());
    let optional_time = |time: Option<chrono::DateTime<chrono::Utc>>| time.map_or("-".to_owned(), |time| time.to_rfc3339());
    format!(
        "{} {} placed={} shipped={} delivered={} carrier={} tracking={} total={} {} items={} email={} name={}",
        order.number,
        order.status.as_str(),
        order.placed_at.to_rfc3339(),
        optional_time(order.shipped_at),
        optional_time(order.delivered_at),
        carrier,
        order.tracking_number.as_deref().unwrap_or("-"),
        order.total_minor,
        order.currency,
        order.items.len(),
        order.customer_email.as_deref().unwrap_or("-"),
        order.customer_name.as_deref().unwrap_or("-"),
    )
}

async fn check_find(connector: &dyn OrderConnector, number: &str, expect: Expect) {
    let rendered = match connector.find_order(number).await {
        Ok(Some(order)) => summary(&order),
        Ok(None) => "none".to_owned(),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&rendered);
}

#[tokio::test]
async fn demo_orders_map_onto_each_status() {
    let (_fake_shop, connector) = start_shop().await;
    check_find(
        &*connector,
        UNFULFILLED_ORDER,
        expect!["A10492 unfulfilled placed=2024-06-03T11:45:00+00:00 shipped=- delivered=- carrier=- tracking=- total=5998 USD items=1 email=ada@example.com name=Ada Lovelace"],
    )
    .await;
    check_find(
        &*connector,
        SHIPPED_ORDER,
        expect!["A10493 shipped placed=2024-06-01T16:00:00+00:00 shipped=2024-06-02T14:20:00+00:00 delivered=- carrier=ups tracking=1Z999AA10123456784 total=12900 USD items=1 email=ada@example.com name=Ada Lovelace"],
    )
    .await;
    check_find(
        &*connector,
        DELIVERED_ORDER,
        expect!["A10490 delivered placed=2024-05-20T13:15:00+00:00 shipped=2024-05-21T18:00:00+00:00 delivered=2024-05-23T15:30:00+00:00 carrier=fedex tracking=794612345678 total=8450 USD items=2 email=ada@example.com name=Ada Lovelace"],
    )
    .await;
    // Found only because the connector asks with `status=any`: Shopify hides cancelled orders
    // by default, and the fake shop does the same.
    check_find(
        &*connector,
        CANCELLED_ORDER,
        expect!["A10491 cancelled placed=2024-05-28T22:02:00+00:00 shipped=- delivered=- carrier=- tracking=- total=1999 USD items=1 email=ada@example.com name=Ada Lovelace"],
    )
    .await;
}

#[tokio::test]
async fn one_order_in_full() {
    let (_fake_shop, connector) = start_shop().await;
    let order = connector.find_order(DELIVERED_ORDER).await.unwrap().unwrap();
    expect![[r#"
        {
          "number": "A10490",
          "customer_email": "ada@example.com",
          "customer_name": "Ada Lovelace",
          "status": "delivered",
          "placed_at": "2024-05-20T13:15:00Z",
          "shipped_at": "2024-05-21T18:00:00Z",
          "delivered_at": "2024-05-23T15:30:00Z",
          "promised_delivery": null,
          "carrier": "fedex",
          "tracking_number": "794612345678",
          "total_minor": 8450,
          "currency": "USD",
          "items": [
            {
              "sku": "KB-101",
              "name": "Mechanical keyboard",
              "quantity": 1,
              "unit_price_minor": 7900
            },
            {
              "sku": "CAB-USB-C",
              "name": "USB-C cable",
              "quantity": 1,
              "unit_price_minor": 550
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&order).unwrap());
}

#[tokio::test]
async fn order_numbers_are_found_however_they_are_written() {
    let (_fake_shop, connector) = start_shop().await;
    for spelling in ["#A10493", "A10493", "a10493", " #a10493 "] {
        let order = connector.find_order(spelling).await.unwrap();
        assert_eq!(order.map(|order| order.number), Some("A10493".to_owned()), "{spelling:?}");
    }
}

#[tokio::test]
async fn unknown_and_impossible_numbers_are_none() {
    let (fake_shop, connector) = start_shop().await;
    check_find(&*connector, "#A99999", expect!["none"]).await;
    let n_requests_before = fake_shop.n_requests();
    // Not an order number at all: answered without asking the shop.
    check_find(&*connector, "A10493&status=any", expect!["none"]).await;
    check_find(&*connector, "", expect!["none"]).await;
    assert_eq!(fake_shop.n_requests(), n_requests_before);
}

#[tokio::test]
async fn customer_orders_newest_first_and_limited() {
    let (_fake_shop, connector) = start_shop().await;
    let numbers = |orders: Vec<Order>| orders.into_iter().map(|order| order.number).collect::<Vec<_>>().join(" ");

    let all_orders = connector.orders_for_customer(CUSTOMER_EMAIL, 10).await.unwrap();
    expect!["A10492 A10493 A10491 A10490"].assert_eq(&numbers(all_orders));
    let latest_two = connector.orders_for_customer(CUSTOMER_EMAIL, 2).await.unwrap();
    expect!["A10492 A10493"].assert_eq(&numbers(latest_two));
    // Shops keep the e-mail as typed; customers write it in any case.
    let other_customer = connector.orders_for_customer("grace@EXAMPLE.com", 10).await.unwrap();
    expect!["A10494"].assert_eq(&numbers(other_customer));
    assert!(connector.orders_for_customer("nobody@example.com", 10).await.unwrap().is_empty());
    assert!(connector.orders_for_customer(CUSTOMER_EMAIL, 0).await.unwrap().is_empty());
    assert!(connector.orders_for_customer("not an email", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_shop_that_ignores_filters_never_leaks_other_customers_orders() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::IgnoreFilters);

    let orders = connector.orders_for_customer(OTHER_CUSTOMER_EMAIL, 10).await.unwrap();
    let numbers: Vec<String> = orders.into_iter().map(|order| order.number).collect();
    assert_eq!(numbers, [OTHER_CUSTOMER_ORDER.trim_start_matches('#')]);

    let order = connector.find_order(SHIPPED_ORDER).await.unwrap().unwrap();
    assert_eq!(order.number, "A10493");
}

#[tokio::test]
async fn wrong_token_is_authentication_refused() {
    let fake_shop = FakeShop::start().await.unwrap();
    let config = ShopifyConfig { access_token: "shpat_wrong".to_owned(), ..fake_shop.config() };
    let connector = ShopifyConnector::new(config).unwrap();
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    assert!(matches!(error, Error::AuthenticationRefused { http_status: 401, .. }), "{error:?}");
    assert!(!error.is_retryable());
    expect!["order connector shopify refused the access token (http 401); check the token and that it has the read_orders scope"]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn unsupported_api_version_is_a_bad_response_naming_the_version() {
    let fake_shop = FakeShop::start().await.unwrap();
    let config = ShopifyConfig { api_version: "2019-04".to_owned(), ..fake_shop.config() };
    let connector = ShopifyConnector::new(config).unwrap();
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    expect!["order connector shopify sent a response it cannot use: http 404 for the orders endpoint; check the shop url and that api version 2019-04 is supported"]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn one_short_rate_limit_is_waited_out() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::RateLimitOnce { retry_after: Some("0.2".to_owned()) });
    let started = Instant::now();
    let order = connector.find_order(SHIPPED_ORDER).await.unwrap();
    assert_eq!(order.map(|order| order.number).as_deref(), Some("A10493"));
    assert_eq!(fake_shop.n_requests(), 2);
    assert!(started.elapsed() >= Duration::from_millis(200), "waited only {:?}", started.elapsed());
}

#[tokio::test]
async fn a_rate_limit_without_retry_after_is_waited_out_briefly() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::RateLimitOnce { retry_after: None });
    let orders = connector.orders_for_customer(CUSTOMER_EMAIL, 10).await.unwrap();
    assert_eq!(orders.len(), 4);
    assert_eq!(fake_shop.n_requests(), 2);
}

#[tokio::test]
async fn a_lasting_rate_limit_is_retried_once_then_returned() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::RateLimitAlways { retry_after: Some("0.1".to_owned()) });
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    assert_eq!(fake_shop.n_requests(), 2, "exactly one retry");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_millis(100)));
    expect!["order connector shopify is rate limiting requests; retry after 100ms, or lower the request rate"]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn a_long_retry_after_is_returned_without_waiting() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::RateLimitOnce { retry_after: Some("30.0".to_owned()) });
    let started = Instant::now();
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(fake_shop.n_requests(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn server_error_is_unreachable_and_retryable() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::ServerError);
    let error = connector.orders_for_customer(CUSTOMER_EMAIL, 5).await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(fake_shop.n_requests(), 1, "5xx is left to the caller to retry");
    expect!["order connector shopify is unreachable: the shop answered http 500; retry later, and check the shop url and the shop's status page if it persists"]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn garbage_and_misshapen_json_are_bad_responses() {
    let (fake_shop, connector) = start_shop().await;
    fake_shop.set_behaviour(FakeShopBehaviour::GarbageJson);
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
    expect!["order connector shopify sent a response it cannot use: the orders json does not parse (EOF while parsing a string at line 1 column 25); check that the shop url points at a shopify-compatible shop"]
        .assert_eq(&error.to_string());

    fake_shop.set_behaviour(FakeShopBehaviour::WrongShape);
    let error = connector.orders_for_customer(CUSTOMER_EMAIL, 5).await.unwrap_err();
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_order_that_does_not_map_is_a_bad_response() {
    let mut broken_order = sb_connectors::fake_shop::demo_orders().remove(0);
    broken_order["total_price"] = serde_json::json!("84.505");
    let fake_shop = FakeShop::start_with_orders(vec![broken_order]).await.unwrap();
    let connector = ShopifyConnector::new(fake_shop.config()).unwrap();
    let error = connector.find_order(DELIVERED_ORDER).await.unwrap_err();
    expect![[r#"order connector shopify sent a response it cannot use: order A10490 has total_price "84.505", not an exact decimal amount in USD"#]]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn a_hanging_shop_times_out() {
    let fake_shop = FakeShop::start().await.unwrap();
    fake_shop.set_behaviour(FakeShopBehaviour::Hang);
    let config = ShopifyConfig { timeout: Duration::from_millis(300), ..fake_shop.config() };
    let connector = ShopifyConnector::new(config).unwrap();
    let started = Instant::now();
    let error = connector.find_order(SHIPPED_ORDER).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3), "took {elapsed:?}");
    expect![
        "order connector shopify did not answer within 300ms; retry later, or raise the connector timeout if the shop is always this slow"
    ]
    .assert_eq(&error.to_string());
}

#[tokio::test]
async fn a_closed_port_is_unreachable_without_leaking_the_email() {
    // Bind and drop a listener to get a port that nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = ShopifyConfig::new(format!("http://127.0.0.1:{closed_port}"), "shpat_any");
    let connector = ShopifyConnector::new(config).unwrap();
    let error = connector.orders_for_customer(CUSTOMER_EMAIL, 5).await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(!message.contains("example.com") && !message.contains("127.0.0.1"), "{message}");
    assert!(message.to_lowercase().contains("connect"), "{message}");
}
