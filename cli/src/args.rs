//! The command line.

use std::path::PathBuf;

use broker_client::types::{AuditAction, PermissionLevel};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

const LONG_ABOUT: &str = "\
Operator and platform CLI for gh-app-broker, the GitHub App token broker.

Internal routes (tokens, revocation, reconcile, repositories and commits) are
signed with AWS SigV4 for execute-api: credentials from the default AWS chain
(environment, profile, SSO, roles), or with --local the local runner's IAM
pair. Frontend routes (installations, links, policies, audit) are sent with
the platform's JWT (--jwt or BROKER_JWT; with --local, --as USER signs in at
the runner).

Where the broker is: --url URL (or BROKER_URL), --stack NAME (the deployed
stack's ApiUrl output, read with CloudFormation DescribeStacks), or --local
(http://localhost:3000 unless --url says otherwise). With --local, the IAM
pair is read from LOCAL_IAM_ACCESS_KEY_ID / LOCAL_IAM_SECRET_ACCESS_KEY in
the environment, else ./.env, else <data-dir>/local-iam.env (the file the
local runner writes; --data-dir, default .local).";

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (the broker's internal_error, an unreadable answer,
     a stack that cannot be read or has no ApiUrl output)
  2  usage (bad arguments, nowhere to send the request, no local IAM pair)
  3  auth: unsigned or wrongly signed (Forbidden), no credentials or JWT,
     401 unauthenticated, 403 (not a member, not linked, outside the policy)
  4  not found (404: route, installation, connection, repository)
  5  conflict or invalid (409, 400, 405, 413, 422)
  6  rate-limited or unavailable, retry later (429, 502, 503, 504), or no
     answer at all (connection refused, timeout)

Examples:
  brokerctl --stack gh-app-broker token --account team-a --owner octo-org
  brokerctl --url https://abc.execute-api.eu-west-1.amazonaws.com \\
      token --account team-a --installation 42 --repo web --permission contents=read
  brokerctl --local --as alice installations
  brokerctl --local --as alice link --account team-a --installation 1
  brokerctl --local --as alice policy --account team-a --installation 1 --repo web
  brokerctl --local --as alice audit --account team-a --action installation_token
  brokerctl --local revoke --account team-a
  brokerctl --local reconcile --output json
  brokerctl --local create-repo --account team-a --owner octo-org --name svc --private --auto-init
  brokerctl --local commit --account team-a --owner octo-org --repo svc --branch main \\
      -m 'Add CI' --file .github/workflows/ci.yml=./ci.yml
  brokerctl completions bash > /etc/bash_completion.d/brokerctl";

#[derive(Debug, Parser)]
#[command(
    name = "brokerctl",
    version,
    about = "Vend GitHub tokens, manage links, policies and repositories, and read the audit trail of a gh-app-broker",
    long_about = LONG_ABOUT,
    after_help = "Exit codes: 0 ok, 1 other, 2 usage, 3 auth, 4 not found, 5 conflict/invalid, 6 unavailable (--help for more)",
    after_long_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,

    /// How to print results: `table` for people (a token command prints the
    /// bare token), `json` for programs (the broker's whole answer).
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table, env = "BROKER_OUTPUT")]
    pub output: Output,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the broker is, and who the CLI is to it.
#[derive(Debug, Args)]
pub struct Target {
    /// The broker's base URL (the stack's ApiUrl; with --local, the runner's).
    #[arg(long, global = true, env = "BROKER_URL", value_name = "URL")]
    pub url: Option<String>,

    /// A deployed stack: its ApiUrl output is the base URL.
    #[arg(long, global = true, value_name = "NAME", conflicts_with_all = ["url", "local"])]
    pub stack: Option<String>,

    /// The AWS region (the stack's, and the one signed for); default from the AWS chain.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// The local runner: http://localhost:3000 (or --url) with its IAM pair.
    #[arg(long, global = true)]
    pub local: bool,

