//! A small Shopify-shaped HTTP server for tests (feature `test-support`).
//!
//! It serves `GET /admin/api/{version}/orders.json` on 127.0.0.1 with a random port, the way
//! Shopify does for what [`crate::ShopifyConnector`] asks: it checks the access token, answers an
//! unknown API version with 404, filters by `name` (with or without `#`, any case) and `email`,
//! hides cancelled orders unless `status=any`, lists by id unless asked for `order=created_at desc`,
//! and honours `limit`. A test can make it misbehave
//! ([`FakeShopBehaviour`]) to exercise the connector's error handling.
//!
//! The server runs on the test's tokio runtime and stops when the [`FakeShop`] is dropped.

use crate::ShopifyConfig;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The only access token the fake shop accepts.
pub const FAKE_SHOP_ACCESS_TOKEN: &str = "shpat_fake_shop_token";
/// The only API version the fake shop serves; others get 404.
pub const FAKE_SHOP_API_VERSION: &str = "2024-10";

/// The demo orders, as customers quote them.
pub const DELIVERED_ORDER: &str = "#A10490";
pub const CANCELLED_ORDER: &str = "#A10491";
pub const UNFULFILLED_ORDER: &str = "#A10492";
/// Shipped with UPS, in transit.
pub const SHIPPED_ORDER: &str = "#A10493";
/// The one order of [`OTHER_CUSTOMER_EMAIL`].
pub const OTHER_CUSTOMER_ORDER: &str = "#A10494";
/// Placed all demo orders except [`OTHER_CUSTOMER_ORDER`].
pub const CUSTOMER_EMAIL: &str = "ada@example.com";
/// Stored with capitals, as shops keep what the customer typed.
pub const OTHER_CUSTOMER_EMAIL: &str = "Grace@Example.com";

/// Hang no longer than this even if the test forgets to drop the shop, so no test waits forever.
const MAX_HANG: Duration = Duration::from_secs(60);

/// How the fake shop answers the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeShopBehaviour {
    /// Like Shopify.
    Normal,
    /// 429 for the next request, with this `Retry-After` (`None`: no header), then normal.
    RateLimitOnce { retry_after: Option<String> },
    /// 429 for every request.
    RateLimitAlways { retry_after: Option<String> },
    /// 500 with Shopify's error body.
    ServerError,
    /// 200 with a body that is not JSON.
    GarbageJson,
    /// 200 with JSON that is not an orders list.
    WrongShape,
    /// Accepts the request and does not answer until the shop is dropped.
    Hang,
    /// Ignores the `name` and `email` filters and returns every order, as a shop that does not
    /// know them would.
    IgnoreFilters,
}

/// A running fake shop. Dropping it stops the server.
pub struct FakeShop {
    address: SocketAddr,
    shared: Arc<SharedState>,
    shutdown_sender: watch::Sender<bool>,
    server_task: JoinHandle<()>,
}

struct SharedState {
    orders: Vec<Value>,
    behaviour: Mutex<FakeShopBehaviour>,
    n_requests: AtomicUsize,
    shutdown_receiver: watch::Receiver<bool>,
}

impl FakeShop {
    /// Starts a shop serving [`demo_orders`].
    pub async fn start() -> std::io::Result<FakeShop> {
        FakeShop::start_with_orders(demo_orders()).await
    }

