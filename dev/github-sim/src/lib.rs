//! `github_sim`: a stateful, in-memory GitHub simulator that speaks GitHub's
//! real REST and OAuth HTTP API for one GitHub App, for integration tests and
//! local development.
//!
//! Start it with [`GitHubSim::start`], point the code under test at
//! [`GitHubSim::url`] (it serves both the REST API root and the web/OAuth
//! root), build a world with [`GitHubSim::add_user`], [`GitHubSim::install`]
//! and friends, and assert with [`GitHubSim::count`],
//! [`GitHubSim::live_user_tokens`] and [`GitHubSim::issued_secrets`].
//!
//! ```no_run
//! # async fn demo(public_key_pem: String) -> std::io::Result<()> {
//! use github_sim::{Counter, GitHubSim, RepoSelection, SimConfig};
//! let sim = GitHubSim::start(SimConfig::new(42, "my-app", "Iv1.abc", "s3cret", public_key_pem)).await?;
//! sim.add_user("octocat");
//! sim.add_repo("octocat", "hello", false);
//! let installation = sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
//! let code = sim.authorize("octocat", None, None);
//! // ... the broker exchanges `code` at {sim.url()}/login/oauth/access_token ...
//! assert_eq!(sim.count(Counter::Mints(installation)), 0);
//! # Ok(()) }
//! ```
//!
//! To test a client's retry logic, [`GitHubSim::inject`] a [`Fault`]: an error
//! status, a rate limit, a delay, or an answer lost after the request was
//! processed.
//!
//! For a person trying an App in a browser, [`GitHubSim::send_webhooks_to`]
//! makes every reportable change send GitHub's webhook, and
//! [`GitHubSim::set_callback_url`] enables the install flow at
//! `/apps/{slug}/installations/new`; `/_sim/ui` is an admin page to change
//! the world by hand.
//!
//! The HTTP routes are listed on [`GitHubSim`].

mod auth;
mod clock;
mod events;
mod faults;
mod git;
mod http;
mod installations;
mod jwt;
mod rate_limit;
mod repo_events;
mod repos;
mod shapes;
mod sim_hooks;
mod sim_rate_limit;
mod sim_repos;
mod state;
mod webhooks;
mod world;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind};
pub use state::Counter;
pub use webhooks::{Delivery, HeldWebhook};
pub use world::{OrgRole, RepoSelection};

use state::{Shared, State};
use world::WorldError;

/// The one GitHub App the simulator knows.
#[derive(Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub app_id: u64,
    pub app_slug: String,
    pub client_id: String,
    pub client_secret: String,
    /// The app's RSA public key (PEM, `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC
    /// KEY`); app JWTs are verified with it.
    pub public_key_pem: String,
}

