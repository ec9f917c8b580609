//! How the local runner is told what to run: flags or environment, with a
//! `.env` file read first. Every problem is reported by name at start.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

pub enum GitHubMode {
    /// The GitHub simulator, started in-process on its own port.
    Simulator { port: u16 },
    /// A real GitHub App: its secret JSON (SPEC section 2) from a file.
    Real {
        secret: SecretString,
        api_url: Option<String>,
        web_url: Option<String>,
    },
}

pub struct Settings {
    pub port: u16,
    pub data_dir: PathBuf,
    pub reset: bool,
    pub github: GitHubMode,
    /// How often the reconciler runs in the background, as its schedule
    /// runs it on AWS (`RECONCILE_MINUTES`, default 5); `None`: never, only
    /// when asked (`POST /internal/reconcile`).
    pub reconcile_every: Option<Duration>,
}

/// The reconciler's period when none is given: five minutes.
const DEFAULT_RECONCILE_EVERY: Duration = Duration::from_secs(5 * 60);

pub const USAGE: &str =
    "usage: broker-local [--port N] [--data-dir DIR] [--reset] [--secret-file FILE] [--github-sim-port N]
                    [--reconcile-minutes N]

  --port N             where the broker and its page listen (PORT, default 3000)
  --data-dir DIR       the embedded store's folder (BROKER_DATA_DIR, default .local)
  --reset              forget everything stored before starting
  --secret-file FILE   a real GitHub App's secret JSON (APP_SECRET_FILE): talk to github.com
  --github-sim-port N  the simulator's port when no secret file is given (default PORT+1)
  --reconcile-minutes N
                       run the reconciler every N minutes, first N minutes after start
                       (RECONCILE_MINUTES, default 5; 0: only on POST /internal/reconcile)

Variables may also come from a .env file in the current folder.";

fn parse_port(name: &str, raw: &str) -> Result<u16, String> {
    raw.parse::<u16>()
        .map_err(|_| format!("{name} must be a port number, not {raw:?}"))
}

/// A whole number of minutes; 0 turns the timer off.
fn parse_minutes(name: &str, raw: &str) -> Result<Option<Duration>, String> {
    let minutes = raw
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("{name} must be a whole number of minutes (0: never), not {raw:?}"))?;
    Ok((minutes > 0).then(|| Duration::from_secs(u64::from(minutes) * 60)))
}

impl Settings {
    pub fn from_args_and_env(args: impl Iterator<Item = String>) -> Result<Self, String> {
        // A missing .env is normal; a malformed one is reported.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(format!(".env could not be read: {e}")),
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut port = env("PORT").map(|p| parse_port("PORT", &p)).transpose()?.unwrap_or(3000);
        let mut data_dir = PathBuf::from(env("BROKER_DATA_DIR").unwrap_or_else(|| ".local".into()));
        let mut secret_file = env("APP_SECRET_FILE").map(PathBuf::from);
        let mut reconcile_every = env("RECONCILE_MINUTES")
            .map(|m| parse_minutes("RECONCILE_MINUTES", &m))
            .transpose()?
            .unwrap_or(Some(DEFAULT_RECONCILE_EVERY));
        let mut sim_port = None;
        let mut reset = false;
        let mut args = args.skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"));
            match arg.as_str() {
                "--port" => port = parse_port("--port", &value("--port")?)?,
                "--data-dir" => data_dir = PathBuf::from(value("--data-dir")?),
                "--secret-file" => secret_file = Some(PathBuf::from(value("--secret-file")?)),
                "--github-sim-port" => sim_port = Some(parse_port("--github-sim-port", &value("--github-sim-port")?)?),
                "--reconcile-minutes" => {
                    reconcile_every = parse_minutes("--reconcile-minutes", &value("--reconcile-minutes")?)?
                }
                "--reset" => reset = true,
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
            }
        }
        let github = match secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("the secret file {} cannot be read: {e}", path.display()))?;
                // Parsed here so that a wrong file fails now, naming the field.
                let secret = SecretString::from(text);
                broker::secrets::AppCredentials::parse(&secret)
                    .map_err(|e| format!("the secret file {}: {e}", path.display()))?;
                GitHubMode::Real {
                    secret,
                    api_url: env("GITHUB_API_URL"),
                    web_url: env("GITHUB_WEB_URL"),
                }
            }
            None => GitHubMode::Simulator {
                port: sim_port.unwrap_or(port.wrapping_add(1)),
            },
        };
        Ok(Self {
            port,
            data_dir,
            reset,
            github,
            reconcile_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconciler_runs_every_whole_number_of_minutes_or_never() {
        assert_eq!(parse_minutes("X", "5"), Ok(Some(Duration::from_secs(300))));
        assert_eq!(parse_minutes("X", " 1 "), Ok(Some(Duration::from_secs(60))));
        assert_eq!(parse_minutes("X", "0"), Ok(None));
        for raw in ["-1", "1.5", "five", ""] {
            let error = parse_minutes("RECONCILE_MINUTES", raw).expect_err(raw);
            assert!(error.starts_with("RECONCILE_MINUTES must be"), "{error}");
        }
    }
}
