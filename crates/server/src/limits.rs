//! Rate limits.
//!
//! - Every request, sign-ups and donor queries: per client and per instance, with governor
//!   (GCRA: the limit per minute is a burst that refills evenly over the minute).
//! - Failed logins: counted in fixed one-minute windows by a [`LoginFailureCounter`]: the
//!   database in the server ([`Limiter::shared`]), so the limits are the same whichever
//!   instance an attempt reaches; this process's memory with [`Limiter::new`]. A client IP, and
//!   a client IP on one account, are refused (429) after too many; an account failing from
//!   anywhere is only slowed down (a growing delay before each attempt), so an attacker cannot
//!   keep its owner out.
//!
//! The client is the socket's peer, unless that peer is a configured trusted proxy: then it is
//! the right-most address of `X-Forwarded-For` that is not a trusted proxy. Without trusted
//! proxies `X-Forwarded-For` is ignored, so a client cannot pick its own IP. An IPv6 client is
//! counted by its /64 (what one subscriber usually holds).
//!
//! Memory is bounded: keys are addresses and 16-byte digests of login names, never the raw
//! name. In memory, failed-login windows live in their own map that nothing else fills; when it
//! is full, ended windows are dropped, and while it is full of running ones a new key goes
//! uncounted rather than an old count being forgotten (filling it takes that many password
//! checks within a minute). In the database, ended windows are removed at most once a window.

use crate::problem::ApiError;
use actix_web::HttpRequest;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::ports::LoginFailureCounter;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Limits per minute; 0 switches one off.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    /// Failed logins per client IP (any account) before its logins are refused.
    pub login_failures_per_ip: u32,
    /// Failed logins on one account from one client IP before that pair is refused.
    pub login_failures_per_account_ip: u32,
    /// Failed logins on one account from anywhere before its attempts are slowed down.
    pub login_failures_per_account: u32,
    /// The longest slow-down of one login attempt.
    pub login_delay_max: Duration,
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
            login_failures_per_account_ip: 10,
            login_failures_per_account: 10,
            login_delay_max: Duration::from_secs(5),
            registrations_per_ip: 5,
            donor_queries_per_ip: 20,
            requests_per_ip: 6000,
            trusted_proxies: vec![],
        }
    }
}

/// The most keys one map holds.
const MAX_KEYS: usize = 100_000;
/// How many requests pass between two looks at a per-IP limiter's size.
const SWEEP_EVERY: u32 = 1024;
/// The first slow-down once an account reached its limit; it doubles with every failure after.
const FIRST_DELAY: Duration = Duration::from_millis(100);

/// A client as the limits count it: its IPv4 address, or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The counters' keys of one attempt: the client, the client on the account, the account.
fn login_keys(ip: IpAddr, login: &str) -> [String; 3] {
    let (ip, account) = (client_key(ip), hex(&account_key(login)));
    [
        format!("ip:{ip}"),
        format!("pair:{account}:{ip}"),
        format!("account:{account}"),
    ]
}

/// An account as the limits count it: a digest of its login name as the login looks it up
/// (trimmed, lower-cased). Names longer than any account's share one key.
type AccountKey = [u8; 16];

fn account_key(login: &str) -> AccountKey {
    // Usernames and emails are at most 254 bytes; lower-casing never grows text fourfold.
    const LONGEST: usize = 254;
    let trimmed = login.trim();
    let lower = if trimmed.len() <= 4 * LONGEST {
        Some(trimmed.to_lowercase()).filter(|l| l.len() <= LONGEST)
    } else {
        None
    };
    let digest = match lower {
        Some(name) => Sha256::digest(name.as_bytes()),
        None => Sha256::digest(b"\0too long"),
    };
    let mut key = [0u8; 16];
    for (byte, from) in key.iter_mut().zip(digest) {
        *byte = from;
    }
    key
}

/// One per-IP limit on governor, bounded in keys.
struct PerIp {
    quota: Option<Quota>,
    limiter: RwLock<Option<DefaultKeyedRateLimiter<IpAddr>>>,
    calls: AtomicU32,
}

impl PerIp {
    fn new(per_minute: u32) -> Self {
        let quota = NonZeroU32::new(per_minute).map(Quota::per_minute);
        Self {
            quota,
            limiter: RwLock::new(quota.map(RateLimiter::keyed)),
            calls: AtomicU32::new(0),
        }
    }

