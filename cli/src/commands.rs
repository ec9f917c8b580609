//! Each command: the client call and what it prints.

use std::collections::BTreeMap;
use std::path::PathBuf;

use broker_client::types::{
    AuditQuery, CommitFile, CommitFiles, CreateRepository, LinkPolicy, OwnerVendRequest, PermissionLevel, VendRequest,
};
use clap::CommandFactory;

use crate::args::{Cli, Command, PolicyArgs, TokenArgs};
use crate::output::{render, Render};
use crate::target::{client, Needs};
use crate::CliError;

/// What a command printed: its result on stdout, and a note for stderr.
#[derive(Debug, Default)]
pub struct Printed {
    pub stdout: String,
    pub note: Option<String>,
}

fn printed<T: Render>(value: &T, cli: &Cli) -> Printed {
    Printed {
        stdout: render(value, cli.output),
        note: None,
    }
}

fn permissions(list: &[(String, PermissionLevel)]) -> Option<BTreeMap<String, PermissionLevel>> {
    (!list.is_empty()).then(|| list.iter().cloned().collect())
}

fn nonempty<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// The vend scope of `token`'s flags.
pub fn scope(args: &TokenArgs) -> VendRequest {
    VendRequest {
        repositories: nonempty(&args.repositories),
        repository_ids: nonempty(&args.repository_ids),
        permissions: permissions(&args.permissions),
        min_ttl_seconds: args.min_ttl,
    }
}

/// The link policy of `link`'s flags (`None`: the whole installation).
pub fn policy(args: &PolicyArgs) -> Option<LinkPolicy> {
    let policy = LinkPolicy {
        repositories: nonempty(&args.repositories),
        permissions: permissions(&args.permissions),
    };
    (!policy.is_unrestricted()).then_some(policy)
}

/// The files of `commit`, read before anything is sent.
fn commit_files(files: &[(String, PathBuf)]) -> Result<Vec<CommitFile>, CliError> {
    files
        .iter()
        .map(|(path, local)| {
            let content = std::fs::read_to_string(local)
                .map_err(|e| CliError::Usage(format!("--file {path}: {}: {e}", local.display())))?;
            Ok(CommitFile {
                path: path.clone(),
                content,
            })
        })
        .collect()
}

/// Runs the command.
pub async fn run(cli: &Cli) -> Result<Printed, CliError> {
    let target = &cli.target;
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "brokerctl", &mut out);
            Ok(Printed {
                stdout: String::from_utf8_lossy(&out).trim_end().to_owned(),
                note: None,
            })
        }
        Command::Token(args) => {
            let client = client(target, Needs::Iam).await?;
            let vended = match (&args.installation, &args.owner) {
                (Some(id), _) => client.installation_token(&args.account, *id, &scope(args)).await?,
                (None, Some(owner)) => {
                    let request = OwnerVendRequest {
                        owner: owner.clone(),
                        scope: scope(args),
                    };
                    client.owner_token(&args.account, &request).await?
                }
                (None, None) => unreachable!("clap requires --installation or --owner"),
            };
            Ok(printed(&vended, cli))
        }
        Command::UserToken { user } => {
            let client = client(target, Needs::Iam).await?;
            Ok(printed(&client.user_token(user).await?, cli))
        }
        Command::Installations => {
            let client = client(target, Needs::Jwt).await?;
            Ok(printed(&client.reachable_installations().await?, cli))
        }
        Command::Links { account } => {
            let client = client(target, Needs::Jwt).await?;
            Ok(printed(&client.account_installations(account).await?, cli))
        }
        Command::Link { link, policy: flags } => {
            let client = client(target, Needs::Jwt).await?;
            let linked = client
                .link(&link.account, link.installation, policy(flags).as_ref())
                .await?;
            Ok(printed(&linked, cli))
        }
        Command::Policy {
            link,
            policy: flags,
            whole_installation: _,
        } => {
            // clap leaves two cases: flags (a policy) or --whole-installation
            // (no flags, so the unrestricted policy).
            let client = client(target, Needs::Jwt).await?;
            let new = policy(flags).unwrap_or_default();
            let changed = client.change_policy(&link.account, link.installation, &new).await?;
            Ok(printed(&changed, cli))
        }
        Command::Unlink { link } => {
            let client = client(target, Needs::Jwt).await?;
            Ok(printed(&client.unlink(&link.account, link.installation).await?, cli))
        }
        Command::Audit {
            account,
            since,
            until,
            action,
            limit,
            cursor,
            all,
        } => {
            let client = client(target, Needs::Jwt).await?;
            let mut query = AuditQuery {
                since: since.clone(),
                until: until.clone(),
                action: *action,
                cursor: cursor.clone(),
                limit: *limit,
            };
            let mut trail = client.audit(account, &query).await?;
            while *all && trail.cursor.is_some() {
                query.cursor = trail.cursor.take();
                let next = client.audit(account, &query).await?;
                trail.records.extend(next.records);
                trail.cursor = next.cursor;
            }
            let note = match (&trail.cursor, cli.output) {
                (Some(cursor), crate::args::Output::Table) => {
                    Some(format!("more records: --cursor '{cursor}' (or --all)"))
                }
                _ => None,
            };
            Ok(Printed {
                stdout: render(&trail, cli.output),
                note,
            })
        }
        Command::Revoke { account } => {
            let client = client(target, Needs::Iam).await?;
            Ok(printed(&client.revoke_account_tokens(account).await?, cli))
        }
        Command::Reconcile => {
            let client = client(target, Needs::Iam).await?;
            Ok(printed(&client.reconcile().await?, cli))
        }
        Command::CreateRepo {
            account,
            owner,
            name,
            private,
            description,
            auto_init,
        } => {
            let request = CreateRepository {
                owner: owner.clone(),
                name: name.clone(),
                private: private.then_some(true),
                description: description.clone(),
                auto_init: auto_init.then_some(true),
            };
            let client = client(target, Needs::Iam).await?;
            Ok(printed(&client.create_repository(account, &request).await?, cli))
        }
        Command::Commit {
            account,
            owner,
            repo,
            branch,
            message,
            files,
        } => {
            let request = CommitFiles {
                owner: owner.clone(),
                repo: repo.clone(),
                branch: branch.clone(),
                message: message.clone(),
                files: commit_files(files)?,
            };
            let client = client(target, Needs::Iam).await?;
            Ok(printed(&client.commit_files(account, &request).await?, cli))
        }
    }
}
