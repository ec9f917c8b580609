//! The repository calls (the [`Repos`] port) over the REST client:
//! creating repositories and the Git data API, with GitHub's answers read
//! into the port's types.

use async_trait::async_trait;
use http::Method;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::repos::{Commit, FileChange, NewRepository, RefWrite, Repos, Repository};
use super::rest::{bearer, parse, Replay, RestClient};
use super::{GitHubError, GitHubResult};

impl RestClient {
    /// `/repos/{owner}/{repo}/…rest`, every part its own encoded segment.
    fn repo_url<'a>(&self, owner: &'a str, repo: &'a str, rest: &[&'a str]) -> GitHubResult<url::Url> {
        self.api_url(["repos", owner, repo].into_iter().chain(rest.iter().copied()))
    }

    /// A GET with `token`, decoded. Reads are always safe to replay.
    async fn get_as<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        url: url::Url,
        what: &'static str,
    ) -> GitHubResult<T> {
        let resp = self
            .send(Replay::Safe, || {
                self.http.get(url.clone()).header("authorization", bearer(token))
            })
            .await?;
        parse(resp, what).await
    }

    /// A write with a JSON body and `token`, decoded.
    async fn write_as<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        (method, url): (http::Method, url::Url),
        body: &(impl Serialize + Sync),
        replay: Replay,
        what: &'static str,
    ) -> GitHubResult<T> {
        let request = || {
            self.http
                .request(method.clone(), url.clone())
                .header("authorization", bearer(token))
                .json(body)
        };
        parse(self.send(replay, request).await?, what).await
    }
}

#[derive(Deserialize)]
struct ShaObject {
    sha: String,
}

#[derive(Deserialize)]
struct RefObject {
    object: ShaObject,
}

#[derive(Deserialize)]
struct CommitObject {
    tree: ShaObject,
}

/// 422 on a ref write means the branch moved (or already exists).
fn ref_write(result: GitHubResult<serde_json::Value>) -> GitHubResult<RefWrite> {
    match result {
        Ok(_) => Ok(RefWrite::Written),
        Err(GitHubError::Rejected { .. }) => Ok(RefWrite::Moved),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Repos for RestClient {
    async fn create_org_repository(
        &self,
        token: &SecretString,
        org: &str,
        repo: &NewRepository,
    ) -> GitHubResult<Repository> {
        let url = self.api_url(["orgs", org, "repos"])?;
        // Not replayed: a retry after a lost answer would be refused as a duplicate name.
        self.write_as(
            token,
            (Method::POST, url),
            repo,
            Replay::OnlyIfUnsent,
            "POST /orgs/{org}/repos",
        )
        .await
    }

    async fn create_user_repository(&self, token: &SecretString, repo: &NewRepository) -> GitHubResult<Repository> {
        let url = self.api_url(["user", "repos"])?;
        self.write_as(
            token,
            (Method::POST, url),
            repo,
            Replay::OnlyIfUnsent,
            "POST /user/repos",
        )
        .await
    }

    async fn repository(&self, token: &SecretString, owner: &str, repo: &str) -> GitHubResult<Repository> {
        let url = self.repo_url(owner, repo, &[])?;
        self.get_as(token, url, "GET /repos/{owner}/{repo}").await
    }

    async fn branch_head(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> GitHubResult<Option<String>> {
        // A branch's slashes separate segments of the ref's path, as in
        // GitHub's own URLs; each part is encoded on its own.
        let rest: Vec<&str> = ["git", "ref", "heads"].into_iter().chain(branch.split('/')).collect();
        let url = self.repo_url(owner, repo, &rest)?;
        match self.get_as::<RefObject>(token, url, "GET git/ref").await {
            Ok(r) => Ok(Some(r.object.sha)),
            Err(GitHubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn commit_tree(&self, token: &SecretString, owner: &str, repo: &str, commit: &str) -> GitHubResult<String> {
        let url = self.repo_url(owner, repo, &["git", "commits", commit])?;
        Ok(self
            .get_as::<CommitObject>(token, url, "GET git/commits")
            .await?
            .tree
            .sha)
    }

    async fn create_tree(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        base_tree: &str,
        files: &[FileChange],
    ) -> GitHubResult<String> {
        let url = self.repo_url(owner, repo, &["git", "trees"])?;
        let entries: Vec<_> = files
            .iter()
            .map(|f| json!({"path": f.path, "mode": "100644", "type": "blob", "content": f.content}))
            .collect();
        let body = json!({"base_tree": base_tree, "tree": entries});
        // Git objects are content-addressed: creating one twice is harmless.
        let tree: ShaObject = self
            .write_as(token, (Method::POST, url), &body, Replay::Safe, "POST git/trees")
            .await?;
        Ok(tree.sha)
    }

    async fn create_commit(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        message: &str,
        tree: &str,
        parent: &str,
    ) -> GitHubResult<Commit> {
        let url = self.repo_url(owner, repo, &["git", "commits"])?;
        let body = json!({"message": message, "tree": tree, "parents": [parent]});
        self.write_as(token, (Method::POST, url), &body, Replay::Safe, "POST git/commits")
            .await
    }

    async fn update_branch(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> GitHubResult<RefWrite> {
        let rest: Vec<&str> = ["git", "refs", "heads"].into_iter().chain(branch.split('/')).collect();
        let url = self.repo_url(owner, repo, &rest)?;
        let body = json!({"sha": sha, "force": false});
        // Replaying a fast-forward to the same commit is a no-op.
        ref_write(
            self.write_as(token, (Method::PATCH, url), &body, Replay::Safe, "PATCH git/refs")
                .await,
        )
    }

    async fn create_branch(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> GitHubResult<RefWrite> {
        let url = self.repo_url(owner, repo, &["git", "refs"])?;
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        ref_write(
            self.write_as(token, (Method::POST, url), &body, Replay::OnlyIfUnsent, "POST git/refs")
                .await,
        )
    }
}