    /// Counts one use; refuses once the client's burst is spent, until it refills.
    fn take(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.quota.is_none() {
            return Ok(());
        }
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == 0 {
            self.bound();
        }
        let limiter = self.limiter.read().unwrap_or_else(PoisonError::into_inner);
        let Some(limiter) = limiter.as_ref() else {
            return Ok(());
        };
        limiter.check_key(&client_key(ip)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests(seconds(wait))
        })
    }

    /// Drops clients whose state is as good as new once the map is full; if it still is (that
    /// many clients each spent part of their burst just now), starts afresh. Failed logins are
    /// not kept here.
    fn bound(&self) {
        let full = |l: &Option<DefaultKeyedRateLimiter<IpAddr>>| {
            l.as_ref().is_some_and(|l| l.len() >= MAX_KEYS)
        };
        if !full(&self.limiter.read().unwrap_or_else(PoisonError::into_inner)) {
            return;
        }
        let mut limiter = self.limiter.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(l) = limiter.as_ref() {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if full(&limiter) {
            tracing::warn!(
                keys = MAX_KEYS,
                "a per-IP rate limit is full of active clients; starting it afresh"
            );
            *limiter = self.quota.map(RateLimiter::keyed);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |l| l.len())
    }
}

/// Whole seconds to wait, at least one.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

/// The length of a failed-login window.
fn window() -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(60)
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    count: u32,
}

/// Failed logins in this process's memory, bounded to `MAX_KEYS` keys (see the module's doc).
#[derive(Default)]
pub struct MemoryLoginFailures {
    inner: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    windows: HashMap<String, Window>,
    /// Set while the map is full of running windows: the oldest one's start, before which
    /// none can have ended.
    full_since: Option<DateTime<Utc>>,
}

impl MemoryLoginFailures {
    /// Keys held.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .windows
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Failures {
    /// Counts one failure. A full map first drops its ended windows; running ones are never
    /// dropped, so while it stays full a new key is not counted.
    fn add(&mut self, key: String, now: DateTime<Utc>, ended: DateTime<Utc>) {
        if self.windows.len() >= MAX_KEYS && !self.windows.contains_key(&key) {
            if self.full_since.is_some_and(|oldest| oldest > ended) {
                return;
            }
            self.windows.retain(|_, w| w.started > ended);
            if self.windows.len() >= MAX_KEYS {
                if self.full_since.is_none() {
                    tracing::warn!(
                        keys = MAX_KEYS,
                        "failed-login counters are full of running windows; new keys go uncounted"
                    );
                }
                self.full_since = self.windows.values().map(|w| w.started).min();
                return;
            }
            self.full_since = None;
        }
        let window = self.windows.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        if window.started <= ended {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
    }
}

#[async_trait]
impl LoginFailureCounter for MemoryLoginFailures {
    async fn login_failures(
        &self,
        keys: Vec<String>,
        ended: DateTime<Utc>,
    ) -> concierge_domain::Result<Vec<(String, u32, DateTime<Utc>)>> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .into_iter()
            .filter_map(|key| {
                let w = inner.windows.get(&key).filter(|w| w.started > ended)?;
                Some((key, w.count, w.started))
            })
            .collect())
    }

    async fn add_login_failure(
        &self,
        keys: Vec<String>,
        now: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) -> concierge_domain::Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            inner.add(key, now, ended);
        }
        Ok(())
    }

    async fn forget_login_failures(&self, ended: DateTime<Utc>) -> concierge_domain::Result<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let before = inner.windows.len();
        inner.windows.retain(|_, w| w.started > ended);
        Ok(before - inner.windows.len())
    }
}

/// The limits: per-request ones of this instance, failed logins in their counter.
pub struct Limiter {
    config: LimitConfig,
    requests: PerIp,
    registrations: PerIp,
    donor_queries: PerIp,
    logins: Arc<dyn LoginFailureCounter>,
    /// When ended failed-login windows were last removed.
    forgotten: Mutex<DateTime<Utc>>,
}

impl Limiter {
    /// Limits as configured, failed logins counted in this process's memory (one instance).
    pub fn new(config: LimitConfig) -> Self {
        Self::shared(config, Arc::new(MemoryLoginFailures::default()))
    }

    /// Limits as configured, failed logins counted by `logins` (the database: every instance).
    pub fn shared(config: LimitConfig, logins: Arc<dyn LoginFailureCounter>) -> Self {
        Self {
            requests: PerIp::new(config.requests_per_ip),
            registrations: PerIp::new(config.registrations_per_ip),
            donor_queries: PerIp::new(config.donor_queries_per_ip),
            logins,
            forgotten: Mutex::new(Utc::now()),
            config,
        }
    }

