//! Where the broker is and who the CLI is to it: the base URL (`--url`,
//! `--stack`, `--local`), the IAM credentials of internal routes and the JWT
//! of frontend routes, each resolved only when the command needs it.

use std::path::Path;

use broker_client::error::with_sources;
use broker_client::Client;

use crate::args::{parse_as, Target};
use crate::CliError;

/// The local runner's address when `--local` is given without `--url`.
pub const LOCAL_URL: &str = "http://localhost:3000";
/// The environment names of the local runner's IAM pair.
pub const LOCAL_ACCESS_KEY: &str = "LOCAL_IAM_ACCESS_KEY_ID";
pub const LOCAL_SECRET_KEY: &str = "LOCAL_IAM_SECRET_ACCESS_KEY";
/// The file the local runner writes its pair to, in its data folder.
pub const LOCAL_IAM_FILE: &str = "local-iam.env";
/// The region signed for with the local pair (the runner takes any).
const LOCAL_REGION: &str = "us-east-1";

/// What a command needs to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Internal routes: SigV4.
    Iam,
    /// Frontend routes: the platform's JWT.
    Jwt,
}

/// An access key pair, and where it was found (for messages; never the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Pair {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub source: String,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("access_key_id", &self.access_key_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The pair in a list of variables, if both halves are there.
fn pair_of<'a>(mut get: impl FnMut(&str) -> Option<String> + 'a, source: String) -> Option<Pair> {
    let access_key_id = get(LOCAL_ACCESS_KEY).filter(|v| !v.is_empty())?;
    let secret_access_key = get(LOCAL_SECRET_KEY).filter(|v| !v.is_empty())?;
    Some(Pair {
        access_key_id,
        secret_access_key,
        source,
    })
}

/// The pair in a dotenv file, if the file exists and holds both halves.
fn pair_in_file(path: &Path) -> Result<Option<Pair>, CliError> {
    let items = match dotenvy::from_path_iter(path) {
        Ok(items) => items,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::Usage(format!("{}: {e}", path.display()))),
    };
    let mut vars = Vec::new();
    for item in items {
        vars.push(item.map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?);
    }
    let get = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Ok(pair_of(get, path.display().to_string()))
}

/// The local runner's IAM pair: the environment, else `./.env`, else
/// `<data_dir>/local-iam.env`.
pub fn local_pair(env: impl FnMut(&str) -> Option<String>, cwd: &Path, data_dir: &Path) -> Result<Pair, CliError> {
    if let Some(pair) = pair_of(env, "the environment".into()) {
        return Ok(pair);
    }
    let dotenv = cwd.join(".env");
    if let Some(pair) = pair_in_file(&dotenv)? {
        return Ok(pair);
    }
    let file = cwd.join(data_dir).join(LOCAL_IAM_FILE);
    if let Some(pair) = pair_in_file(&file)? {
        return Ok(pair);
    }
    Err(CliError::Usage(format!(
        "no local IAM pair: set {LOCAL_ACCESS_KEY} and {LOCAL_SECRET_KEY}, or put them in ./.env, \
         or start the local runner here (it writes {}; --data-dir points elsewhere)",
        file.display()
    )))
}

/// The `ApiUrl` output of a deployed stack.
async fn stack_url(config: &aws_config::SdkConfig, stack: &str) -> Result<String, CliError> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let answer = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| CliError::Other(format!("stack {stack}: {}", with_sources(&e))))?;
    answer
        .stacks()
        .first()
        .and_then(|s| s.outputs().iter().find(|o| o.output_key() == Some("ApiUrl")))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| CliError::Other(format!("stack {stack} has no ApiUrl output")))
}

async fn aws_config(region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// A development JWT from the local runner's `POST /local/session`.
async fn local_session(base: &str, who: &str) -> Result<String, CliError> {
    let sub = parse_as(who).map_err(CliError::Usage)?;
    let body = serde_json::json!({ "sub": sub });
    let url = format!("{}/local/session", base.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| CliError::Client(broker_client::Error::Transport(e)))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CliError::Client(broker_client::Error::Transport(e)))?;
    #[derive(serde::Deserialize)]
    struct Session {
        token: String,
    }
    if !(200..300).contains(&status) {
        let error = broker_client::Error::from_body(status, &bytes);
        return Err(CliError::Context(format!("signing in as {sub} at {url}"), error));
    }
    serde_json::from_slice::<Session>(&bytes)
        .map(|s| s.token)
        .map_err(|e| CliError::Other(format!("{url}: no token in the answer: {e}")))
}

