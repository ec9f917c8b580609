//! Builds the broker for one machine: the same `App` (through the same
//! composition root, [`App::build`]) and handlers the Lambda binaries use,
//! over the embedded store (or DynamoDB when `TABLE_NAME` is set) and the
//! GitHub simulator (or github.com).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use broker::api::{Function, Service};
use broker::clock::SystemClock;
use broker::config::{Config, EventsBackend, SecretLocation, StoreBackend};
use broker::App;
use github_sim::{GitHubSim, SimConfig};
use rand::RngCore;
use secrecy::SecretString;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tracing::Instrument;

use crate::auth::LocalAuth;
use crate::seed;
use crate::settings::{GitHubMode, Settings};
use crate::sigv4::{self, LocalIam, Origin};

const DEV_PRIVATE_KEY: &str = include_str!("../dev-keys/app-key.pem");
const DEV_PUBLIC_KEY: &str = include_str!("../dev-keys/app-key.pub.pem");
const DEV_APP_ID: u64 = 1001;
const DEV_APP_SLUG: &str = "broker-local-dev";
const DEV_CLIENT_ID: &str = "Iv23liLocalDevelopment";

pub struct Runner {
    /// The one container the four services share (its event bus, for the page).
    pub app: Arc<App>,
    pub oauth: Service,
    pub vending: Service,
    pub webhook: Service,
    pub reconciler: Service,
    pub auth: LocalAuth,
    /// The one IAM key pair internal routes are signed with, and where it
    /// came from.
    pub iam: LocalIam,
    pub iam_origin: Origin,
    pub sim: Option<GitHubSim>,
}

/// Development-only secrets, made once per data folder and kept there so
/// that sealed tokens stay readable across restarts.
fn dev_secret(data_dir: &Path) -> Result<serde_json::Value, String> {
    let path = data_dir.join("dev-secret.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).map_err(|e| format!("{} is corrupt: {e}", path.display()));
    }
    let random = |n: usize| {
        let mut bytes = vec![0u8; n];
        rand::rng().fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    };
    let secret = json!({
        "app_id": DEV_APP_ID.to_string(),
        "app_slug": DEV_APP_SLUG,
        "client_id": DEV_CLIENT_ID,
        "client_secret": random(24),
        "private_key": DEV_PRIVATE_KEY,
        "webhook_secret": random(24),
        "token_encryption_key": random(32),
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&secret).expect("JSON"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

/// The broker for `settings`, its page and callback at `port` (the one
/// the server is bound to).
pub async fn start(settings: &Settings, port: u16) -> Result<Runner, String> {
    let github = settings.github()?;
    // The IAM pair outlives --reset: what was exported stays good.
    let iam_file = settings.data_dir.join(sigv4::FILE_NAME);
    let kept_iam = LocalIam::read(&iam_file).ok().flatten();
    if settings.reset && settings.data_dir.exists() {
        std::fs::remove_dir_all(&settings.data_dir)
            .map_err(|e| format!("cannot reset {}: {e}", settings.data_dir.display()))?;
    }
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", settings.data_dir.display()))?;
    if let Some(kept) = &kept_iam {
        if !iam_file.exists() {
            kept.write(&iam_file)?;
        }
    }
    let (iam, iam_origin) = LocalIam::load_or_create(
        (
            std::env::var(sigv4::ACCESS_KEY_VAR).ok(),
            std::env::var(sigv4::SECRET_KEY_VAR).ok(),
        ),
        &settings.data_dir,
    )?;
    let base_url = format!("http://localhost:{port}");
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("FRONTEND_ORIGINS", base_url.clone()),
        ("OAUTH_REDIRECT_URI", format!("{base_url}/callback")),
    ]);
    let (secret, sim) = match &github {
        GitHubMode::Simulator { port } => {
            let secret = dev_secret(&settings.data_dir)?;
            let text = |k: &str| secret[k].as_str().unwrap_or_default().to_owned();
            let config = SimConfig::new(
                DEV_APP_ID,
                DEV_APP_SLUG,
                DEV_CLIENT_ID,
                text("client_secret"),
                DEV_PUBLIC_KEY,
            );
            let sim = GitHubSim::start_on(config, ([127, 0, 0, 1], *port).into())
                .await
                .map_err(|e| format!("the GitHub simulator cannot listen on port {port}: {e}"))?;
            sim.send_webhooks_to(&format!("{base_url}/webhook"), &text("webhook_secret"));
            sim.set_callback_url(&format!("{base_url}/callback"));
            seed::github_world(&sim);
            vars.insert("GITHUB_API_URL", sim.url());
            vars.insert("GITHUB_WEB_URL", sim.url());
            (SecretString::from(secret.to_string()), Some(sim))
        }
        GitHubMode::Real {
            secret,
            api_url,
            web_url,
        } => {
            vars.extend(api_url.clone().map(|u| ("GITHUB_API_URL", u)));
            vars.extend(web_url.clone().map(|u| ("GITHUB_WEB_URL", u)));
            (secret.clone(), None)
        }
    };
    for name in [
        "TABLE_NAME",
        "ACCOUNTS_CLAIM",
        "GITHUB_TIMEOUT_SECONDS",
        "EVENT_BUS_NAME",
        "EVENT_PAYLOAD_BUCKET",
        "FORWARD_EVENTS",
    ] {
        if let Ok(v) = std::env::var(name) {
            vars.insert(name, v);
        }
    }
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).map_err(|e| e.to_string())?;
    config.app_secret = Some(SecretLocation::Value(secret));
    if config.store.is_none() {
        config.store = Some(StoreBackend::Embedded {
            path: settings.data_dir.join("broker.redb"),
        });
    }
    // Deliveries are published on an in-process bus the page watches,
    // unless a real one is named.
    if config.events.is_none() {
        config.events = Some(EventsBackend::InProcess);
    }
    // One container for the four functions: the embedded file opens once.
    let app = Arc::new(
        App::build(config, None, Arc::new(SystemClock))
            .await
            .map_err(|e| format!("the broker cannot start: {e}"))?,
    );
    Ok(Runner {
        oauth: Service::new(Function::OAuthCallback, app.clone()),
        vending: Service::new(Function::TokenVending, app.clone()),
        webhook: Service::new(Function::Webhook, app.clone()),
        reconciler: Service::new(Function::Reconciler, app.clone()),
        app,
        auth: LocalAuth::new(),
        iam,
        iam_origin,
        sim,
    })
}

/// The reconciler's schedule, done locally: a run every `every`, the first
/// one `every` after start, never two at once (a run that outlasts the
/// period delays the next tick). Each run logs its one-line summary, under
/// the `reconcile_timer` span; a failed run is logged here. Aborting the
/// task drops a run in progress: its lease lapses, and the next run goes on
/// from the last step it saved.
pub fn reconcile_timer(app: Arc<App>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = interval_at(Instant::now() + every, every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let ran = broker::service::reconcile::run(&app, broker::service::reconcile::RUN_TIME)
                .instrument(tracing::info_span!("reconcile_timer"))
                .await;
            if let Err(e) = ran {
                tracing::warn!(error = %e, "the scheduled reconcile run failed; the next one goes on from its last step saved");
            }
        }
    })
}