    /// Before a login: refused (429) while the client IP, or the client IP on this account, has
    /// too many recent failures; otherwise how long to wait before checking the password, which
    /// grows with the account's recent failures from anywhere (zero until its limit).
    pub async fn before_login(&self, ip: IpAddr, account: &str) -> Result<Duration, ApiError> {
        let now = Utc::now();
        let keys = login_keys(ip, account);
        let windows = self
            .logins
            .login_failures(keys.to_vec(), now - window())
            .await?;
        let of = |key: &String| {
            windows
                .iter()
                .find(|w| &w.0 == key)
                .map_or((0, Duration::ZERO), |w| {
                    let left = (w.2 + window() - now).to_std().unwrap_or(Duration::ZERO);
                    (w.1, left)
                })
        };
        let [by_ip, by_pair, by_account] = &keys;
        for (key, limit) in [
            (by_ip, self.config.login_failures_per_ip),
            (by_pair, self.config.login_failures_per_account_ip),
        ] {
            let (count, left) = of(key);
            if limit > 0 && count >= limit {
                return Err(ApiError::TooManyRequests(seconds(left)));
            }
        }
        let limit = self.config.login_failures_per_account;
        let (count, _) = of(by_account);
        if limit == 0 || count < limit {
            return Ok(Duration::ZERO);
        }
        let doublings = (count - limit).min(30);
        Ok(FIRST_DELAY
            .saturating_mul(1 << doublings)
            .min(self.config.login_delay_max))
    }

    /// After a failed login; a counter that fails is logged (the attempt was refused anyway).
    pub async fn login_failed(&self, ip: IpAddr, account: &str) {
        let now = Utc::now();
        let [by_ip, by_pair, by_account] = login_keys(ip, account);
        let keys: Vec<String> = [
            (by_ip, self.config.login_failures_per_ip),
            (by_pair, self.config.login_failures_per_account_ip),
            (by_account, self.config.login_failures_per_account),
        ]
        .into_iter()
        .filter(|(_, limit)| *limit > 0)
        .map(|(key, _)| key)
        .collect();
        if keys.is_empty() {
            return;
        }
        if let Err(e) = self
            .logins
            .add_login_failure(keys, now, now - window())
            .await
        {
            tracing::warn!(error = %e, "a failed login was not counted");
        }
        let forget = {
            let mut last = self
                .forgotten
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = now - *last >= window();
            if due {
                *last = now;
            }
            due
        };
        if forget {
            if let Err(e) = self.logins.forget_login_failures(now - window()).await {
                tracing::warn!(error = %e, "ended failed-login windows were not removed");
            }
        }
    }