    /// The local runner's data folder, where it writes local-iam.env.
    #[arg(
        long,
        global = true,
        env = "BROKER_DATA_DIR",
        default_value = ".local",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// The platform JWT for frontend routes.
    #[arg(long, global = true, env = "BROKER_JWT", hide_env_values = true, value_name = "JWT")]
    pub jwt: Option<String>,

    /// With --local and no JWT: sign in at the runner as one of its platform
    /// users (alice: team-a and team-b; bob: team-b).
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// An installation token for a team (internal route, SigV4).
    #[command(long_about = "An installation token for a team (internal route, SigV4).\n\n\
        By --installation ID (POST /internal/accounts/{account}/installations/{id}/token) or by the \
        GitHub account it is installed on, --owner LOGIN (POST /internal/accounts/{account}/token). \
        Without a scope the link's policy (or the whole installation) applies. Prints the bare \
        token; --output json prints the whole answer (expiry, permissions, repositories).")]
    Token(TokenArgs),

    /// A platform user's own GitHub token (internal route, SigV4).
    UserToken {
        /// The platform user (the `sub` of its JWT).
        #[arg(value_name = "USER")]
        user: String,
    },

    /// The installations the caller's GitHub user reaches, and the teams each is linked to (JWT).
    #[command(long_about = "The installations of the app that the caller's GitHub user reaches \
        (GET /github/installations; JWT): their ids (what link and token take), the account each \
        is on, its status and permissions, and which of the caller's teams it is linked to.")]
    Installations,

    /// The installations linked to a team, with their policies (JWT).
    Links {
        #[arg(long, value_name = "TEAM")]
        account: String,
    },

    /// Links an installation to a team, with an optional policy (JWT; PUT, idempotent).
    #[command(long_about = "Links an installation to a team (PUT, idempotent; JWT).\n\n\
        The caller's GitHub user must reach the installation (and, by default, own its account). \
        --repo and --permission set the link's policy, the ceiling on every token the team gets; \
        none: the whole installation. A policy different from the link's revokes the team's tokens \
        minted under the old one.")]
    Link {
        #[command(flatten)]
        link: LinkOf,
        #[command(flatten)]
        policy: PolicyArgs,
    },

