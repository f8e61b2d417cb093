//! Building the application: open the store, migrate, seed, wire the ports, bind the socket.
//! `main` and the end-to-end tests both start the server through [`Application::build`].

use crate::auth::Tokens;
use crate::blob_store::{BlobStoreConfig, Watched};
use crate::config::Config;
use crate::edge::{body_deadline, problems};
use crate::followers::push::{Dispatcher, DispatcherStatus};
use crate::middleware::{cors, rate_limit, request_span, security_headers, stamp};
use crate::openapi;
use crate::password::BcryptHasher;
use crate::problem::{json_error, no_route, path_error, query_error};
use crate::realtime::hub::{run_tail, Hub};
use crate::routes;
use crate::state::{AppState, DatabaseProbe, PoolUse};
use actix_web::dev::{Server, ServiceFactory, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use async_trait::async_trait;
use concierge_domain::attachment::FileLimits;
use concierge_domain::audit::AuditLog;
use concierge_domain::ports::{
    PushNotifier, SystemClock, VideoProvider, WebhookSender, WebhookStore,
};
use concierge_domain::services::{
    CallPorts, InsightPorts, Ports, PushPorts, Services, WebhookRules, WebhookService,
};
use concierge_domain::DomainError;
use concierge_push::{FcmNotifier, LogNotifier};
use concierge_store::{redact_url, Store, StoreConfig};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use utoipa_actix_web::AppExt;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(String),
    /// Seeding the first super admin failed.
    #[error("seeding the first super admin: {0}")]
    Seed(#[source] concierge_domain::DomainError),
    /// A setting could not be used.
    #[error("configuration: {0}")]
    Config(String),
    /// The socket could not be bound.
    #[error("binding {0}: {1}")]
    Bind(String, #[source] std::io::Error),
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The `/metrics` listener on `METRICS_ADDR`: its port and server.
    metrics: Option<(u16, Server)>,
    shutdown: watch::Sender<bool>,
}

/// Opens the database and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let store = Store::connect(StoreConfig {
        pool_size: config.db_pool_size,
        connect_timeout: config.db_connect_timeout,
        audit: config.audit,
        ..StoreConfig::new(
            config.database_url.clone(),
            std::sync::Arc::new(crate::wire::EventWire),
        )
    })
    .await
    .map_err(|e| StartError::Database(format!("{}: {e}", redact_url(&config.database_url))))?;
    store
        .run_migrations()
        .await
        .map_err(|e| StartError::Database(format!("migrations: {e}")))?;
    Ok(store)
}

/// The configured blob store.
fn blob_store(config: &Config) -> Result<Arc<Watched>, StartError> {
    Watched::from_config(config)
        .map(Arc::new)
        .map_err(|e| StartError::Config(format!("BLOB_STORE: {e}")))
}

/// The core ports on a store and a blob store, without the call, insight and push groups.
fn core_ports(store: &Store, blobs: Arc<Watched>, config: &Config) -> Ports {
    let store = Arc::new(store.clone());
    Ports {
        users: store.clone(),
        tickets: store.clone(),
        messages: store.clone(),
        avatars: store.clone(),
        events: store,
        hasher: Arc::new(BcryptHasher::new(config.bcrypt_cost)),
        blobs,
        clock: Arc::new(SystemClock),
        calls: None,
        insights: None,
        push: None,
        search: None,
        sla: None,
    }
}

/// Every port on a store and the configured video, AI and push adapters. Returns the video
/// adapter's name with them.
fn all_ports(
    store: &Store,
    blobs: Arc<Watched>,
    config: &Config,
) -> Result<(Ports, &'static str), StartError> {
    let (video, video_name) = video_provider(config)?;
    let shared = Arc::new(store.clone());
    let ports = Ports {
        calls: Some(CallPorts {
            calls: shared.clone(),
            video,
        }),
        insights: Some(InsightPorts {
            summaries: shared.clone(),
            reviews: shared.clone(),
            analyzer: concierge_ai::analyzer_from_config(config.openai.clone()),
        }),
        push: Some(PushPorts {
            ledger: shared.clone(),
            notifier: push_notifier(config)?,
        }),
        sla: Some(shared.clone()),
        search: Some(shared),
        ..core_ports(store, blobs, config)
    };
    Ok((ports, video_name))
}

/// The domain services on these ports, with the configured session cache and file limits.
fn domain_services(ports: Ports, config: &Config) -> Services {
    let mut services = Services::new(ports);
    services.accounts = services.accounts.with_session_ttl(config.session_cache_ttl);
    services.attachments = services.attachments.with_limits(FileLimits {
        max_files: config.max_files_per_message,
        max_bytes: config.max_file_bytes,
    });
    services
}

