//! The one error type of the order connectors.
//!
//! The variants are what a caller must tell apart to act: retry later (unreachable, timeout, rate
//! limited), fix the configuration (authentication refused, invalid configuration), or report
//! the shop (bad response). Messages are read by operators, so each says what to do next; none
//! contains an e-mail address, a token or a request URL (URLs carry the customer's e-mail).

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection, a connection that broke, or the shop answered with a 5xx.
    #[error("order connector {connector} is unreachable: {detail}; retry later, and check the shop url and the shop's status page if it persists")]
    Unreachable { connector: String, detail: String },

    /// The shop did not answer within the configured timeout.
    #[error("order connector {connector} did not answer within {timeout:?}; retry later, or raise the connector timeout if the shop is always this slow")]
    Timeout { connector: String, timeout: Duration },

    /// The shop answered 401 or 403: the access token is wrong, revoked, or lacks a scope.
    #[error(
        "order connector {connector} refused the access token (http {http_status}); check the token and that it has the read_orders scope"
    )]
    AuthenticationRefused { connector: String, http_status: u16 },

    /// The shop answered 429, and waiting once (when the wait was short enough) did not help.
    #[error("order connector {connector} is rate limiting requests; retry after {}, or lower the request rate", describe_retry_after(.retry_after))]
    RateLimited { connector: String, retry_after: Option<Duration> },

    /// The shop answered something this connector cannot use: an unexpected status, JSON that
    /// does not parse, or an order that does not map (`detail` says which and what to check).
    #[error("order connector {connector} sent a response it cannot use: {detail}")]
    BadResponse { connector: String, detail: String },

    /// The connector's configuration cannot work (no token, a URL that is not http(s), ...).
    #[error("order connector {connector} is misconfigured: {detail}")]
    InvalidConfig { connector: String, detail: String },

    /// A failure inside the connector's own backend, for implementations that are not HTTP
    /// clients (the demo store's database).
    #[error("order connector {connector} failed: {source}; check the service logs and the database")]
    Backend {
        connector: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether the same call may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::Timeout { .. } | Error::RateLimited { .. } => true,
            Error::AuthenticationRefused { .. } | Error::BadResponse { .. } | Error::InvalidConfig { .. } | Error::Backend { .. } => false,
        }
    }

    /// How long the shop asked callers to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The name of the connector that failed.
    pub fn connector(&self) -> &str {
        match self {
            Error::Unreachable { connector, .. }
            | Error::Timeout { connector, .. }
            | Error::AuthenticationRefused { connector, .. }
            | Error::RateLimited { connector, .. }
            | Error::BadResponse { connector, .. }
            | Error::InvalidConfig { connector, .. }
            | Error::Backend { connector, .. } => connector,
        }
    }
}

fn describe_retry_after(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(duration) => format!("{duration:?}"),
        None => "a short wait".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn messages_are_lowercase_and_say_what_to_do() {
        let connector = "shopify".to_owned();
        let errors = [
            Error::Unreachable { connector: connector.clone(), detail: "the shop answered http 503".into() },
            Error::Timeout { connector: connector.clone(), timeout: Duration::from_millis(1500) },
            Error::AuthenticationRefused { connector: connector.clone(), http_status: 401 },
            Error::RateLimited { connector: connector.clone(), retry_after: Some(Duration::from_secs(2)) },
            Error::RateLimited { connector: connector.clone(), retry_after: None },
            Error::BadResponse { connector: connector.clone(), detail: "the orders json does not parse".into() },
            Error::InvalidConfig { connector: connector.clone(), detail: "the access token is empty".into() },
            Error::Backend { connector: "demo_store".into(), source: "database is locked".into() },
        ];
        let messages: Vec<String> = errors.iter().map(|error| error.to_string()).collect();
        for message in &messages {
            assert!(message.chars().next().is_some_and(|first| first.is_lowercase()), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
        expect![[r#"
            order connector shopify is unreachable: the shop answered http 503; retry later, and check the shop url and the shop's status page if it persists
            order connector shopify did not answer within 1.5s; retry later, or raise the connector timeout if the shop is always this slow
            order connector shopify refused the access token (http 401); check the token and that it has the read_orders scope
            order connector shopify is rate limiting requests; retry after 2s, or lower the request rate
            order connector shopify is rate limiting requests; retry after a short wait, or lower the request rate
            order connector shopify sent a response it cannot use: the orders json does not parse
            order connector shopify is misconfigured: the access token is empty
            order connector demo_store failed: database is locked; check the service logs and the database"#]]
        .assert_eq(&messages.join("\n"));
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let connector = || "shopify".to_owned();
        assert!(Error::Timeout { connector: connector(), timeout: Duration::from_secs(1) }.is_retryable());
        assert!(Error::RateLimited { connector: connector(), retry_after: None }.is_retryable());
        assert!(!Error::AuthenticationRefused { connector: connector(), http_status: 403 }.is_retryable());
        assert!(!Error::BadResponse { connector: connector(), detail: String::new() }.is_retryable());
    }
}