    /// Changes the policy of a link that exists (JWT; PATCH, not retried).
    #[command(
        long_about = "Changes the policy of a link that exists (PATCH; JWT; not retried).\n\n\
        --repo and --permission are the new policy, replacing the old one whole; \
        --whole-installation lifts it. The same checks as link apply; a link that does not exist \
        is refused (installation_not_linked) rather than made. A new policy revokes the team's \
        tokens minted under the old one."
    )]
    #[command(group(
        ArgGroup::new("new_policy")
            .required(true)
            .multiple(true)
            .args(["repositories", "permissions", "whole_installation"])
    ))]
    Policy {
        #[command(flatten)]
        link: LinkOf,
        #[command(flatten)]
        policy: PolicyArgs,
        /// No policy: everything the installation grants.
        #[arg(long, conflicts_with_all = ["repositories", "permissions"])]
        whole_installation: bool,
    },

    /// Unlinks an installation from a team and revokes the team's tokens on it (JWT).
    Unlink {
        #[command(flatten)]
        link: LinkOf,
    },

    /// A team's audit trail, newest first (JWT).
    Audit {
        #[arg(long, value_name = "TEAM")]
        account: String,
        /// Records at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Records at or before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only this action.
        #[arg(long, value_parser = parse_action, value_name = "ACTION")]
        action: Option<AuditAction>,
        /// Records per page (1-100, default 50).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// The cursor of the previous page.
        #[arg(long, conflicts_with = "all")]
        cursor: Option<String>,
        /// Every page, not only the first.
        #[arg(long)]
        all: bool,
    },

    /// Revokes every live installation token of a team (incident response; SigV4).
    #[command(long_about = "Revokes at GitHub every live installation token of a team, on every \
        installation linked to it (DELETE /internal/accounts/{account}/tokens; SigV4). The links \
        stay; the next vend mints a new token.")]
    Revoke {
        #[arg(long, value_name = "TEAM")]
        account: String,
    },

    /// Runs the reconciler now (SigV4).
    Reconcile,

    /// Creates a repository through the installation on --owner linked to the team (SigV4; not retried).
    #[command(
        long_about = "Creates a repository on --owner through the installation there that is \
        linked to the team (POST /internal/accounts/{account}/repos; SigV4). Not retried: a repeat \
        after a lost answer would find the name taken. The link's policy must grant \
        administration=write."
    )]
    CreateRepo {
        #[arg(long, value_name = "TEAM")]
        account: String,
        /// The GitHub account the repository is made on.
        #[arg(long, value_name = "LOGIN")]
        owner: String,
        /// The new repository's name.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Private (otherwise GitHub's default, public).
        #[arg(long)]
        private: bool,
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// With a first commit (a README), so that branches can start from it.
        #[arg(long)]
        auto_init: bool,
    },

    /// Writes files as one commit on a branch (SigV4; not retried).
    #[command(
        long_about = "Writes every --file as one commit on --branch, creating the branch from \
        the default branch if it does not exist (POST /internal/accounts/{account}/commits; SigV4). \
        Each --file is REPO_PATH=LOCAL_FILE, or REPO_PATH alone to read the file of that relative \
        path here; the files are UTF-8 text. Not retried by the client: the broker already rebuilds \
        the commit when the branch moves under it."
    )]
    Commit {
        #[arg(long, value_name = "TEAM")]
        account: String,
        /// The repository's GitHub account.
        #[arg(long, value_name = "LOGIN")]
        owner: String,
        #[arg(long, value_name = "NAME")]
        repo: String,
        #[arg(long, value_name = "BRANCH")]
        branch: String,
        #[arg(long, short = 'm', value_name = "TEXT")]
        message: String,
        /// A file to write (repeat): REPO_PATH=LOCAL_FILE, or REPO_PATH.
        #[arg(long = "file", value_name = "PATH[=LOCAL]", required = true, value_parser = parse_file)]
        files: Vec<(String, PathBuf)>,
    },

    /// Prints a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The team (platform account) the token is for.
    #[arg(long, value_name = "TEAM")]
    pub account: String,
    /// The installation, by id.
    #[arg(long, value_name = "ID", conflicts_with = "owner", required_unless_present = "owner")]
    pub installation: Option<u64>,
    /// The installation, by the GitHub account it is on.
    #[arg(long, value_name = "LOGIN")]
    pub owner: Option<String>,
    /// Only these repositories (by name; repeat or comma-separate).
    #[arg(long = "repo", value_name = "NAME", value_delimiter = ',')]
    pub repositories: Vec<String>,
    /// Only these repositories (by id; repeat or comma-separate).
    #[arg(long = "repo-id", value_name = "ID", value_delimiter = ',')]
    pub repository_ids: Vec<u64>,
    /// Only these permissions (NAME=read|write|admin; repeat or comma-separate).
    #[arg(long = "permission", value_name = "NAME=LEVEL", value_delimiter = ',', value_parser = parse_permission)]
    pub permissions: Vec<(String, PermissionLevel)>,
    /// Reuse a cached token only with this many seconds of life left (0-3000).
    #[arg(long, value_name = "SECONDS")]
    pub min_ttl: Option<u32>,
}

/// The link a command is about: a team and an installation.
#[derive(Debug, Args)]
pub struct LinkOf {
    /// The team (platform account).
    #[arg(long, value_name = "TEAM")]
    pub account: String,
    /// The installation, by id (`installations` lists those you reach).
    #[arg(long, value_name = "ID")]
    pub installation: u64,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy's repositories (repeat or comma-separate); none: all.
    #[arg(long = "repo", value_name = "NAME", value_delimiter = ',')]
    pub repositories: Vec<String>,
    /// The policy's permissions (NAME=read|write|admin); none: all the installation grants.
    #[arg(long = "permission", value_name = "NAME=LEVEL", value_delimiter = ',', value_parser = parse_permission)]
    pub permissions: Vec<(String, PermissionLevel)>,
}

