//! `broker-local`: the whole broker on one port, for trying it and for
//! developing it. See the README's first section.

mod auth;
mod events;
mod runner;
mod seed;
mod server;
mod settings;

use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,github_sim=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let settings = match settings::Settings::from_args_and_env(std::env::args()) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runner = match runner::start(&settings).await {
        Ok(r) => Arc::new(r),
        Err(message) => {
            eprintln!("broker-local cannot start: {message}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", settings.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("broker-local cannot listen on port {}: {e}", settings.port);
            return ExitCode::FAILURE;
        }
    };
    println!("gh-app-broker is running: open {}/", runner.base_url);
    match &runner.sim {
        Some(sim) => println!("GitHub (simulated) is at {}/_sim/ui", sim.url()),
        None => println!("GitHub: the real one, with the app from the secret file"),
    }
    println!(
        "internal routes take: Authorization: Bearer {}",
        runner.auth.internal_key()
    );
    println!("state: {}", settings.data_dir.display());
    match settings.reconcile_every {
        Some(every) => println!(
            "reconciler: every {} min (RECONCILE_MINUTES; 0 turns it off), and on POST /internal/reconcile",
            every.as_secs() / 60
        ),
        None => println!("reconciler: only on POST /internal/reconcile (RECONCILE_MINUTES=0)"),
    }
    // The schedule's stand-in: stopped with the server, a run in progress
    // dropped (its lease lapses; the next run resumes from its last step).
    let timer = settings
        .reconcile_every
        .map(|every| runner::reconcile_timer(runner.app.clone(), every));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = axum::serve(listener, server::router(runner))
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(timer) = timer {
        timer.abort();
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broker-local stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
