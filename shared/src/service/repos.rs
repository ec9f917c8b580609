//! Acting on GitHub for a team: creating a repository with the right token
//! and committing files as one commit. GitHub lets an installation token
//! create repositories in an organisation but not on a personal account,
//! where only that user's own token can: the platform never has to know.

use secrecy::SecretString;

use super::audit;
use super::connection::fresh_tokens;
use super::vending::{self, installation_for_owner};
use crate::crypto::digest::token_sha256;
use crate::domain::audit::{AuditAction, AuditRecord, AuditScope};
use crate::domain::repo::{check_commit, check_repository, valid_repo_name};
use crate::domain::tokens::TokenRequest;
use crate::domain::{policy, AccountId, GitHubUserId, Installation};
use crate::error::{Error, Result};
use crate::github::repos::{Commit, FileChange, NewRepository, RefWrite, Repository};
use crate::github::GitHubError;
use crate::App;

/// How often a commit is rebuilt on a branch that moved under it.
const MAX_COMMIT_ATTEMPTS: u32 = 5;

/// Creates `repo` on GitHub account `owner`, with its audit record.
pub async fn create(
    app: &App,
    caller: &str,
    account: &AccountId,
    owner: &str,
    repo: NewRepository,
) -> Result<Repository> {
    let mut record = audit::record(app, caller, AuditAction::Repository)
        .account(account)
        .asked(AuditScope::repository(&repo.name, "administration", "write"));
    let created = create_recorded(app, &mut record, caller, account, owner, repo).await;
    settle(app, record, created).await
}

async fn create_recorded(
    app: &App,
    record: &mut AuditRecord,
    caller: &str,
    account: &AccountId,
    owner: &str,
    repo: NewRepository,
) -> Result<Repository> {
    check_repository(owner, &repo.name, repo.description.as_deref())?;
    let installation = usable_installation(app, account, owner, ("administration", None)).await?;
    record.installation_id = Some(installation.id);
    let created = if installation.is_organization() {
        let token = installation_token(app, caller, account, &installation).await?;
        record.token_sha256 = Some(token_sha256(&token));
        app.github
            .create_org_repository(&token, &installation.account_login, &repo)
            .await
    } else {
        let token = owner_user_token(app, &installation).await?;
        record.token_sha256 = Some(token_sha256(&token));
        app.github.create_user_repository(&token, &repo).await
    };
    created.map_err(github_refusal)
}

/// Writes the action's record, granted or refused as `result` says.
async fn settle<T>(app: &App, record: AuditRecord, result: Result<T>) -> Result<T> {
    match result {
        Ok(done) => {
            let granted = record.scope_asked.clone().unwrap_or_default();
            audit::write(app, record.granted(granted)).await;
            Ok(done)
        }
        Err(e) => audit::refused(app, record, e).await,
    }
}

/// Files to commit together on `branch` of `owner/repo`.
#[derive(Debug)]
pub struct CommitOrder {
    pub owner: String,
    pub repo: String,
    pub branch: String,
    pub message: String,
    pub files: Vec<FileChange>,
}

#[derive(Debug)]
pub struct Committed {
    pub commit: Commit,
    pub branch: String,
    pub created_branch: bool,
    /// How many times the commit was built (more than one when the branch moved).
    pub attempts: u32,
}

/// Blobs, a tree on the head's tree, a commit, then a fast-forward of the
/// branch (or its creation from the default branch). If the branch moved in
/// between, everything is rebuilt on the new head: the files land together
/// or not at all, and nobody else's commit is lost. With its audit record.
pub async fn commit(app: &App, caller: &str, account: &AccountId, req: CommitOrder) -> Result<Committed> {
    let mut record = audit::record(app, caller, AuditAction::Commit)
        .account(account)
        .asked(AuditScope::repository(&req.repo, "contents", "write"));
    let committed = commit_recorded(app, &mut record, caller, account, req).await;
    settle(app, record, committed).await
}

