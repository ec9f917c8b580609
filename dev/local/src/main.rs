//! `broker-local`: the whole broker on one port, for trying it and for
//! developing it. See the README's first section. Only wiring: the runner
//! is the library (`src/lib.rs`).

use std::process::ExitCode;

use broker_local::sigv4::{ACCESS_KEY_VAR, SECRET_KEY_VAR};
use broker_local::{IamOrigin, Settings};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // Before the flags, so that its variables are their fallbacks.
    if let Err(message) = broker_local::read_dotenv() {
        eprintln!("{message}");
        return ExitCode::from(2);
    }
    let settings = Settings::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,github_sim=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let state = settings.data_dir.display().to_string();
    let running = match broker_local::start(settings).await {
        Ok(running) => running,
        Err(message) => {
            eprintln!("broker-local cannot start: {message}");
            return ExitCode::FAILURE;
        }
    };
    let page = running.base_url().replace("127.0.0.1", "localhost");
    println!("gh-app-broker is running: open {page}/");
    match running.sim() {
        Some(sim) => println!("GitHub (simulated) is at {}/_sim/ui", sim.url()),
        None => println!("GitHub: the real one, with the app from the secret file"),
    }
    let (key_id, secret) = running.iam();
    let from = match running.iam_origin() {
        IamOrigin::Environment => "from the environment".to_owned(),
        IamOrigin::Kept(file) => format!("kept in {}", file.display()),
        IamOrigin::Made(file) => format!("made now, kept in {}", file.display()),
    };
    println!("internal routes take SigV4 (service execute-api, any region) with this key pair ({from}):");
    println!("  export {ACCESS_KEY_VAR}={key_id} {SECRET_KEY_VAR}={secret}");
    println!("  e.g. curl --aws-sigv4 aws:amz:us-east-1:execute-api --user \"${ACCESS_KEY_VAR}:${SECRET_KEY_VAR}\" -X POST {page}/internal/reconcile");
    println!("state: {state}");
    match running.reconcile_every() {
        Some(every) => println!(
            "reconciler: every {} min (RECONCILE_MINUTES; 0 turns it off), and on POST /internal/reconcile",
            every.as_secs() / 60
        ),
        None => println!("reconciler: only on POST /internal/reconcile (RECONCILE_MINUTES=0)"),
    }
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}
