//! How the local runner is told what to run: flags or environment (clap),
//! with a `.env` file read first (by `main`). Every problem is reported by
//! name at start.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use secrecy::SecretString;

pub enum GitHubMode {
    /// The GitHub simulator, started in-process on its own port (0: one
    /// the system picks).
    Simulator { port: u16 },
    /// A real GitHub App: its secret JSON (SPEC section 2) from a file.
    Real {
        secret: SecretString,
        api_url: Option<String>,
        web_url: Option<String>,
    },
}

/// The reconciler's period when none is given: five minutes.
const DEFAULT_RECONCILE_MINUTES: &str = "5";

/// broker-local: the whole broker on one port, with its walkthrough page,
/// an embedded store and a simulated GitHub.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "broker-local",
    version,
    about,
    after_help = "Variables may also come from a .env file in the current folder.\n\
                  Internal routes take SigV4 (service execute-api) signed with LOCAL_IAM_ACCESS_KEY_ID and\n\
                  LOCAL_IAM_SECRET_ACCESS_KEY; unset, a pair is made once and kept in DIR/local-iam.env."
)]
pub struct Settings {
    /// Where the broker and its page listen (0: a free port)
    #[arg(long, value_name = "N", env = "PORT", default_value = "3000", value_parser = port("--port (PORT)"))]
    pub port: u16,

    /// The embedded store's folder
    #[arg(long, value_name = "DIR", env = "BROKER_DATA_DIR", default_value = ".local")]
    pub data_dir: PathBuf,

    /// Forget everything stored before starting (the IAM key pair is kept)
    #[arg(long)]
    pub reset: bool,

    /// A real GitHub App's secret JSON: talk to github.com instead of the simulator
    #[arg(long, value_name = "FILE", env = "APP_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,

    /// The simulator's port when no secret file is given [default: PORT+1, or a free one with --port 0]
    #[arg(long, value_name = "N", value_parser = port("--github-sim-port"))]
    pub github_sim_port: Option<u16>,

    /// Run the reconciler every N minutes, the first N minutes after start (0: only on POST /internal/reconcile)
    #[arg(
        long,
        value_name = "N",
        env = "RECONCILE_MINUTES",
        default_value = DEFAULT_RECONCILE_MINUTES,
        value_parser = minutes("--reconcile-minutes (RECONCILE_MINUTES)")
    )]
    pub reconcile_minutes: u32,
}

/// A port number, or the message naming what was given.
fn port(name: &'static str) -> impl Fn(&str) -> Result<u16, String> + Clone + Send + Sync + 'static {
    move |raw| parse_port(name, raw)
}

fn minutes(name: &'static str) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |raw| parse_minutes(name, raw)
}

fn parse_port(name: &str, raw: &str) -> Result<u16, String> {
    raw.trim()
        .parse::<u16>()
        .map_err(|_| format!("{name} must be a port number, not {raw:?}"))
}

/// A whole number of minutes; 0 turns the timer off.
fn parse_minutes(name: &str, raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse::<u32>()
        .map_err(|_| format!("{name} must be a whole number of minutes (0: never), not {raw:?}"))
}

/// Reads `.env` into the environment (a missing one is normal; a
/// malformed one is reported). Before parsing, so that it is a fallback.
pub fn read_dotenv() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(format!(".env could not be read: {e}")),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// How often the reconciler runs in the background, as its schedule
    /// runs it on AWS; `None`: never, only when asked
    /// (`POST /internal/reconcile`).
    pub fn reconcile_every(&self) -> Option<Duration> {
        (self.reconcile_minutes > 0).then(|| Duration::from_secs(u64::from(self.reconcile_minutes) * 60))
    }

    /// The simulator on its port, or the real GitHub App from the secret
    /// file, read and checked now so that a wrong file fails at start,
    /// naming the field.
    pub fn github(&self) -> Result<GitHubMode, String> {
        match &self.secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("the secret file {} cannot be read: {e}", path.display()))?;
                let secret = SecretString::from(text);
                broker::secrets::AppCredentials::parse(&secret)
                    .map_err(|e| format!("the secret file {}: {e}", path.display()))?;
                Ok(GitHubMode::Real {
                    secret,
                    api_url: env("GITHUB_API_URL"),
                    web_url: env("GITHUB_WEB_URL"),
                })
            }
            None => Ok(GitHubMode::Simulator {
                port: self.github_sim_port.unwrap_or(match self.port {
                    0 => 0,
                    port => port.wrapping_add(1),
                }),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconciler_runs_every_whole_number_of_minutes_or_never() {
        assert_eq!(parse_minutes("X", "5"), Ok(5));
        assert_eq!(parse_minutes("X", " 1 "), Ok(1));
        assert_eq!(parse_minutes("X", "0"), Ok(0));
        for raw in ["-1", "1.5", "five", ""] {
            let error = parse_minutes("RECONCILE_MINUTES", raw).expect_err(raw);
            assert!(error.starts_with("RECONCILE_MINUTES must be"), "{error}");
        }
    }

    #[test]
    fn flags_parse_as_before() {
        let s = Settings::try_parse_from([
            "broker-local",
            "--port",
            "0",
            "--data-dir",
            "/tmp/x",
            "--reset",
            "--reconcile-minutes",
            "0",
        ])
        .unwrap();
        assert_eq!((s.port, s.reset, s.reconcile_every()), (0, true, None));
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        assert!(matches!(s.github(), Ok(GitHubMode::Simulator { port: 0 })));
        let s = Settings::try_parse_from(["broker-local", "--port", "4000", "--reconcile-minutes", "2"]).unwrap();
        assert!(matches!(s.github(), Ok(GitHubMode::Simulator { port: 4001 })));
        assert_eq!(s.reconcile_every(), Some(Duration::from_secs(120)));
        let error = Settings::try_parse_from(["broker-local", "--port", "http"]).unwrap_err();
        assert!(
            error.to_string().contains("--port (PORT) must be a port number"),
            "{error}"
        );
        let help = Settings::try_parse_from(["broker-local", "--help"])
            .unwrap_err()
            .to_string();
        for flag in [
            "--port",
            "--data-dir",
            "--reset",
            "--secret-file",
            "--github-sim-port",
            "--reconcile-minutes",
            "[env: PORT=",
        ] {
            assert!(help.contains(flag), "{flag} in {help}");
        }
    }
}