/// A service [`Services::new`] built because its ports were given.
fn wired<T: Clone>(service: &Option<T>, what: &str) -> Result<T, StartError> {
    service
        .clone()
        .ok_or_else(|| StartError::Config(format!("the {what} service has no ports")))
}

/// The domain services over the configured database, for command-line tasks (no calls,
/// insights or push).
pub async fn services_for_cli(config: &Config) -> Result<Services, StartError> {
    let store = open_store(config).await?;
    let blobs = blob_store(config)?;
    Ok(domain_services(core_ports(&store, blobs, config), config))
}

struct StoreProbe(Store);

#[async_trait]
impl DatabaseProbe for StoreProbe {
    async fn ping(&self) -> concierge_domain::Result<Duration> {
        self.0.ping().await.map_err(DomainError::storage)
    }

    fn pool_use(&self) -> PoolUse {
        let state = self.0.pool_state();
        PoolUse {
            connections: state.connections,
            idle: state.idle,
            max: state.max_size,
        }
    }

    fn backend(&self) -> &'static str {
        self.0.backend().as_str()
    }
}

impl Application {
    /// Opens the store, migrates, seeds the first super admin, and binds `host:port`.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        let wake = store.subscribe();
        // Other instances' writes wake this one's readers (PostgreSQL LISTEN/NOTIFY).
        store
            .listen()
            .map_err(|e| StartError::Database(format!("listening for other instances: {e}")))?;
        if matches!(config.blob_store, BlobStoreConfig::Local) {
            match concierge_store::LocalBlobs::new(&config.upload_dir)
                .sweep()
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed unfinished uploads"),
                Err(e) => tracing::warn!(error = %e, "cannot sweep the upload directory"),
            }
        }
        let blobs = blob_store(&config)?;
        let (ports, video_name) = all_ports(&store, blobs.clone(), &config)?;
        let services = domain_services(ports, &config);
        let insights = crate::insights::Insights::new(wired(&services.insights, "insight")?);
        if config.summary_every_n_messages > 0 {
            tokio::spawn(crate::auto_summary::run(
                insights.clone(),
                services.events.clone(),
                config.summary_every_n_messages,
                store.subscribe(),
                config.realtime.poll_interval,
            ));
        }
        seed(&services, &config).await?;
        if config.jwt_secret_generated {
            tracing::warn!(
                "JWT_SECRET is not set: using a random one; tokens end with this process"
            );
        }
        let address = format!("{}:{}", config.host, config.port);
        let listener =
            TcpListener::bind(&address).map_err(|e| StartError::Bind(address.clone(), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Bind(address.clone(), e))?
            .port();
        let hub = Hub::new(config.realtime.queue_capacity);
        tokio::spawn(run_tail(
            hub.clone(),
            services.events.clone(),
            wake,
            config.realtime.poll_interval,
        ));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let push = spawn_dispatcher(&config, &store, &services, shutdown_rx.clone())?;
        let audit: Arc<dyn AuditLog> = Arc::new(store.clone());
        tokio::spawn(crate::followers::auditor::run(
            audit.clone(),
            Arc::new(store.clone()),
            format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            store.subscribe(),
            config.realtime.poll_interval,
            shutdown_rx.clone(),
        ));
        let webhooks = spawn_webhooks(&config, &store, &services, shutdown_rx.clone())?;
        let state = web::Data::new(AppState {
            audit,
            webhooks,
            calls: wired(&services.calls, "call")?,
            search: wired(&services.search, "search")?,
            sla: wired(&services.sla, "SLA")?,
            services,
            video_name,
            tokens: Tokens::new(
                &config.jwt_secret,
                config.jwt_expiration,
                config.donor_token_expiration,
            ),
            database: Arc::new(StoreProbe(store.clone())),
            blobs,
            config: Arc::new(config.clone()),
            started: Instant::now(),
            hub,
            // Failed logins are counted in the database, the same for every instance.
            limits: crate::limits::Limiter::shared(config.limits.clone(), Arc::new(store)),
            socket_limits: crate::realtime::limits::UserLimits::new(config.realtime.limits),
            metrics: crate::metrics::Metrics::new()
                .map_err(|e| StartError::Config(format!("metrics: {e}")))?,
            push_notifier: push.0,
            push: push.1,
            insights,
            shutdown: shutdown_rx,
        });
        tokio::spawn(crate::realtime::revocation::run(
            state.clone(),
            config.session_cache_ttl,
        ));
        let max_json = config.max_json_bytes;
        // /metrics on the main address only behind its token; a separate address serves it
        // instead when set.
        let metrics_here = config.metrics_addr.is_none() && config.metrics_token.is_some();
        if config.metrics_addr.is_none() && config.metrics_token.is_none() {
            tracing::info!("/metrics is off: set METRICS_TOKEN or METRICS_ADDR to serve it");
        }
        let metrics_server = match &config.metrics_addr {
            Some(addr) => Some(metrics_server(addr, state.clone())?),
            None => None,
        };
        let cors_origins = config.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            // Outermost last: span and id, security headers, CORS (its refusals as
            // problem+json), the rate limit, the body deadline, problem+json for the rest.
            let app = App::new()
                .wrap(from_fn(problems))
                .wrap(from_fn(body_deadline))
                .wrap(from_fn(rate_limit))
                .wrap(cors(&cors_origins))
                .wrap(from_fn(problems))
                .wrap(security_headers())
                .wrap(from_fn(stamp))
                .wrap(request_span())
                .app_data(state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_json)
                        .error_handler(json_error),
                )
                // The optional JSON bodies some routes read as bytes: the same limit as JSON.
                .app_data(web::PayloadConfig::new(max_json))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error));
            let (app, doc) = with_api(app);
            let app = app.app_data(web::Data::new(openapi::Served::new(&doc)));
            let app = app.configure(crate::pages::routes);
            let app = if metrics_here {
                app.route("/metrics", web::get().to(routes::health::metrics))
            } else {
                app
            };
            app.default_service(web::to(no_route))
        })
        .disable_signals()
        .listen(listener)
        .map_err(|e| StartError::Bind(address.clone(), e))?;
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        tracing::info!(%address, port, database = %redact_url(&config.database_url), "listening");
        Ok(Self {
            port,
            server: server.run(),
            metrics: metrics_server,
            shutdown,
        })
    }

    /// The bound port (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port serving `/metrics` when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until the server is stopped (see [`serve_until_signal`](Self::serve_until_signal)
    /// for the process's way).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some((_, metrics)) = self.metrics {
            tokio::spawn(metrics);
        }
        self.server.await
    }

    /// Serves until SIGINT or SIGTERM, then stops gracefully.
    pub async fn serve_until_signal(self) -> std::io::Result<()> {
        self.serve_until(stop_signal()).await
    }

    /// Serves until `stop` completes, then stops gracefully: no new connections, WebSockets
    /// closed with 1001, in-flight requests finished.
    pub async fn serve_until(
        self,
        stop: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let shutdown = self.shutdown;
        let mut server = std::pin::pin!(self.server);
        tokio::select! {
            result = &mut server => return result,
            _ = stop => {}
        }
        tracing::info!("shutting down");
        let _ = shutdown.send(true);
        // Give sockets a moment to send their close frames before the workers stop.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The server future must keep running to carry out the stop.
        let ((), result) = tokio::join!(handle.stop(true), server);
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        result
    }
}

