//! Builds the application: binds the listener (port 0 in tests) and serves until told to stop,
//! then drains in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::ServiceExt;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use crate::clock::now_micros;
use crate::config::Settings;
use crate::http::rate_limit::TokenRateLimits;
use crate::metrics::Metrics;
use crate::scim::schema::Registry;
use crate::sso::login::Sso;
use crate::sso::oidc::OidcClient;
use crate::sso::session;
use crate::state::{AppState, SharedState};
use crate::store::Store;
use crate::tenant::tokens::GrantCache;
use crate::webhooks::sender::Sender;
use crate::webhooks::worker::Worker;

pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Binds `settings.listen`. The store must already be migrated.
    pub async fn build(mut settings: Settings, store: Store) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen).await?;
        let bound = listener.local_addr()?;
        if settings.listen.port() == 0
            && settings.public_url == format!("http://{}", settings.listen)
        {
            settings.public_url = format!("http://{bound}");
            settings.invitations.public_url = settings.public_url.clone();
        }
        settings.listen = bound;
        let registry = Registry::load()?.with_attribute_limits(settings.limits.attributes);
        let sso = &settings.sso;
        if let Some(secret) = &sso.secret_key {
            session::ensure_signing_key(&store, secret, now_micros()).await?;
        } else {
            tracing::info!("no secret key (SCIM_GATEWAY_SECRET_KEY): single sign-on is off");
        }
        let sso = Sso {
            secret: sso.secret_key.clone(),
            oidc: OidcClient::new(sso.http_proxy.as_deref())?,
            public_url: settings.public_url.clone(),
            session_ttl_secs: sso.session_ttl_secs,
            login_ttl_secs: sso.login_ttl_secs,
        };
        let webhook_sender = Sender::new(
            settings.webhook_delivery.timeout,
            settings.allow_insecure_webhooks,
        )?;
        let state = AppState::new(SharedState {
            store,
            registry: Arc::new(registry),
            grants: Arc::new(GrantCache::new(settings.token_cache_ttl)),
            metrics: Arc::new(Metrics::new(settings.metrics_tenant_labels)),
            rate_limits: Arc::new(TokenRateLimits::new(settings.token_rate_limit)),
            settings: Arc::new(settings),
            sso: Arc::new(sso),
            webhook_sender,
        });
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.settings.listen
    }

    pub fn public_url(&self) -> &str {
        &self.state.settings.public_url
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Outside the router: a trailing slash must be gone before a route is chosen
        // (Microsoft's reference collection sends `/Users/?filter=…`).
        // Webhook deliveries run beside the server when endpoints can exist (their signing
        // secrets are sealed with the secret key). Stopping it at any moment is safe: an
        // endpoint's cursor moves only past delivered events.
        let deliveries = self.state.settings.sso.secret_key.clone().map(|key| {
            let worker = Worker::new(
                self.state.store.clone(),
                key,
                self.state.webhook_sender.clone(),
                self.state.settings.webhook_delivery.clone(),
            );
            let holder = worker.holder().to_string();
            (tokio::spawn(worker.run()), holder)
        });
        let store = self.state.store.clone();
        let statistics = tokio::spawn(store.clone().gather_first_statistics());
        let service =
            NormalizePathLayer::trim_trailing_slash().layer(crate::http::router(self.state));
        let served = axum::serve(
            self.listener,
            ServiceExt::<axum::extract::Request>::into_make_service(service),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        statistics.abort();
        if let Some((deliveries, holder)) = deliveries {
            deliveries.abort();
            // What this process was delivering, another one may take up at once. (Events it
            // sent but had not yet recorded are sent again: at least once.)
            if let Err(err) = store.release_webhook_leases(&holder).await {
                tracing::warn!(error = %err, "could not give up the webhook leases of this process");
            }
        }
        served?;
        Ok(())
    }
}
