//! [`HttpSender`]: the [`WebhookSender`] adapter. It POSTs a delivery with reqwest and keeps it
//! off private networks (SSRF): the URL must be `https` (or `http` when allowed) and every
//! address its host resolves to must be public ([`concierge_domain::webhook::public`]) unless
//! private ones are allowed. The check runs in the client's own DNS resolver, so the address
//! it connects to is the one that was checked and a DNS answer that changes between the check
//! and the connection (rebinding) cannot get through. Redirects are not followed and no proxy
//! is used.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod config;
pub use config::WebhookConfig;

use async_trait::async_trait;
use concierge_domain::ports::WebhookSender;
use concierge_domain::webhook::{public, SendResult, WebhookRequest};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one delivery may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where deliveries may go (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    /// `http://` URLs are sent to.
    pub allow_http: bool,
    /// Loopback, private, link-local and other non-public addresses are sent to.
    pub allow_private: bool,
}

/// Sends deliveries over HTTP within [`Reach`].
#[derive(Clone)]
pub struct HttpSender {
    http: reqwest::Client,
    reach: Reach,
    timeout: Duration,
}

/// Refuses a non-public address unless private ones are allowed.
fn check_address(ip: IpAddr, reach: Reach) -> Result<(), String> {
    if reach.allow_private || public(ip) {
        Ok(())
    } else {
        Err(format!(
            "{ip} is not a public address (loopback, private, link-local or metadata)"
        ))
    }
}

/// Resolves a host and checks every address it resolves to.
async fn resolve(host: &str, reach: Reach) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    for addr in &addrs {
        check_address(addr.ip(), reach).map_err(|e| format!("{host} resolves to {e}"))?;
    }
    Ok(addrs)
}

/// The client's resolver: the same check as at creation, on the addresses it connects to.
struct CheckedResolver(Reach);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.0;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), reach).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

impl HttpSender {
    /// A sender within `reach`, each delivery limited to [`TIMEOUT`].
    pub fn new(reach: Reach) -> Result<Self, reqwest::Error> {
        Self::with_timeout(reach, TIMEOUT)
    }

    /// A sender whose deliveries time out after `timeout`.
    pub fn with_timeout(reach: Reach, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver(reach)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Concierge-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            reach,
            timeout,
        })
    }

    /// Checks the scheme, and an address written in the URL itself (the resolver never sees
    /// those); a host name is checked when it resolves.
    fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.reach.allow_http => {}
            other => return Err(format!("{other}:// URLs are not allowed")),
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => check_address(IpAddr::V4(ip), self.reach),
            Some(url::Host::Ipv6(ip)) => check_address(IpAddr::V6(ip), self.reach),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("the URL names no host".to_string()),
        }
    }

    async fn post(&self, request: WebhookRequest) -> Result<reqwest::Response, String> {
        let url = url::Url::parse(&request.url).map_err(|e| format!("not a URL: {e}"))?;
        self.check_url(&url)?;
        let mut builder = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(request.body)
            .send()
            .await
            .map_err(|e| describe(&e))
    }
}

/// A transport error in a few words, its causes included (the resolver's refusal is one).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn vet(&self, raw: String) -> Result<(), String> {
        let url = url::Url::parse(&raw).map_err(|e| format!("is not a URL: {e}"))?;
        self.check_url(&url)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            resolve(host, self.reach).await?;
        }
        Ok(())
    }

    async fn send(&self, request: WebhookRequest) -> SendResult {
        let start = Instant::now();
        // The client's timeout covers the whole exchange; this one also covers resolving.
        let sent = tokio::time::timeout(self.timeout, self.post(request)).await;
        let duration = start.elapsed();
        match sent {
            Ok(Ok(response)) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| concierge_retry::retry_after_bytes(v.as_bytes()));
                let error = (!status.is_success()).then(|| format!("HTTP {status}"));
                SendResult {
                    response_status: Some(status.as_u16()),
                    error,
                    retry_after,
                    duration,
                }
            }
            Ok(Err(error)) => SendResult {
                response_status: None,
                error: Some(error),
                retry_after: None,
                duration,
            },
            Err(_) => SendResult {
                response_status: None,
                error: Some(format!("timed out after {:?}", self.timeout)),
                retry_after: None,
                duration,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn request(url: String) -> WebhookRequest {
        WebhookRequest {
            url,
            headers: vec![("webhook-id".into(), "evt_1".into())],
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn refuses_loopback_metadata_and_plain_http_by_default() {
        let sender = HttpSender::new(Reach::default()).expect("a client");
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/hook",
            "http://example.com/hook",
        ] {
            assert!(sender.vet(url.into()).await.is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn a_delivery_to_loopback_is_refused_at_send_time_too() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let reach = Reach {
            allow_http: true,
            allow_private: false,
        };
        let sender = HttpSender::new(reach).expect("a client");
        // By address and by a name that resolves to loopback.
        let by_name = server.uri().replace("127.0.0.1", "localhost");
        for url in [server.uri(), by_name] {
            let result = sender.send(request(url.clone())).await;
            assert_eq!(result.response_status, None, "{url}");
            assert!(
                result
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains("not a public address")),
                "{url}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn reports_status_and_retry_after_and_times_out() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "7"))
            .mount(&server)
            .await;
        let reach = Reach {
            allow_http: true,
            allow_private: true,
        };
        let sender = HttpSender::new(reach).expect("a client");
        let result = sender.send(request(server.uri())).await;
        assert_eq!(result.response_status, Some(503));
        assert_eq!(result.retry_after, Some(Duration::from_secs(7)));
        assert!(!result.delivered());

        let slow = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .mount(&slow)
            .await;
        let sender = HttpSender::with_timeout(reach, Duration::from_millis(200)).expect("client");
        let result = sender.send(request(slow.uri())).await;
        assert_eq!(result.response_status, None);
        assert!(result.duration < Duration::from_secs(2));
    }
}