impl SimConfig {
    pub fn new(
        app_id: u64,
        app_slug: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> SimConfig {
        SimConfig {
            app_id,
            app_slug: app_slug.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            public_key_pem: public_key_pem.into(),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("app_id", &self.app_id)
            .field("app_slug", &self.app_slug)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Aborts the server and webhook tasks when the last handle to the
/// simulator is dropped.
struct ServerTask(Vec<JoinHandle<()>>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A running simulator. Cheap to clone; the server stops when the last clone
/// is dropped (or its tokio runtime ends).
///
/// HTTP API (all JSON answers are `application/json; charset=utf-8`, every
/// answer has a sim-clock `Date` header, errors are GitHub-style):
/// - `POST /login/oauth/access_token` (code and refresh grants; errors are HTTP 200)
/// - `GET /login/oauth/authorize` (HTML user picker; `&login=X` redirects at once)
/// - `DELETE /applications/{client_id}/grant`, `DELETE /applications/{client_id}/token` (Basic auth)
/// - `GET /user`, `GET /user/installations`, `GET /user/memberships/orgs/{org}` (user token)
/// - `GET /app`, `GET /app/installations`, `GET /app/installations/{id}`,
///   `POST /app/installations/{id}/access_tokens` (app JWT; every app-JWT
///   request counts against the App's primary rate limit and its answer
///   carries `x-ratelimit-*`, see [`GitHubSim::set_app_rate_limit`])
/// - `GET /installation/repositories`, `DELETE /installation/token` (installation token)
/// - `POST /orgs/{org}/repos`, `POST /user/repos` (user token only),
///   `GET /repos/{owner}/{repo}`
/// - git database (user or installation token): `POST …/git/blobs`,
///   `POST …/git/trees`, `POST …/git/commits`, `GET …/git/commits/{sha}`,
///   `GET …/git/ref/{ref}` (and `GET …/git/refs/{ref}`), `POST …/git/refs`,
///   `PATCH …/git/refs/{ref}`, under `/repos/{owner}/{repo}`
/// - `/_sim/…` control API mirroring the methods below; `GET /_sim/health`;
///   `POST /_sim/faults` (`{"method"?, "path_prefix", "kind": "status" |
///   "rate_limit" | "delay" | "slow_answer" | "lose_answer" | "oauth_error",
///   "status"?, "retry_after_seconds"?, "delay_ms"?, "error"?, "times"}`), `DELETE /_sim/faults`,
///   `GET /_sim/requests?method=M&path_prefix=P` (`{"count"}`),
///   `GET /_sim/rate_limit` and `POST /_sim/rate_limit` (`{"limit"}`), both
///   answering `{"limit", "used", "remaining", "reset"}`,
///   `GET /_sim/repos/{o}/{r}/branch?name=B` (`{"head", "log"}`),
///   `GET /_sim/repos/{o}/{r}/file?branch=B&path=P` (`{"content"}`),
///   `POST /_sim/repos/{o}/{r}/commits` (`{"branch"?, "message", "files": {path: content}}`),
///   `POST /_sim/webhooks` (`{"url", "secret"}`), `GET /_sim/webhooks/deliveries`
///   (`{"deliveries": [{"id", "event", "action", "status", "installation_id", "outcome"}]}`),
///   `POST /_sim/callback_url` (`{"url"}`),
///   `PUT /_sim/orgs/{org}/members/{login}/role` (`{"role"}`),
///   `POST /_sim/orgs/{org}/invitations` (`{"login", "role"}`),
///   `PUT|DELETE /_sim/repos/{o}/{r}/collaborators/{login}` (`{"permission"}`)
/// - browser pages (HTML): `GET /apps/{slug}/installations/new?state=S[&login=L][&account=A]`
///   and its form `POST /apps/{slug}/installations/new` (see
///   [`GitHubSim::set_callback_url`]); the admin page `GET /_sim/ui` with its
///   buttons `POST /_sim/ui/users/{login}/revoke`,
///   `POST /_sim/ui/installations/{id}/{suspend|unsuspend|uninstall|push|pull_request}`,
///   `POST /_sim/ui/accounts/{login}/rename` (form field `new_login`)
#[derive(Clone)]
pub struct GitHubSim {
    shared: Arc<Shared>,
    url: String,
    _server: Arc<ServerTask>,
}

impl fmt::Debug for GitHubSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubSim")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl GitHubSim {
    /// Binds `127.0.0.1:0` and serves in a spawned tokio task.
    pub async fn start(config: SimConfig) -> std::io::Result<GitHubSim> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Binds `addr` (port 0 picks a free one) and serves in a spawned tokio task.
    pub async fn start_on(config: SimConfig, addr: SocketAddr) -> std::io::Result<GitHubSim> {
        let key = DecodingKey::from_rsa_pem(config.public_key_pem.as_bytes()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("github-sim: public_key_pem is not an RSA public key: {e}"),
            )
        })?;
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let url = format!("http://{bound}");
        let (hooks, hooks_task) = webhooks::Hooks::start(config.clone(), url.clone());
        let shared = Arc::new(Shared::new(config, key, url.clone(), hooks));
        let app = http::router(shared.clone());
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "github-sim server stopped");
            }
        });
        Ok(GitHubSim {
            shared,
            url,
            _server: Arc::new(ServerTask(vec![handle, hooks_task])),
        })
    }

    /// `http://127.0.0.1:PORT`: both the REST API root and the web (OAuth) root.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Runs `op` on the locked state; a refused operation is a bug in the
    /// test, so it panics with the reason.
    fn with<T>(&self, op: impl FnOnce(&mut State) -> Result<T, WorldError>) -> T {
        let result = op(&mut self.shared.lock());
        result.unwrap_or_else(|e| panic!("github-sim: {e}"))
    }

    fn now_and<T>(&self, op: impl FnOnce(&mut world::World, i64) -> Result<T, WorldError>) -> T {
        self.with(|st| {
            let now = st.now();
            op(&mut st.world, now)
        })
    }

    // ---- world building -------------------------------------------------

    /// Adds a user; returns its GitHub id (ids are unique across users and
    /// organisations and start at 1000). Panics if the login is taken.
    pub fn add_user(&self, login: &str) -> u64 {
        self.now_and(|w, now| w.add_user(login, now))
    }

    /// Adds an organisation whose members are existing users.
    pub fn add_org(&self, login: &str, members: &[&str]) -> u64 {
        self.now_and(|w, now| w.add_org(login, members, now))
    }

    pub fn add_org_member(&self, org: &str, user: &str) {
        self.now_and(|w, _| w.add_org_member(org, user))
    }

    pub fn remove_org_member(&self, org: &str, user: &str) {
        self.now_and(|w, _| w.remove_org_member(org, user))
    }

    /// Makes an active member an owner (`Admin`) or a plain `Member`. The
    /// first member an organisation is created with is its owner.
    pub fn set_org_role(&self, org: &str, user: &str, role: OrgRole) {
        self.now_and(|w, _| w.set_org_role(org, user, role))
    }

    /// Invites a user: a `pending` membership, not yet a member.
    pub fn invite_org_member(&self, org: &str, user: &str, role: OrgRole) {
        self.now_and(|w, _| w.invite_org_member(org, user, role))
    }

    /// Gives `user` access to one repository (`pull`, `triage`, `push`,
    /// `maintain`, `admin`): an outside collaborator when they are not a
    /// member of its organisation. Like GitHub, `GET /user/installations`
    /// then lists the installations that reach that repository to them.
    pub fn add_collaborator(&self, owner: &str, repo: &str, user: &str, permission: &str) {
        self.now_and(|w, _| w.set_collaborator(owner, repo, user, Some(permission)))
    }

    pub fn remove_collaborator(&self, owner: &str, repo: &str, user: &str) {
        self.now_and(|w, _| w.set_collaborator(owner, repo, user, None))
    }

    /// Adds a repository to an existing account; returns its id (from
    /// 100000). It has a `main` branch with one commit adding `README.md`.
    pub fn add_repo(&self, owner: &str, name: &str, private: bool) -> u64 {
        self.now_and(|w, now| w.add_repo(owner, name, private, now))
    }

    // The operations below send their webhook (see
    // [`GitHubSim::send_webhooks_to`]) when a target is set; `sender` is the
    // user account itself or an organisation's first member.

    /// Installs the app on an account; returns the installation id (from
    /// 5000). Selected repositories must belong to the account; permission
    /// levels are `read`, `write` or `admin`. Webhook: `installation` `created`.
    pub fn install(&self, account_login: &str, selection: RepoSelection, permissions: &[(&str, &str)]) -> u64 {
        self.with(|st| st.install_app(account_login, &selection, permissions, None))
    }

    /// Webhook: `installation` `new_permissions_accepted`.
    pub fn set_installation_permissions(&self, installation_id: u64, permissions: &[(&str, &str)]) {
        self.with(|st| st.set_installation_permissions(installation_id, permissions))
    }

    /// Webhooks: `installation_repositories` `added` and/or `removed`.
    pub fn set_installation_repositories(&self, installation_id: u64, selection: RepoSelection) {
        self.with(|st| st.set_installation_repositories(installation_id, &selection, None))
    }

    /// Webhook: `installation` `suspend` (unless already suspended).
    pub fn suspend(&self, installation_id: u64) {
        self.with(|st| st.suspend_installation(installation_id))
    }

    /// Webhook: `installation` `unsuspend` (unless not suspended).
    pub fn unsuspend(&self, installation_id: u64) {
        self.with(|st| st.unsuspend_installation(installation_id))
    }

    /// Deletes the installation: 404 for it afterwards. Webhook:
    /// `installation` `deleted`.
    pub fn uninstall(&self, installation_id: u64) {
        self.with(|st| st.uninstall(installation_id))
    }

    /// Webhook: a `push` of one commit to the installation's first repository.
    pub fn send_push(&self, installation_id: u64) {
        self.with(|st| st.send_push(installation_id))
    }

    /// Webhook: `pull_request` `opened` on the installation's first repository.
    pub fn send_pull_request(&self, installation_id: u64) {
        self.with(|st| st.send_pull_request(installation_id))
    }

    /// Renames a user or organisation; ids, tokens and installations stay.
    /// Webhook: `installation_target` `renamed` if the app is installed there.
    pub fn rename_account(&self, old_login: &str, new_login: &str) {
        self.with(|st| st.rename_account(old_login, new_login))
    }

    /// The user revokes the app's authorization: all of their access and
    /// refresh tokens (and unused codes) die. Webhook:
    /// `github_app_authorization` `revoked`.
    pub fn revoke_authorization(&self, user_login: &str) {
        self.with(|st| st.revoke_authorization(user_login))
    }

    /// The browser part of OAuth, as if the user clicked "Authorize"; returns
    /// a single-use code valid for 10 minutes.
    pub fn authorize(&self, user_login: &str, code_challenge: Option<&str>, redirect_uri: Option<&str>) -> String {
        self.with(|st| st.authorize(user_login, code_challenge, redirect_uri))
    }

    // ---- clocks & lifetimes ---------------------------------------------

    /// Sim clock = system clock + `seconds`; drives the `Date` header and
    /// every expiry and JWT check.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.shared.lock().clock_offset = seconds;
    }

    /// The sim clock now, in Unix seconds.
    pub fn now_unix(&self) -> i64 {
        self.shared.lock().now()
    }

    /// Lifetime of user access tokens issued from now on (default 28800).
    pub fn set_user_token_lifetime(&self, seconds: i64) {
        self.shared.lock().creds.user_token_lifetime = seconds;
    }

    /// The user's current access tokens expire now; refresh tokens stay valid.
    pub fn expire_user_tokens(&self, user_login: &str) {
        self.with(|st| st.expire_user_tokens(user_login))
    }

    /// Lifetime of installation tokens minted from now on (default 3600).
    pub fn set_installation_token_lifetime(&self, seconds: i64) {
        self.shared.lock().creds.installation_token_lifetime = seconds;
    }

    // ---- observation ----------------------------------------------------

    pub fn count(&self, what: Counter) -> usize {
        self.shared.lock().count(what)
    }

    /// The user's access tokens that are valid now (sorted).
    pub fn live_user_tokens(&self, user_login: &str) -> Vec<String> {
        self.with(|st| st.live_user_tokens(user_login))
    }

    /// The permissions of a live installation token (`None` if unknown or
    /// expired), to check what a vended token can do.
    pub fn installation_token_permissions(&self, token: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let st = self.shared.lock();
        let now = st.now();
        st.creds.installation_token(token, now).map(|t| t.permissions.clone())
    }

    /// Every code, access token, refresh token and installation token ever
    /// issued, in issue order.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.lock().creds.issued.clone()
    }

    /// How many requests with `method` (case-insensitive) whose path starts
    /// with `path_prefix` have arrived since start, faulted ones included
    /// (control API requests are not counted).
    pub fn count_path(&self, method: &str, path_prefix: &str) -> usize {
        self.shared.lock().faults.count_path(method, path_prefix)
    }

    // ---- fault injection ------------------------------------------------

    /// Queues a fault behind those already armed; each request gets the
    /// first armed fault that matches it, which then has one use fewer.
    /// Faults never apply to the `/_sim/` control API. Panics if the fault
    /// can never fire as meant (a prefix without a leading `/` or under
    /// `/_sim/`, a status outside 100..=999, a rate limit other than 403 or
    /// 429, a malformed method).
    pub fn inject(&self, fault: Fault) {
        let fault = fault.checked().unwrap_or_else(|e| panic!("github-sim: {e}"));
        self.shared.lock().faults.push(fault);
    }

    /// How many requests an injected fault was applied to, since start: a
    /// test can check that the fault it meant did fire.
    pub fn faults_fired(&self) -> usize {
        self.shared.lock().faults.fired
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }
}