fn parse_permission(s: &str) -> Result<(String, PermissionLevel), String> {
    let (name, level) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=LEVEL (e.g. contents=read)"))?;
    if name.is_empty() {
        return Err(format!("`{s}` has no permission name"));
    }
    Ok((name.to_owned(), level.parse()?))
}

/// `REPO_PATH=LOCAL_FILE`, or `REPO_PATH` read from the same relative path.
fn parse_file(s: &str) -> Result<(String, PathBuf), String> {
    let (path, local) = s.split_once('=').unwrap_or((s, s));
    if path.is_empty() || local.is_empty() {
        return Err(format!("`{s}` is not REPO_PATH[=LOCAL_FILE]"));
    }
    Ok((path.to_owned(), PathBuf::from(local)))
}

fn parse_action(s: &str) -> Result<AuditAction, String> {
    s.parse().map_err(|e: String| {
        let all: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        format!("{e} ({})", all.join(", "))
    })
}

/// The user of `--as`: the runner knows each user's teams.
pub fn parse_as(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("--as: no user".into()),
        user if user.contains(':') => Err(format!(
            "--as {user:?}: a user's teams are the runner's (alice: team-a and team-b; bob: team-b)"
        )),
        user => Ok(user.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn permissions_and_users_parse() {
        assert_eq!(
            parse_permission("contents=write").unwrap(),
            ("contents".into(), PermissionLevel::Write)
        );
        assert!(parse_permission("contents").is_err());
        assert!(parse_permission("contents=owner").is_err());
        assert!(parse_permission("=read").is_err());
        assert_eq!(parse_as(" alice ").unwrap(), "alice");
        assert!(parse_as("alice:team-a").is_err());
        assert!(parse_as(" ").is_err());
        assert_eq!(
            parse_file("docs/a.md=./notes.md").unwrap(),
            ("docs/a.md".to_owned(), PathBuf::from("./notes.md"))
        );
        assert_eq!(
            parse_file("README.md").unwrap(),
            ("README.md".to_owned(), PathBuf::from("README.md"))
        );
        assert!(parse_file("=x").is_err() && parse_file("x=").is_err());
    }

    #[test]
    fn a_token_needs_an_installation_or_an_owner_not_both() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["brokerctl", "--url", "http://x"], args].concat());
        assert!(parse(&["token", "--account", "a"]).is_err());
        assert!(parse(&["token", "--account", "a", "--installation", "1", "--owner", "o"]).is_err());
        let cli = parse(&[
            "token",
            "--account",
            "a",
            "--owner",
            "o",
            "--repo",
            "web,api",
            "--permission",
            "contents=read",
        ])
        .unwrap();
        let Command::Token(token) = cli.command else { panic!() };
        assert_eq!(token.repositories, ["web", "api"]);
        assert!(parse(&["--stack", "s", "--local", "reconcile"]).is_err());
    }

    #[test]
    fn a_policy_change_says_what_the_policy_becomes() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                [
                    &[
                        "brokerctl",
                        "--url",
                        "http://x",
                        "policy",
                        "--account",
                        "a",
                        "--installation",
                        "1",
                    ],
                    args,
                ]
                .concat(),
            )
        };
        assert!(parse(&[]).is_err(), "no policy and no --whole-installation");
        assert!(parse(&["--whole-installation", "--repo", "web"]).is_err());
        let Command::Policy {
            policy,
            whole_installation,
            ..
        } = parse(&["--permission", "issues=write"]).unwrap().command
        else {
            panic!()
        };
        assert!(!whole_installation);
        assert_eq!(policy.permissions, [("issues".to_owned(), PermissionLevel::Write)]);
        let Command::Policy {
            policy,
            whole_installation,
            ..
        } = parse(&["--whole-installation"]).unwrap().command
        else {
            panic!()
        };
        assert!(whole_installation && policy.repositories.is_empty() && policy.permissions.is_empty());
    }
}