/// The client for a command.
pub async fn client(target: &Target, needs: Needs) -> Result<Client, CliError> {
    let mut sdk = None;
    let base = if target.local {
        target.url.clone().unwrap_or_else(|| LOCAL_URL.to_owned())
    } else if let Some(stack) = &target.stack {
        let config = aws_config(target.region.as_deref()).await;
        let url = stack_url(&config, stack).await?;
        sdk = Some(config);
        url
    } else if let Some(url) = &target.url {
        url.clone()
    } else {
        return Err(CliError::Usage(
            "where is the broker? give --url URL (or BROKER_URL), --stack NAME or --local".into(),
        ));
    };
    if target.as_user.is_some() && !target.local {
        return Err(CliError::Usage(
            "--as signs in at the local runner: it needs --local".into(),
        ));
    }
    let mut builder = Client::builder(base.clone());
    match needs {
        Needs::Iam if target.local => {
            let cwd = std::env::current_dir().map_err(|e| CliError::Other(format!("working directory: {e}")))?;
            let pair = local_pair(|k| std::env::var(k).ok(), &cwd, &target.data_dir)?;
            builder = builder
                .static_credentials(pair.access_key_id, pair.secret_access_key, None)
                .region(target.region.clone().unwrap_or_else(|| LOCAL_REGION.to_owned()));
        }
        Needs::Iam => {
            let config = match sdk {
                Some(config) => config,
                None => aws_config(target.region.as_deref()).await,
            };
            builder = builder.sdk_config(&config);
            if let Some(region) = &target.region {
                builder = builder.region(region.clone());
            }
        }
        Needs::Jwt => {
            let jwt = match (&target.jwt, &target.as_user) {
                (Some(jwt), _) => jwt.clone(),
                (None, Some(who)) => local_session(&base, who).await?,
                (None, None) => {
                    return Err(CliError::Client(broker_client::Error::Credentials(
                        "this command needs the platform's JWT: --jwt or BROKER_JWT (with --local, --as USER)".into(),
                    )))
                }
            };
            builder = builder.jwt(jwt);
        }
    }
    builder.build().map_err(CliError::Client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_is_the_runner_s_port_3000_unless_a_url_is_given() {
        let mut target = Target {
            url: None,
            stack: None,
            region: None,
            local: true,
            data_dir: ".local".into(),
            jwt: Some("a.jwt.here".into()),
            as_user: None,
        };
        let local = client(&target, Needs::Jwt).await.unwrap();
        assert_eq!(local.base_url().as_str(), "http://localhost:3000/");
        target.url = Some("http://127.0.0.1:4000".into());
        let elsewhere = client(&target, Needs::Jwt).await.unwrap();
        assert_eq!(elsewhere.base_url().as_str(), "http://127.0.0.1:4000/");
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_pair_is_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let data = Path::new(".local");
        // Nothing anywhere.
        let err = local_pair(env(&[]), dir.path(), data).unwrap_err();
        assert!(
            matches!(err, CliError::Usage(ref m) if m.contains("local-iam.env")),
            "{err:?}"
        );
        // The runner's file.
        std::fs::create_dir(dir.path().join(".local")).unwrap();
        std::fs::write(
            dir.path().join(".local/local-iam.env"),
            "# written by broker-local\nLOCAL_IAM_ACCESS_KEY_ID=AKIDFILE\nLOCAL_IAM_SECRET_ACCESS_KEY=\"file/secret\"\n",
        )
        .unwrap();
        let pair = local_pair(env(&[]), dir.path(), data).unwrap();
        assert_eq!(
            (pair.access_key_id.as_str(), pair.secret_access_key.as_str()),
            ("AKIDFILE", "file/secret")
        );
        // A .env without the pair does not hide the file; one with it wins.
        std::fs::write(dir.path().join(".env"), "APP_SECRET_FILE=x\n").unwrap();
        assert_eq!(
            local_pair(env(&[]), dir.path(), data).unwrap().access_key_id,
            "AKIDFILE"
        );
        std::fs::write(
            dir.path().join(".env"),
            "LOCAL_IAM_ACCESS_KEY_ID=AKIDDOTENV\nLOCAL_IAM_SECRET_ACCESS_KEY=dotenv\n",
        )
        .unwrap();
        assert_eq!(
            local_pair(env(&[]), dir.path(), data).unwrap().access_key_id,
            "AKIDDOTENV"
        );
        // The environment first; half a pair there does not count.
        let both = [(LOCAL_ACCESS_KEY, "AKIDENV"), (LOCAL_SECRET_KEY, "env")];
        assert_eq!(
            local_pair(env(&both), dir.path(), data).unwrap().access_key_id,
            "AKIDENV"
        );
        let half = [(LOCAL_ACCESS_KEY, "AKIDENV")];
        assert_eq!(
            local_pair(env(&half), dir.path(), data).unwrap().access_key_id,
            "AKIDDOTENV"
        );
        // --data-dir elsewhere.
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        assert!(local_pair(env(&[]), dir.path(), Path::new("elsewhere")).is_err());
    }

    #[test]
    fn a_pair_never_shows_its_secret() {
        let pair = Pair {
            access_key_id: "AKID".into(),
            secret_access_key: "hush".into(),
            source: "x".into(),
        };
        assert!(!format!("{pair:?}").contains("hush"));
    }
}
