//! Rate limits: failed logins per client IP and per account, sign-ups and donor queries per IP,
//! and a general per-IP limit. Counters are per instance, in fixed one-minute windows, in a
//! bounded map.
//!
//! The client's IP is the socket's peer, unless that peer is a configured trusted proxy: then it
//! is the right-most address of `X-Forwarded-For` that is not a trusted proxy. Without trusted
//! proxies `X-Forwarded-For` is ignored, so a client cannot pick its own IP.

use crate::problem::ApiError;
use actix_web::HttpRequest;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits per minute; 0 switches one off.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    /// Failed logins per client IP.
    pub login_failures_per_ip: u32,
    /// Failed logins per account.
    pub login_failures_per_account: u32,
    /// Sign-ups per client IP.
    pub registrations_per_ip: u32,
    /// Donor queries opened per client IP.
    pub donor_queries_per_ip: u32,
    /// Any request per client IP.
    pub requests_per_ip: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            login_failures_per_ip: 10,
            login_failures_per_account: 10,
            registrations_per_ip: 5,
            donor_queries_per_ip: 20,
            requests_per_ip: 6000,
            trusted_proxies: vec![],
        }
    }
}

/// Which counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    LoginIp,
    LoginAccount,
    Register,
    DonorQuery,
    Request,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// The most keys kept; beyond it, expired windows are dropped, then the oldest.
const MAX_KEYS: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

/// The counters of this instance.
pub struct Limiter {
    config: LimitConfig,
    windows: Mutex<HashMap<(Kind, String), Window>>,
}

impl Limiter {
    /// Limits as configured.
    pub fn new(config: LimitConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, kind: Kind) -> u32 {
        match kind {
            Kind::LoginIp => self.config.login_failures_per_ip,
            Kind::LoginAccount => self.config.login_failures_per_account,
            Kind::Register => self.config.registrations_per_ip,
            Kind::DonorQuery => self.config.donor_queries_per_ip,
            Kind::Request => self.config.requests_per_ip,
        }
    }

    /// Refuses when the key has used its limit in the current window.
    fn check(&self, kind: Kind, key: &str) -> Result<(), ApiError> {
        let limit = self.limit(kind);
        if limit == 0 {
            return Ok(());
        }
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(&(kind, key.to_string())) {
            Some(w) if w.started.elapsed() < WINDOW && w.count >= limit => {
                let left = WINDOW.saturating_sub(w.started.elapsed());
                Err(ApiError::TooManyRequests(left.as_secs().max(1)))
            }
            _ => Ok(()),
        }
    }

    /// Counts one use of the key.
    fn count(&self, kind: Kind, key: &str) {
        if self.limit(kind) == 0 {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, w| w.started.elapsed() < WINDOW);
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let now = Instant::now();
        let window = windows.entry((kind, key.to_string())).or_insert(Window {
            started: now,
            count: 0,
        });
        if window.started.elapsed() >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
    }

    /// Checks and counts in one step (for limits on every attempt).
    fn take(&self, kind: Kind, key: &str) -> Result<(), ApiError> {
        self.check(kind, key)?;
        self.count(kind, key);
        Ok(())
    }

    /// Before a login: refused while the IP or the account has too many recent failures.
    pub fn before_login(&self, ip: IpAddr, account: &str) -> Result<(), ApiError> {
        self.check(Kind::LoginIp, &ip.to_string())?;
        self.check(Kind::LoginAccount, &account.trim().to_lowercase())
    }

    /// After a failed login.
    pub fn login_failed(&self, ip: IpAddr, account: &str) {
        self.count(Kind::LoginIp, &ip.to_string());
        self.count(Kind::LoginAccount, &account.trim().to_lowercase());
    }

    /// A sign-up attempt.
    pub fn register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.take(Kind::Register, &ip.to_string())
    }

    /// A donor query being opened.
    pub fn donor_query(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.take(Kind::DonorQuery, &ip.to_string())
    }

    /// Any request.
    pub fn request(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.take(Kind::Request, &ip.to_string())
    }

    /// The client's IP (see the module's doc).
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !self.config.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.config.trusted_proxies.contains(ip))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_eleventh_failed_login_in_a_minute_is_refused() {
        let limiter = Limiter::new(LimitConfig::default());
        for _ in 0..10 {
            limiter.before_login(ip("10.0.0.1"), "ann").unwrap();
            limiter.login_failed(ip("10.0.0.1"), "ann");
        }
        match limiter.before_login(ip("10.0.0.1"), "bob") {
            Err(ApiError::TooManyRequests(secs)) => assert!((1..=60).contains(&secs)),
            other => panic!("expected 429, got {other:?}"),
        }
        // The account is held back from another IP too; another account from another IP is not.
        assert!(limiter.before_login(ip("10.0.0.2"), "ANN").is_err());
        assert!(limiter.before_login(ip("10.0.0.2"), "bob").is_ok());
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let plain = Limiter::new(LimitConfig::default());
        let req = TestRequest::default()
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .to_http_request();
        assert_eq!(plain.client_ip(&req), ip("192.0.2.1"));

        let behind = Limiter::new(LimitConfig {
            trusted_proxies: vec![ip("192.0.2.1")],
            ..LimitConfig::default()
        });
        let req = TestRequest::default()
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.7, 203.0.113.9"))
            .to_http_request();
        // The right-most untrusted hop: the client cannot choose what the proxy appended.
        assert_eq!(behind.client_ip(&req), ip("203.0.113.9"));
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limiter = Limiter::new(LimitConfig {
            requests_per_ip: 0,
            ..LimitConfig::default()
        });
        for _ in 0..10_000 {
            limiter.request(ip("10.0.0.1")).unwrap();
        }
    }
}