    /// A sign-up attempt.
    pub fn register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.registrations.take(ip)
    }

    /// A donor query being opened.
    pub fn donor_query(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.donor_queries.take(ip)
    }

    /// Any request.
    pub fn request(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.requests.take(ip)
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

    async fn fail(limiter: &Limiter, from: &str, account: &str, times: usize) {
        for _ in 0..times {
            limiter.login_failed(ip(from), account).await;
        }
    }

    fn refused(result: Result<Duration, ApiError>) -> bool {
        match result {
            Err(ApiError::TooManyRequests(secs)) => (1..=60).contains(&secs),
            _ => false,
        }
    }

    #[tokio::test]
    async fn the_eleventh_failed_login_from_an_ip_is_refused_for_any_account() {
        let limiter = Limiter::new(LimitConfig::default());
        for _ in 0..10 {
            assert_eq!(
                limiter.before_login(ip("10.0.0.1"), "ann").await.unwrap(),
                Duration::ZERO
            );
            limiter.login_failed(ip("10.0.0.1"), "ann").await;
        }
        assert!(refused(limiter.before_login(ip("10.0.0.1"), "bob").await));
        assert!(limiter.before_login(ip("10.0.0.2"), "bob").await.is_ok());
    }

    #[tokio::test]
    async fn an_account_failing_from_one_ip_is_refused_there_and_only_slowed_elsewhere() {
        let limiter = Limiter::new(LimitConfig {
            login_failures_per_ip: 0,
            ..LimitConfig::default()
        });
        fail(&limiter, "10.0.0.1", "ann", 10).await;

        assert!(refused(limiter.before_login(ip("10.0.0.1"), " ANN ").await));
        // The same IP on another account, and the account from another IP, still get in.
        assert!(limiter.before_login(ip("10.0.0.1"), "bob").await.is_ok());
        assert_eq!(
            limiter.before_login(ip("10.0.0.2"), "ann").await.unwrap(),
            FIRST_DELAY
        );
    }

    #[tokio::test]
    async fn an_account_failing_from_everywhere_waits_longer_each_time_up_to_the_cap() {
        let limiter = Limiter::new(LimitConfig {
            login_delay_max: Duration::from_secs(3),
            ..LimitConfig::default()
        });
        let mut delays = vec![];
        for i in 0..20 {
            delays.push(limiter.before_login(ip("10.9.9.9"), "ann").await.unwrap());
            fail(&limiter, &format!("10.0.0.{i}"), "ann", 1).await;
        }
        assert!(delays[..10].iter().all(Duration::is_zero));
        let ms: Vec<u128> = delays[10..].iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000, 3000]);
        // Never a refusal: the owner gets in after the delay.
        assert!(limiter.before_login(ip("10.9.9.9"), "ann").await.is_ok());
    }

    #[test]
    fn login_names_are_kept_as_fixed_size_digests() {
        let huge = "a".repeat(1 << 20);
        assert_eq!(account_key(&huge), account_key(&"b".repeat(300)));
        assert_ne!(account_key("ann"), account_key("bob"));
        assert_eq!(account_key(" Ann "), account_key("ann"));
    }

    #[tokio::test]
    async fn an_ipv6_client_is_counted_by_its_64() {
        let limiter = Limiter::new(LimitConfig::default());
        for i in 0..10 {
            limiter
                .login_failed(ip(&format!("2001:db8:1:2::{i:x}")), &format!("u{i}"))
                .await;
        }
        assert!(refused(
            limiter.before_login(ip("2001:db8:1:2:ffff::1"), "x").await
        ));
        assert!(limiter
            .before_login(ip("2001:db8:1:3::1"), "x")
            .await
            .is_ok());
        assert!(refused(
            limiter.before_login(ip("2001:db8:1:2::1"), "x").await
        ));
    }

    #[tokio::test]
    async fn a_flood_of_200000_client_addresses_keeps_the_failed_login_counters() {
        let memory = Arc::new(MemoryLoginFailures::default());
        let limiter = Limiter::shared(LimitConfig::default(), memory.clone());
        fail(&limiter, "192.0.2.7", "victim", 10).await;

        for i in 0..200_000u32 {
            let addr = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            let _ = limiter.request(addr);
            let _ = limiter.register(addr);
            let _ = limiter.donor_query(addr);
            limiter.login_failed(addr, &format!("user{i}")).await;
        }

        assert!(refused(
            limiter.before_login(ip("192.0.2.7"), "victim").await
        ));
        assert!(refused(
            limiter.before_login(ip("192.0.2.7"), "anyone").await
        ));
        assert!(
            limiter
                .before_login(ip("192.0.2.8"), "victim")
                .await
                .unwrap()
                > Duration::ZERO
        );
        // The per-IP limiters stay bounded.
        for per_ip in [
            &limiter.requests,
            &limiter.registrations,
            &limiter.donor_queries,
        ] {
            assert!(per_ip.len() <= MAX_KEYS + SWEEP_EVERY as usize);
        }
        assert!(memory.len() <= MAX_KEYS);
    }

    #[test]
    fn a_per_ip_limit_refuses_past_its_burst_with_a_retry_after() {
        let limiter = Limiter::new(LimitConfig {
            registrations_per_ip: 5,
            ..LimitConfig::default()
        });
        for _ in 0..5 {
            limiter.register(ip("10.0.0.1")).unwrap();
        }
        match limiter.register(ip("10.0.0.1")) {
            Err(ApiError::TooManyRequests(secs)) => assert!((1..=60).contains(&secs)),
            other => panic!("expected 429, got {other:?}"),
        }
        limiter.register(ip("10.0.0.2")).unwrap();
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

    #[tokio::test]
    async fn zero_switches_a_limit_off() {
        let limiter = Limiter::new(LimitConfig {
            requests_per_ip: 0,
            login_failures_per_ip: 0,
            login_failures_per_account_ip: 0,
            login_failures_per_account: 0,
            ..LimitConfig::default()
        });
        for _ in 0..10_000 {
            limiter.request(ip("10.0.0.1")).unwrap();
        }
        fail(&limiter, "10.0.0.1", "ann", 100).await;
        assert_eq!(
            limiter.before_login(ip("10.0.0.1"), "ann").await.unwrap(),
            Duration::ZERO
        );
    }
}