/// Registers `/api/v1` on `app` through utoipa-actix-web, which collects the OpenAPI document
/// from the handlers' `#[utoipa::path]` as they are registered.
pub(crate) fn with_api<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    let (app, doc) = app
        .into_utoipa_app()
        .openapi(openapi::frame())
        .service(utoipa_actix_web::scope("/api/v1").configure(routes::api))
        .split_for_parts();
    (app, openapi::complete(doc))
}

/// The OpenAPI document of `/api/v1`, collected from an app with the server's routes (nothing
/// is opened: `concierge openapi` needs no database).
pub fn document() -> utoipa::openapi::OpenApi {
    with_api(App::new()).1
}

/// The OpenAPI document as pretty-printed JSON (for `concierge openapi`).
pub fn openapi_json() -> String {
    openapi::render(&document())
}

/// A server on `addr` answering only `GET /metrics` (for a monitoring network), with one
/// worker. `METRICS_TOKEN`, when set, is asked for here too.
fn metrics_server(addr: &str, state: web::Data<AppState>) -> Result<(u16, Server), StartError> {
    let listener = TcpListener::bind(addr).map_err(|e| StartError::Bind(addr.to_string(), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartError::Bind(addr.to_string(), e))?
        .port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(routes::health::metrics))
            .default_service(web::to(no_route))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| StartError::Bind(addr.to_string(), e))?
    .run();
    tracing::info!(address = %addr, port, "serving /metrics");
    Ok((port, server))
}