async fn commit_recorded(
    app: &App,
    record: &mut AuditRecord,
    caller: &str,
    account: &AccountId,
    req: CommitOrder,
) -> Result<Committed> {
    check_commit(
        &req.branch,
        &req.message,
        req.files.iter().map(|f| (f.path.as_str(), f.content.as_str())),
    )?;
    if !valid_repo_name(&req.repo) {
        return Err(Error::bad_request(
            "invalid_repository_name",
            "repository names are 1-100 of A-Z a-z 0-9 - _ .",
        ));
    }
    let installation = usable_installation(app, account, &req.owner, ("contents", Some(&req.repo))).await?;
    record.installation_id = Some(installation.id);
    let token = installation_token(app, caller, account, &installation).await?;
    record.token_sha256 = Some(token_sha256(&token));
    let (gh, owner, repo) = (&app.github, installation.account_login.as_str(), req.repo.as_str());
    for attempt in 1..=MAX_COMMIT_ATTEMPTS {
        let (parent, created_branch) = match gh
            .branch_head(&token, owner, repo, &req.branch)
            .await
            .map_err(github_refusal)?
        {
            Some(head) => (head, false),
            None => (default_branch_head(app, &token, owner, repo).await?, true),
        };
        let base_tree = gh
            .commit_tree(&token, owner, repo, &parent)
            .await
            .map_err(github_refusal)?;
        let tree = gh
            .create_tree(&token, owner, repo, &base_tree, &req.files)
            .await
            .map_err(github_refusal)?;
        let commit = gh
            .create_commit(&token, owner, repo, &req.message, &tree, &parent)
            .await
            .map_err(github_refusal)?;
        let written = if created_branch {
            gh.create_branch(&token, owner, repo, &req.branch, &commit.sha).await
        } else {
            gh.update_branch(&token, owner, repo, &req.branch, &commit.sha).await
        }
        .map_err(github_refusal)?;
        if written == RefWrite::Written {
            return Ok(Committed {
                commit,
                branch: req.branch,
                created_branch,
                attempts: attempt,
            });
        }
        tracing::info!(attempt, "branch moved during the commit; rebuilding on its new head");
    }
    Err(Error::conflict(
        "branch_moving",
        format!("the branch kept moving; gave up after {MAX_COMMIT_ATTEMPTS} attempts"),
    ))
}

async fn default_branch_head(app: &App, token: &SecretString, owner: &str, repo: &str) -> Result<String> {
    let repository = app
        .github
        .repository(token, owner, repo)
        .await
        .map_err(github_refusal)?;
    let default = repository.default_branch.unwrap_or_else(|| "main".into());
    app.github
        .branch_head(token, owner, repo, &default)
        .await
        .map_err(github_refusal)?
        .ok_or_else(|| Error::conflict("empty_repository", "the repository has no commit to branch from"))
}

/// The installation on `owner` linked to the account, if it may be used now
/// and the link's policy allows `permission: write` (on `repository`, for
/// an action on one): checked before GitHub is asked anything.
async fn usable_installation(
    app: &App,
    account: &AccountId,
    owner: &str,
    (permission, repository): (&str, Option<&str>),
) -> Result<Installation> {
    let linked = installation_for_owner(app, account, owner).await?;
    policy::require_vendable(true, Some(&linked.installation))?;
    linked
        .policy
        .shrunk_to(&linked.installation.permissions)
        .require(permission, "write", repository)?;
    Ok(linked.installation)
}

/// The installation's token through the same vending (and cache) as the
/// token routes, with all the link's policy allows. The action's record
/// names it; a mint is recorded with the mint.
async fn installation_token(
    app: &App,
    caller: &str,
    account: &AccountId,
    installation: &Installation,
) -> Result<SecretString> {
    Ok(
        vending::vend_for_action(app, caller, account, installation.id, &TokenRequest::default())
            .await?
            .token,
    )
}

/// The token of the GitHub user who owns a personal installation, from any
/// platform user connected as them.
async fn owner_user_token(app: &App, installation: &Installation) -> Result<SecretString> {
    let github_user = GitHubUserId(installation.account_id);
    for user in app.store.users_of_github_user(github_user).await? {
        match fresh_tokens(app, &user).await {
            Ok((_, tokens)) => return Ok(tokens.access_token),
            Err(Error::ReauthorizationRequired | Error::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::conflict(
        "reauthorization_required",
        format!(
            "creating a repository on {} needs that GitHub user's own authorization: they must connect GitHub again",
            installation.account_login
        ),
    ))
}

/// GitHub's refusals the platform can act on, with GitHub's reason.
fn github_refusal(e: GitHubError) -> Error {
    match e {
        GitHubError::Rejected { message } => Error::Unprocessable {
            code: "github_refused",
            message: format!("GitHub refused: {message}"),
        },
        GitHubError::NotFound { .. } => Error::not_found(
            "repository_not_found",
            "GitHub knows no such repository for this installation",
        ),
        GitHubError::Forbidden { message } | GitHubError::Suspended { message } => {
            Error::forbidden("github_forbidden", format!("GitHub refused: {message}"))
        }
        GitHubError::Conflict { message } => Error::conflict("github_conflict", format!("GitHub refused: {message}")),
        e => Error::GitHub(e),
    }
}
