//! `github-sim` binary: runs the simulator until Ctrl-C, for local
//! development. Drive it through its `/_sim/` control API.
//!
//! Options (each also read from the environment variable in brackets):
//! `--port N` [PORT] (default 0: any free port), `--host IP` [GITHUB_SIM_HOST]
//! (default 127.0.0.1), `--app-id N` [GITHUB_SIM_APP_ID], `--app-slug S`
//! [GITHUB_SIM_APP_SLUG], `--client-id S` [GITHUB_SIM_CLIENT_ID],
//! `--client-secret S` [GITHUB_SIM_CLIENT_SECRET], `--public-key FILE`
//! [GITHUB_SIM_PUBLIC_KEY_FILE] (or the PEM itself in GITHUB_SIM_PUBLIC_KEY_PEM),
//! `--webhook-url URL` [GITHUB_SIM_WEBHOOK_URL] with `--webhook-secret S`
//! [GITHUB_SIM_WEBHOOK_SECRET], `--callback-url URL` [GITHUB_SIM_CALLBACK_URL].
//! The admin page is at `/_sim/ui`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use github_sim::{GitHubSim, SimConfig};

const USAGE: &str = "usage: github-sim [--port N] [--host IP] [--app-id N] [--app-slug S] \
[--client-id S] [--client-secret S] [--webhook-url URL --webhook-secret S] [--callback-url URL] \
--public-key FILE";

const OPTIONS: &[(&str, &str)] = &[
    ("--port", "PORT"),
    ("--host", "GITHUB_SIM_HOST"),
    ("--app-id", "GITHUB_SIM_APP_ID"),
    ("--app-slug", "GITHUB_SIM_APP_SLUG"),
    ("--client-id", "GITHUB_SIM_CLIENT_ID"),
    ("--client-secret", "GITHUB_SIM_CLIENT_SECRET"),
    ("--public-key", "GITHUB_SIM_PUBLIC_KEY_FILE"),
    ("--webhook-url", "GITHUB_SIM_WEBHOOK_URL"),
    ("--webhook-secret", "GITHUB_SIM_WEBHOOK_SECRET"),
    ("--callback-url", "GITHUB_SIM_CALLBACK_URL"),
];

/// Command-line options over environment variables.
fn options() -> Result<HashMap<&'static str, String>, String> {
    let mut values = HashMap::new();
    for (flag, env) in OPTIONS {
        if let Ok(v) = std::env::var(env) {
            values.insert(*flag, v);
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(USAGE.to_owned());
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let Some((flag, _)) = OPTIONS.iter().find(|(f, _)| *f == name) else {
            return Err(format!("unknown argument {arg}\n{USAGE}"));
        };
        let value = inline.or_else(|| args.next()).ok_or(format!("{flag} needs a value"))?;
        values.insert(*flag, value);
    }
    Ok(values)
}

fn config(opts: &HashMap<&'static str, String>) -> Result<(SimConfig, SocketAddr), String> {
    let get = |flag: &str, default: &str| opts.get(flag).cloned().unwrap_or_else(|| default.to_owned());
    let port: u16 = get("--port", "0").parse().map_err(|_| "bad --port".to_owned())?;
    let host: IpAddr = get("--host", "127.0.0.1")
        .parse()
        .map_err(|_| "bad --host".to_owned())?;
    let app_id: u64 = get("--app-id", "1").parse().map_err(|_| "bad --app-id".to_owned())?;
    let pem = match (opts.get("--public-key"), std::env::var("GITHUB_SIM_PUBLIC_KEY_PEM")) {
        (Some(file), _) => std::fs::read_to_string(file).map_err(|e| format!("reading {file}: {e}"))?,
        (None, Ok(pem)) => pem,
        (None, Err(_)) => return Err(format!("the app's public key is required\n{USAGE}")),
    };
    let config = SimConfig::new(
        app_id,
        get("--app-slug", "gh-app-broker-dev"),
        get("--client-id", "Iv1.githubsimdev"),
        get("--client-secret", "github-sim-dev-secret"),
        pem,
    );
    Ok((config, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (opts, config, addr) = match options().and_then(|o| Ok((config(&o)?, o))) {
        Ok(((config, addr), opts)) => (opts, config, addr),
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let webhook = match (opts.get("--webhook-url"), opts.get("--webhook-secret")) {
        (Some(url), Some(secret)) => Some((url.clone(), secret.clone())),
        (None, None) => None,
        _ => {
            eprintln!("--webhook-url and --webhook-secret go together\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Checked here so a typo is a usage error, not the library's panic.
    let http = |u: &String| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !webhook.as_ref().is_none_or(|(url, _)| http(url)) {
        eprintln!("bad --webhook-url: not an absolute http(s) URL");
        return ExitCode::from(2);
    }
    if opts.get("--callback-url").is_some_and(|u| url::Url::parse(u).is_err()) {
        eprintln!("bad --callback-url: not an absolute URL");
        return ExitCode::from(2);
    }
    let sim = match GitHubSim::start_on(config, addr).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("github-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some((url, secret)) = webhook {
        sim.send_webhooks_to(&url, &secret);
    }
    if let Some(url) = opts.get("--callback-url") {
        sim.set_callback_url(url);
    }
    println!("{}", sim.url());
    tracing::info!(url = %sim.url(), app_id = sim.config().app_id, "github-sim listening");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("github-sim: waiting for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
