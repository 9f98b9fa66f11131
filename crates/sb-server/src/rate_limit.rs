//! Rate limits (governor's GCRA, keyed): per client IP on every API request, per credential
//! (token or user) after authentication, and a strict one on login attempts per IP.
//!
//! Ingest (`POST /messages`, `/classify`) has its own, much larger per-credential budget: one
//! integration token legitimately sends thousands of messages a second (the ingest benchmark
//! target is 2,000/s on one token), while the console and the read/write API are used at
//! human or polling speed.
//!
//! The client IP is the socket's peer address (`ConnectInfo`); `X-Forwarded-For` is not
//! trusted, since any client can write it. Behind a load balancer every request shares the
//! balancer's IP, which is why the per-IP budget is generous.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ApiError;

/// One budget: a sustained rate (per second; per minute for logins) and the burst allowed
/// at once. A rate of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub rate: u32,
    pub burst: u32,
}

/// Every budget the server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per token or user, on everything but ingest.
    pub per_credential: RateLimit,
    /// Per token or user, on `POST /messages` and `POST /classify`.
    pub per_credential_ingest: RateLimit,
    /// Per client IP, on every `/api` request (authenticated or not).
    pub per_ip: RateLimit,
    /// Login attempts per client IP per minute (password guessing).
    pub logins_per_ip_per_minute: RateLimit,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            per_credential: RateLimit { rate: 50, burst: 100 },
            per_credential_ingest: RateLimit { rate: 10_000, burst: 20_000 },
            per_ip: RateLimit { rate: 20_000, burst: 40_000 },
            logins_per_ip_per_minute: RateLimit { rate: 10, burst: 10 },
        }
    }
}

/// Which per-credential budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitClass {
    Ingest,
    Api,
}

type Limiter<K> = Option<DefaultKeyedRateLimiter<K>>;

/// The limiters of one server.
pub struct Limits {
    per_credential: Limiter<String>,
    per_credential_ingest: Limiter<String>,
    per_ip: Limiter<IpAddr>,
    logins: Limiter<IpAddr>,
    n_checks: AtomicU64,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(limit: RateLimit, per_minute: bool) -> Limiter<K> {
    let rate = NonZeroU32::new(limit.rate)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(rate);
    let quota = if per_minute { Quota::per_minute(rate) } else { Quota::per_second(rate) };
    Some(RateLimiter::keyed(quota.allow_burst(burst)))
}

/// Seconds until the next request would pass, at least 1 (what `Retry-After` says).
fn retry_after<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), ApiError> {
    match limiter.check_key(key) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Err(ApiError::RateLimited((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)))
        }
    }
}

impl Limits {
    pub fn new(config: &RateLimitConfig) -> Limits {
        Limits {
            per_credential: limiter(config.per_credential, false),
            per_credential_ingest: limiter(config.per_credential_ingest, false),
            per_ip: limiter(config.per_ip, false),
            logins: limiter(config.logins_per_ip_per_minute, true),
            n_checks: AtomicU64::new(0),
        }
    }

    /// Keyed limiters keep a cell per key: every so often forget the keys whose budget is
    /// full again, so a flood of distinct IPs cannot grow memory without bound.
    fn housekeeping(&self) {
        if self.n_checks.fetch_add(1, Ordering::Relaxed) % 10_000 != 9_999 {
            return;
        }
        for limiter in [&self.per_credential, &self.per_credential_ingest].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        for limiter in [&self.per_ip, &self.logins].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    pub fn check_credential(&self, class: LimitClass, key: &str) -> Result<(), ApiError> {
        let limiter = match class {
            LimitClass::Ingest => &self.per_credential_ingest,
            LimitClass::Api => &self.per_credential,
        };
        match limiter {
            Some(limiter) => retry_after(limiter, &key.to_string()),
            None => Ok(()),
        }
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.housekeeping();
        match &self.per_ip {
            Some(limiter) => retry_after(limiter, &ip),
            None => Ok(()),
        }
    }

    pub fn check_login(&self, ip: IpAddr) -> Result<(), ApiError> {
        match &self.logins {
            Some(limiter) => retry_after(limiter, &ip),
            None => Ok(()),
        }
    }
}

/// The client's IP: the socket peer, or unspecified when the router runs without a socket
/// (tests drive it with `oneshot`).
pub fn client_ip(extensions: &axum::http::Extensions) -> IpAddr {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

/// Middleware: the per-IP budget, before anything else is done for the request.
pub async fn limit_by_ip(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Result<Response, ApiError> {
    limits.check_ip(client_ip(request.extensions()))?;
    Ok(next.run(request).await)
}
