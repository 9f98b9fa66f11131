//! A client of the Shopify Admin REST API (and of shops that speak its dialect), as an
//! [`OrderConnector`].
//!
//! Two endpoints are used, both read-only: `orders.json?name=…` to find one order and
//! `orders.json?email=…` for a customer's orders, both with `status=any` (Shopify's default
//! hides cancelled and archived orders, which customers ask about most). A 429 is waited out
//! once when the shop's `Retry-After` is short enough; every other failure becomes an
//! [`Error`] at once, so the caller decides about retries.

mod wire;

use crate::{normalize_order_number, Error, OrderConnector, Result};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use sb_domain::Order;
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// The API version used when the configuration names none: a stable version that Shopify
/// still serves. Shopify answers unsupported versions with the oldest supported one, and we
/// warn when that happens.
pub const DEFAULT_SHOPIFY_API_VERSION: &str = "2024-10";

const CONNECTOR_NAME: &str = "shopify";
const ACCESS_TOKEN_HEADER: &str = "X-Shopify-Access-Token";
/// Shopify's largest page.
const MAX_PAGE_LIMIT: usize = 250;
/// A page of 250 orders is well under this; a larger body is a misbehaving server, and reading
/// it whole would let it exhaust our memory.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Shopify's REST bucket leaks two requests a second: half a second frees a slot.
const RATE_LIMIT_WAIT_WITHOUT_RETRY_AFTER: Duration = Duration::from_millis(500);
/// Only the fields the mapping reads: less to transfer, and less personal data in flight.
const ORDER_FIELDS: &str = "name,email,customer,created_at,cancelled_at,fulfillment_status,fulfillments,line_items,total_price,currency";

/// Where the shop is and how to talk to it.
#[derive(Clone)]
pub struct ShopifyConfig {
    /// The shop's base URL, e.g. `https://example.myshopify.com` (a path prefix is kept).
    pub shop_url: String,
    /// An Admin API access token with the `read_orders` scope.
    pub access_token: String,
    /// The Admin API version, e.g. `2024-10`.
    pub api_version: String,
    /// The longest one request may take, connection and body included.
    pub timeout: Duration,
    /// The longest a 429's `Retry-After` may ask us to wait before the one retry; a longer wait
    /// is returned to the caller as [`Error::RateLimited`] instead of blocking the request.
    pub max_rate_limit_wait: Duration,
}

impl ShopifyConfig {
    /// The default API version, a 10 s timeout and at most 2 s of waiting out a rate limit.
    pub fn new(shop_url: impl Into<String>, access_token: impl Into<String>) -> ShopifyConfig {
        ShopifyConfig {
            shop_url: shop_url.into(),
            access_token: access_token.into(),
            api_version: DEFAULT_SHOPIFY_API_VERSION.to_owned(),
            timeout: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(2),
        }
    }
}

/// Hand-written so that the access token never reaches a log line.
impl std::fmt::Debug for ShopifyConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ShopifyConfig")
            .field("shop_url", &self.shop_url)
            .field("access_token", &"[redacted]")
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .finish()
    }
}

/// The Shopify-compatible [`OrderConnector`]. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct ShopifyConnector {
    http_client: reqwest::Client,
    orders_url: Url,
    api_version: String,
    timeout: Duration,
    max_rate_limit_wait: Duration,
}

/// Which endpoint a request is for, for logs (the URL itself carries customer data).
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    OrderByName,
    OrdersByEmail,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Endpoint::OrderByName => "orders_by_name",
            Endpoint::OrdersByEmail => "orders_by_email",
        }
    }
}