    /// Starts a shop serving these orders (Shopify order JSON objects).
    pub async fn start_with_orders(orders: Vec<Value>) -> std::io::Result<FakeShop> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (shutdown_sender, shutdown_receiver) = watch::channel(false);
        let shared = Arc::new(SharedState {
            orders,
            behaviour: Mutex::new(FakeShopBehaviour::Normal),
            n_requests: AtomicUsize::new(0),
            shutdown_receiver,
        });
        let router = Router::new().route("/admin/api/{version}/orders.json", get(list_orders)).with_state(Arc::clone(&shared));
        let server_task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(error = %error, "fake shop stopped");
            }
        });
        Ok(FakeShop { address, shared, shutdown_sender, server_task })
    }

    /// `http://127.0.0.1:PORT`, the shop URL to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A connector configuration for this shop: the right token and version, a 2 s timeout,
    /// and up to 1 s of waiting out a rate limit.
    pub fn config(&self) -> ShopifyConfig {
        ShopifyConfig {
            api_version: FAKE_SHOP_API_VERSION.to_owned(),
            timeout: Duration::from_secs(2),
            max_rate_limit_wait: Duration::from_secs(1),
            ..ShopifyConfig::new(self.base_url(), FAKE_SHOP_ACCESS_TOKEN)
        }
    }

    pub fn set_behaviour(&self, behaviour: FakeShopBehaviour) {
        *self.shared.behaviour.lock().unwrap_or_else(PoisonError::into_inner) = behaviour;
    }

    /// Requests received so far, answered or not.
    pub fn n_requests(&self) -> usize {
        self.shared.n_requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeShop {
    fn drop(&mut self) {
        // Releases hanging handlers; aborting the accept loop closes the listener.
        let _ = self.shutdown_sender.send(true);
        self.server_task.abort();
    }
}

async fn list_orders(
    State(shared): State<Arc<SharedState>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    shared.n_requests.fetch_add(1, Ordering::SeqCst);

    let token = headers.get("X-Shopify-Access-Token").and_then(|value| value.to_str().ok());
    if token != Some(FAKE_SHOP_ACCESS_TOKEN) {
        let body = json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    if version != FAKE_SHOP_API_VERSION {
        return (StatusCode::NOT_FOUND, Json(json!({ "errors": "Not Found" }))).into_response();
    }

    let behaviour = {
        let mut behaviour = shared.behaviour.lock().unwrap_or_else(PoisonError::into_inner);
        let current = behaviour.clone();
        if matches!(current, FakeShopBehaviour::RateLimitOnce { .. }) {
            *behaviour = FakeShopBehaviour::Normal;
        }
        current
    };
    let apply_filters = match behaviour {
        FakeShopBehaviour::Normal => true,
        FakeShopBehaviour::IgnoreFilters => false,
        FakeShopBehaviour::RateLimitOnce { retry_after } | FakeShopBehaviour::RateLimitAlways { retry_after } => {
            let body =
                json!({ "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." });
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            if let Some(value) = retry_after.and_then(|retry_after| retry_after.parse().ok()) {
                response.headers_mut().insert("Retry-After", value);
            }
            return response;
        }
        FakeShopBehaviour::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "errors": "Internal Server Error" }))).into_response();
        }
        FakeShopBehaviour::GarbageJson => {
            return (StatusCode::OK, [("Content-Type", "application/json")], "{\"orders\": [{\"name\": \"#A1").into_response();
        }
        FakeShopBehaviour::WrongShape => {
            return (StatusCode::OK, Json(json!({ "order": { "name": "#A10490" } }))).into_response();
        }
        FakeShopBehaviour::Hang => {
            let mut shutdown_receiver = shared.shutdown_receiver.clone();
            tokio::select! {
                _ = tokio::time::sleep(MAX_HANG) => {}
                _ = shutdown_receiver.wait_for(|is_shut_down| *is_shut_down) => {}
            }
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };

    let Ok(limit) = params.get("limit").map_or(Ok(50), |limit| limit.parse::<usize>()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "errors": { "limit": ["must be a number"] } }))).into_response();
    };
    let include_closed = params.get("status").map(String::as_str) == Some("any");
    let wanted_name = params.get("name").map(|name| comparable_name(name));
    let wanted_email = params.get("email").map(|email| email.to_lowercase());
    let mut sorted_orders: Vec<&Value> = shared.orders.iter().collect();
    // Shopify lists by id unless asked for `order=created_at desc`.
    match params.get("order").map(String::as_str) {
        Some("created_at desc") => sorted_orders.sort_by_key(|order| std::cmp::Reverse(created_at(order))),
        _ => sorted_orders.sort_by_key(|order| order["id"].as_u64()),
    }
    let orders: Vec<&Value> = sorted_orders
        .into_iter()
        .filter(|order| include_closed || order["cancelled_at"].is_null())
        .filter(|order| {
            !apply_filters || wanted_name.as_ref().is_none_or(|wanted| order["name"].as_str().map(comparable_name).as_ref() == Some(wanted))
        })
        .filter(|order| {
            !apply_filters
                || wanted_email.as_ref().is_none_or(|wanted| order["email"].as_str().map(str::to_lowercase).as_ref() == Some(wanted))
        })
        .take(limit.min(250))
        .collect();
    let mut response = Json(json!({ "orders": orders })).into_response();
    response.headers_mut().insert("X-Shopify-API-Version", axum::http::HeaderValue::from_static(FAKE_SHOP_API_VERSION));
    response
}

