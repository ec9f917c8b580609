//! `broker-local`: the whole broker on one port, for trying it and for
//! developing it (see the README's local-runner section). The binary is
//! `main.rs`; this library is what it runs, and what tests start
//! in-process: [`start`] with [`Settings`], then [`Running`].

mod auth;
mod events;
mod runner;
mod seed;
mod server;
mod settings;
pub mod sigv4;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use settings::{read_dotenv, Settings};
pub use sigv4::Origin as IamOrigin;

/// A started runner: its server (a spawned task), the broker behind it,
/// and the reconciler's timer. Stopped by [`Running::stop`], or aborted
/// when dropped.
pub struct Running {
    base_url: String,
    runner: Arc<runner::Runner>,
    server: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    timer: Option<JoinHandle<()>>,
    reconcile_every: Option<Duration>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, the real port when `--port 0` was given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The IAM key pair internal routes must be SigV4-signed with:
    /// (access key id, secret access key).
    pub fn iam(&self) -> (&str, &str) {
        (self.runner.iam.access_key_id(), self.runner.iam.secret_access_key())
    }

    /// Where the IAM pair came from (the environment, or the file it is kept in).
    pub fn iam_origin(&self) -> &IamOrigin {
        &self.runner.iam_origin
    }

    /// The simulated GitHub, unless a real one is used.
    pub fn sim(&self) -> Option<&github_sim::GitHubSim> {
        self.runner.sim.as_ref()
    }

    /// How often the reconciler's timer runs it, if at all.
    pub fn reconcile_every(&self) -> Option<Duration> {
        self.reconcile_every
    }

    /// Stops serving (connections still open get two seconds to finish)
    /// and the timer.
    pub async fn stop(mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
                server.abort();
                let _ = server.await;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(timer) = &self.timer {
            timer.abort();
        }
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// Binds `127.0.0.1:PORT` (0: a port the system picks), builds the broker
/// (and the simulator), serves in a spawned task, and starts the
/// reconciler's timer.
pub async fn start(settings: Settings) -> Result<Running, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", settings.port))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot read the port listened on: {e}"))?
        .port();
    let runner = Arc::new(runner::start(&settings, port).await?);
    let reconcile_every = settings.reconcile_every();
    // The schedule's stand-in: stopped with the server, a run in progress
    // dropped (its lease lapses; the next run resumes from its last step).
    let timer = reconcile_every.map(|every| runner::reconcile_timer(runner.app.clone(), every));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = server::router(runner.clone());
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "broker-local stopped serving");
        }
    });
    Ok(Running {
        base_url: format!("http://127.0.0.1:{port}"),
        runner,
        server: Some(server),
        shutdown: Some(shutdown),
        timer,
        reconcile_every,
    })
}