impl ShopifyConnector {
    /// Checks the configuration and builds the HTTP client; no request is made yet.
    pub fn new(config: ShopifyConfig) -> Result<ShopifyConnector> {
        let invalid_config = |detail: String| Error::InvalidConfig { connector: CONNECTOR_NAME.to_owned(), detail };

        let api_version = config.api_version.trim().to_owned();
        let is_version_char = |character: char| character.is_ascii_alphanumeric() || character == '-';
        if api_version.is_empty() || !api_version.chars().all(is_version_char) {
            return Err(invalid_config(format!("api version {api_version:?} is not like 2024-10; set a version the shop supports")));
        }
        let shop_url = Url::parse(config.shop_url.trim())
            .map_err(|error| invalid_config(format!("shop url does not parse ({error}); set it like https://example.myshopify.com")))?;
        if !matches!(shop_url.scheme(), "http" | "https") || shop_url.cannot_be_a_base() {
            return Err(invalid_config("shop url must be an http or https url like https://example.myshopify.com".to_owned()));
        }
        if shop_url.query().is_some() || shop_url.fragment().is_some() {
            return Err(invalid_config("shop url must not have a query or fragment; give the shop's base url".to_owned()));
        }
        let orders_url = Url::parse(&format!("{}/admin/api/{api_version}/orders.json", shop_url.as_str().trim_end_matches('/')))
            .map_err(|error| invalid_config(format!("cannot build the orders url ({error}); check the shop url")))?;

        let access_token = config.access_token.trim();
        if access_token.is_empty() {
            return Err(invalid_config("the access token is empty; set an admin api token with the read_orders scope".to_owned()));
        }
        let mut token_header = HeaderValue::from_str(access_token)
            .map_err(|_| invalid_config("the access token has characters not allowed in an http header; paste it again".to_owned()))?;
        token_header.set_sensitive(true);
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCESS_TOKEN_HEADER, token_header);
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        if config.timeout.is_zero() {
            return Err(invalid_config("the timeout is zero; set a few seconds".to_owned()));
        }
        let http_client = reqwest::Client::builder()
            .default_headers(default_headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            // Following a redirect would resend the token to wherever the shop points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| invalid_config(format!("cannot build the http client ({error})")))?;

        Ok(ShopifyConnector {
            http_client,
            orders_url,
            api_version,
            timeout: config.timeout,
            max_rate_limit_wait: config.max_rate_limit_wait,
        })
    }