/// The push notifier: FCM when FIREBASE_* is configured, else the log.
fn push_notifier(config: &Config) -> Result<Arc<dyn PushNotifier>, StartError> {
    Ok(match &config.fcm {
        Some(fcm) => {
            Arc::new(FcmNotifier::new(fcm.clone()).map_err(|e| StartError::Config(e.to_string()))?)
        }
        None => Arc::new(LogNotifier),
    })
}

/// Starts the push dispatcher on the services' notification service. Returns the notifier's
/// name and the dispatcher's status.
fn spawn_dispatcher(
    config: &Config,
    store: &Store,
    services: &Services,
    shutdown: watch::Receiver<bool>,
) -> Result<(&'static str, Arc<DispatcherStatus>), StartError> {
    let notifications = wired(&services.notifications, "notification")?;
    let name = notifications.notifier_name();
    let status = Arc::new(DispatcherStatus::default());
    let dispatcher = Dispatcher::new(
        notifications,
        services.events.clone(),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        status.clone(),
        format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        config.push,
    );
    tokio::spawn(dispatcher.run(store.subscribe(), config.realtime.poll_interval, shutdown));
    Ok((name, status))
}

/// The webhook service and its dispatcher, which starts following the log.
fn spawn_webhooks(
    config: &Config,
    store: &Store,
    services: &Services,
    shutdown: watch::Receiver<bool>,
) -> Result<WebhookService, StartError> {
    let settings = config.webhooks;
    let sender = concierge_webhook::HttpSender::with_timeout(settings.reach, settings.timeout)
        .map_err(|e| StartError::Config(format!("webhook client: {e}")))?;
    let sender: Arc<dyn WebhookSender> = Arc::new(sender);
    let shared: Arc<dyn WebhookStore> = Arc::new(store.clone());
    let rules = WebhookRules {
        allow_http: settings.reach.allow_http,
        schedule: settings.schedule,
    };
    let service = WebhookService::new(shared.clone(), sender.clone(), Arc::new(SystemClock), rules);
    let dispatcher = crate::followers::webhooks::WebhookDispatcher::new(
        shared,
        sender,
        services.events.clone(),
        Arc::new(store.clone()),
        format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        crate::followers::webhooks::DispatchSettings {
            schedule: settings.schedule,
            lease: settings.lease,
            timeout: settings.timeout,
            concurrency: settings.concurrency,
            poll: config.realtime.poll_interval,
        },
    );
    tokio::spawn(dispatcher.run(store.subscribe(), shutdown));
    Ok(service)
}

/// The video provider: VideoSDK when VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY are set, else
/// the disabled provider (call routes that need it answer 503). Returns the adapter's name.
fn video_provider(config: &Config) -> Result<(Arc<dyn VideoProvider>, &'static str), StartError> {
    Ok(match &config.video {
        Some(video) => (
            Arc::new(
                concierge_video::VideoSdkProvider::new(video.clone())
                    .map_err(|e| StartError::Config(format!("VideoSDK: {e}")))?,
            ),
            "videosdk",
        ),
        None => {
            tracing::info!("VIDEOSDK_API_KEY/VIDEOSDK_SECRET_KEY are not set: calls are disabled");
            (Arc::new(concierge_video::DisabledVideoProvider), "disabled")
        }
    })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Creates the first SUPER_ADMIN on an empty database. Without SUPER_ADMIN_PASSWORD a password
/// is generated and printed once to standard output (never to the log).
async fn seed(services: &Services, config: &Config) -> Result<(), StartError> {
    let (password, generated) = match &config.super_admin_password {
        Some(p) => (p.clone(), false),
        None => {
            use rand::distr::{Alphanumeric, SampleString};
            (Alphanumeric.sample_string(&mut rand::rng(), 20), true)
        }
    };
    let created = services
        .accounts
        .seed_super_admin(&config.super_admin_username, &password)
        .await
        .map_err(StartError::Seed)?;
    if created {
        tracing::info!(username = %config.super_admin_username, "created the first super admin");
        if generated {
            println!(
                "\nCreated super admin '{}' with password: {password}\nIt is shown only this once; set SUPER_ADMIN_PASSWORD to choose it.\n",
                config.super_admin_username
            );
        }
    }
    if let Some(admin_password) = &config.admin_password {
        let created = services
            .accounts
            .seed_admin(&config.admin_username, admin_password)
            .await
            .map_err(StartError::Seed)?;
        if created {
            tracing::info!(username = %config.admin_username, "created the admin from ADMIN_PASSWORD");
        }
    }
    Ok(())
}