fn created_at(order: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(order["created_at"].as_str()?).ok()
}

fn comparable_name(name: &str) -> String {
    name.trim().trim_start_matches('#').to_lowercase()
}

/// Five orders in Shopify's JSON: for [`CUSTOMER_EMAIL`] one delivered by FedEx, one
/// cancelled, one unfulfilled and one shipped with UPS tracking; one unfulfilled order for
/// [`OTHER_CUSTOMER_EMAIL`].
pub fn demo_orders() -> Vec<Value> {
    let ada = json!({ "id": 7001, "email": CUSTOMER_EMAIL, "first_name": "Ada", "last_name": "Lovelace" });
    let grace = json!({ "id": 7002, "email": OTHER_CUSTOMER_EMAIL, "first_name": "Grace", "last_name": "Hopper" });
    vec![
        json!({
            "id": 5001, "name": DELIVERED_ORDER, "email": CUSTOMER_EMAIL, "customer": ada,
            "created_at": "2024-05-20T09:15:00-04:00", "cancelled_at": null, "closed_at": null,
            "financial_status": "paid", "fulfillment_status": "fulfilled",
            "total_price": "84.50", "currency": "USD",
            "line_items": [
                { "id": 1, "sku": "KB-101", "title": "Mechanical keyboard", "quantity": 1, "price": "79.00" },
                { "id": 2, "sku": "CAB-USB-C", "title": "USB-C cable", "quantity": 1, "price": "5.50" }
            ],
            "fulfillments": [{
                "id": 9001, "status": "success", "created_at": "2024-05-21T14:00:00-04:00", "updated_at": "2024-05-23T11:30:00-04:00",
                "shipment_status": "delivered", "tracking_company": "FedEx", "tracking_number": "794612345678",
                "tracking_numbers": ["794612345678"]
            }]
        }),
        json!({
            "id": 5002, "name": CANCELLED_ORDER, "email": CUSTOMER_EMAIL, "customer": ada,
            "created_at": "2024-05-28T18:02:00-04:00", "cancelled_at": "2024-05-29T08:00:00-04:00", "closed_at": "2024-05-29T08:00:00-04:00",
            "cancel_reason": "customer", "financial_status": "refunded", "fulfillment_status": null,
            "total_price": "19.99", "currency": "USD",
            "line_items": [{ "id": 3, "sku": "MUG-BLK", "title": "Black mug", "quantity": 1, "price": "19.99" }],
            "fulfillments": []
        }),
        json!({
            "id": 5003, "name": UNFULFILLED_ORDER, "email": CUSTOMER_EMAIL, "customer": ada,
            "created_at": "2024-06-03T07:45:00-04:00", "cancelled_at": null, "closed_at": null,
            "financial_status": "paid", "fulfillment_status": null,
            "total_price": "59.98", "currency": "USD",
            "line_items": [{ "id": 4, "sku": "TSH-M-BLU", "title": "T-shirt, blue, M", "quantity": 2, "price": "29.99" }],
            "fulfillments": []
        }),
        json!({
            "id": 5004, "name": SHIPPED_ORDER, "email": CUSTOMER_EMAIL, "customer": ada,
            "created_at": "2024-06-01T12:00:00-04:00", "cancelled_at": null, "closed_at": null,
            "financial_status": "paid", "fulfillment_status": "fulfilled",
            "total_price": "129.00", "currency": "USD",
            "line_items": [{ "id": 5, "sku": "HP-200", "title": "Headphones", "quantity": 1, "price": "129.00" }],
            "fulfillments": [{
                "id": 9002, "status": "success", "created_at": "2024-06-02T10:20:00-04:00", "updated_at": "2024-06-03T06:00:00-04:00",
                "shipment_status": "in_transit", "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
                "tracking_numbers": ["1Z999AA10123456784"]
            }]
        }),
        json!({
            "id": 5005, "name": OTHER_CUSTOMER_ORDER, "email": OTHER_CUSTOMER_EMAIL, "customer": grace,
            "created_at": "2024-06-02T16:30:00-04:00", "cancelled_at": null, "closed_at": null,
            "financial_status": "paid", "fulfillment_status": null,
            "total_price": "12.00", "currency": "EUR",
            "line_items": [{ "id": 6, "sku": null, "title": "Gift card", "quantity": 1, "price": "12.00" }],
            "fulfillments": []
        }),
    ]
}