    fn orders_url_with(&self, filters: &[(&str, &str)]) -> Url {
        let mut url = self.orders_url.clone();
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in filters {
                query.append_pair(key, value);
            }
            query.append_pair("status", "any");
            query.append_pair("fields", ORDER_FIELDS);
        }
        url
    }

    /// One request, plus one retry after a short enough 429.
    async fn fetch_orders(&self, endpoint: Endpoint, url: Url) -> Result<Vec<wire::ShopifyOrder>> {
        match self.fetch_orders_once(endpoint, url.clone()).await {
            Err(Error::RateLimited { connector, retry_after }) => {
                let wait = retry_after.unwrap_or(RATE_LIMIT_WAIT_WITHOUT_RETRY_AFTER);
                if wait > self.max_rate_limit_wait {
                    return Err(Error::RateLimited { connector, retry_after });
                }
                warn!(
                    connector = CONNECTOR_NAME,
                    endpoint = endpoint.as_str(),
                    wait_ms = wait.as_millis() as u64,
                    "shop rate limited the request; retrying once"
                );
                tokio::time::sleep(wait).await;
                self.fetch_orders_once(endpoint, url).await
            }
            other => other,
        }
    }

    async fn fetch_orders_once(&self, endpoint: Endpoint, url: Url) -> Result<Vec<wire::ShopifyOrder>> {
        let started = Instant::now();
        let result = self.send_and_parse(url).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(orders) => {
                debug!(connector = CONNECTOR_NAME, endpoint = endpoint.as_str(), n_orders = orders.len(), elapsed_ms, "shop request done")
            }
            Err(error) => {
                warn!(connector = CONNECTOR_NAME, endpoint = endpoint.as_str(), elapsed_ms, error = %error, "shop request failed")
            }
        }
        result
    }

    async fn send_and_parse(&self, url: Url) -> Result<Vec<wire::ShopifyOrder>> {
        let mut response = self.http_client.get(url).send().await.map_err(|error| self.transport_error(error))?;
        let http_status = response.status();
        if let Some(served_version) = response.headers().get("X-Shopify-API-Version").and_then(|value| value.to_str().ok()) {
            if served_version != self.api_version {
                warn!(connector = CONNECTOR_NAME, requested_version = %self.api_version, served_version, "shop served another api version; update the configured api version");
            }
        }
        if !http_status.is_success() {
            return Err(self.status_error(http_status, response.headers()));
        }

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| self.transport_error(error))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(self.bad_response(format!(
                    "the orders body is larger than {MAX_BODY_BYTES} bytes; check that the shop url points at a shopify-compatible shop"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let envelope: wire::OrdersEnvelope = serde_json::from_slice(&body).map_err(|error| {
            self.bad_response(format!(
                "the orders json does not parse ({error}); check that the shop url points at a shopify-compatible shop"
            ))
        })?;
        Ok(envelope.orders)
    }

    fn status_error(&self, http_status: StatusCode, headers: &HeaderMap) -> Error {
        let connector = CONNECTOR_NAME.to_owned();
        match http_status.as_u16() {
            401 | 403 => Error::AuthenticationRefused { connector, http_status: http_status.as_u16() },
            429 => Error::RateLimited {
                connector,
                retry_after: headers.get(RETRY_AFTER).and_then(|value| value.to_str().ok()).and_then(parse_retry_after),
            },
            404 => self.bad_response(format!(
                "http 404 for the orders endpoint; check the shop url and that api version {} is supported",
                self.api_version
            )),
            500..=599 => Error::Unreachable { connector, detail: format!("the shop answered http {}", http_status.as_u16()) },
            300..=399 => self.bad_response(format!(
                "http {} redirect from the orders endpoint; set the shop url to the shop's final https address",
                http_status.as_u16()
            )),
            other => self.bad_response(format!("unexpected http {other} from the orders endpoint; check the shop url and api version")),
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> Error {
        let connector = CONNECTOR_NAME.to_owned();
        if error.is_timeout() {
            return Error::Timeout { connector, timeout: self.timeout };
        }
        // The URL carries the customer's e-mail: keep it out of the message.
        let error = error.without_url();
        if error.is_decode() {
            return self.bad_response(format!("the response body cannot be read ({})", error_chain(&error)));
        }
        Error::Unreachable { connector, detail: error_chain(&error) }
    }

    fn bad_response(&self, detail: String) -> Error {
        Error::BadResponse { connector: CONNECTOR_NAME.to_owned(), detail }
    }

    fn map_orders(&self, shopify_orders: Vec<wire::ShopifyOrder>) -> Result<Vec<Order>> {
        shopify_orders
            .into_iter()
            .map(|shopify_order| wire::order_from_shopify(shopify_order).map_err(|detail| self.bad_response(detail)))
            .collect()
    }
}

#[async_trait]
impl OrderConnector for ShopifyConnector {
    fn name(&self) -> &str {
        CONNECTOR_NAME
    }

    async fn find_order(&self, number: &str) -> Result<Option<Order>> {
        let Some(wanted_number) = normalize_order_number(number) else {
            return Ok(None);
        };
        // Shopify matches `name` loosely (with or without `#`, sometimes by prefix), so the
        // answer is filtered again here for the exact order.
        let url = self.orders_url_with(&[("name", &wanted_number), ("limit", "10")]);
        let orders = self.map_orders(self.fetch_orders(Endpoint::OrderByName, url).await?)?;
        Ok(orders.into_iter().find(|order| normalize_order_number(&order.number).as_deref() == Some(wanted_number.as_str())))
    }

    async fn orders_for_customer(&self, email: &str, limit: usize) -> Result<Vec<Order>> {
        let wanted_email = email.trim();
        if limit == 0 || wanted_email.is_empty() || !wanted_email.contains('@') {
            return Ok(Vec::new());
        }
        let page_limit = limit.min(MAX_PAGE_LIMIT).to_string();
        // Without `order`, Shopify pages by id; the limit must cut the oldest orders, not the newest.
        let url = self.orders_url_with(&[("email", wanted_email), ("limit", &page_limit), ("order", "created_at desc")]);
        let mut orders = self.map_orders(self.fetch_orders(Endpoint::OrdersByEmail, url).await?)?;
        // A shop that ignores the `email` filter would otherwise hand this customer someone
        // else's orders: only exact e-mail matches go back to the caller.
        orders.retain(|order| order.customer_email.as_deref().is_some_and(|order_email| order_email.eq_ignore_ascii_case(wanted_email)));
        orders.sort_by(|left, right| right.placed_at.cmp(&left.placed_at).then_with(|| right.number.cmp(&left.number)));
        orders.truncate(limit);
        Ok(orders)
    }
}

/// `Retry-After` is seconds (Shopify sends `2.0`) or an HTTP date. Nonsense is `None`.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let retry_at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = retry_at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// "error sending request: client error (Connect): tcp connect error: Connection refused":
/// reqwest's own message alone ("error sending request") does not tell the operator why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.last().is_some_and(|previous| previous.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check_retry_after(value: &str, expect: Expect) {
        expect.assert_eq(&format!("{:?}", parse_retry_after(value)));
    }

    #[test]
    fn retry_after_values() {
        check_retry_after("2.0", expect!["Some(2s)"]);
        check_retry_after("3", expect!["Some(3s)"]);
        check_retry_after("0.25", expect!["Some(250ms)"]);
        check_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", expect!["Some(0ns)"]);
        check_retry_after("-1", expect!["None"]);
        check_retry_after("NaN", expect!["None"]);
        check_retry_after("soon", expect!["None"]);
    }

    fn check_config(config: ShopifyConfig, expect: Expect) {
        let rendered = match ShopifyConnector::new(config) {
            Ok(connector) => format!("ok: {}", connector.orders_url),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn configuration_is_checked_up_front() {
        check_config(
            ShopifyConfig::new("https://example.myshopify.com/", "shpat_x"),
            expect!["ok: https://example.myshopify.com/admin/api/2024-10/orders.json"],
        );
        check_config(
            ShopifyConfig::new("http://127.0.0.1:8080/shops/one", "shpat_x"),
            expect!["ok: http://127.0.0.1:8080/shops/one/admin/api/2024-10/orders.json"],
        );
        check_config(
            ShopifyConfig::new("example.myshopify.com", "shpat_x"),
            expect!["order connector shopify is misconfigured: shop url does not parse (relative URL without a base); set it like https://example.myshopify.com"],
        );
        check_config(
            ShopifyConfig::new("ftp://example.com", "shpat_x"),
            expect!["order connector shopify is misconfigured: shop url must be an http or https url like https://example.myshopify.com"],
        );
        check_config(
            ShopifyConfig::new("https://example.myshopify.com", " "),
            expect![
                "order connector shopify is misconfigured: the access token is empty; set an admin api token with the read_orders scope"
            ],
        );
        check_config(
            ShopifyConfig::new("https://example.myshopify.com", "shpat\nx"),
            expect![
                "order connector shopify is misconfigured: the access token has characters not allowed in an http header; paste it again"
            ],
        );
        check_config(
            ShopifyConfig { api_version: "2024/10".into(), ..ShopifyConfig::new("https://example.myshopify.com", "shpat_x") },
            expect![[
                r#"order connector shopify is misconfigured: api version "2024/10" is not like 2024-10; set a version the shop supports"#
            ]],
        );
    }

    #[test]
    fn debug_output_hides_the_token() {
        let rendered = format!("{:?}", ShopifyConfig::new("https://example.myshopify.com", "shpat_secret"));
        assert!(!rendered.contains("shpat_secret"), "{rendered}");
    }
}
