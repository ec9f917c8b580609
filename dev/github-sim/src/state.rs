//! The simulator's shared state: the immutable app configuration and the
//! mutable world, credentials, counters, clock and faults behind one mutex.
//! Both the HTTP handlers and the Rust API go through [`Shared`]. The
//! operations GitHub reports to an App by webhook live in `events.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use jsonwebtoken::DecodingKey;

use crate::auth::Credentials;
use crate::clock;
use crate::faults::Faults;
use crate::rate_limit::AppRateLimit;
use crate::webhooks::Hooks;
use crate::world::{World, WorldError};
use crate::SimConfig;

/// What [`crate::GitHubSim::count`] can report.
///
/// A request answered by an injected [`crate::FaultKind::Status`] or
/// [`crate::FaultKind::RateLimit`] never reaches its handler, so it counts
/// only in [`Counter::Requests`]; `Delay` and `LoseAnswer` requests are
/// processed and count like any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Requests to `POST /login/oauth/access_token` with a code grant, whatever
    /// their outcome.
    CodeExchanges,
    /// Requests to `POST /login/oauth/access_token` with
    /// `grant_type=refresh_token`, whatever their outcome.
    Refreshes,
    /// Installation tokens issued (HTTP 201) for this installation.
    Mints(u64),
    /// Installation tokens issued (HTTP 201) for any installation.
    MintsTotal,
    /// JWT-authenticated requests to `POST /app/installations/{id}/access_tokens`,
    /// whatever their outcome (so refused mints can be counted too).
    MintRequests,
    /// Pages of `GET /user/installations` served (HTTP 200).
    UserInstallationsPages,
    /// Successful `DELETE /applications/{client_id}/grant` and `/token` calls.
    Revocations,
    /// Repositories created through `POST /orgs/{org}/repos` or
    /// `POST /user/repos` (HTTP 201); `add_repo` does not count.
    RepoCreations,
    /// Commit objects created through `POST /repos/{o}/{r}/git/commits`
    /// (HTTP 201); `push_commit` and auto-init commits do not count.
    Commits,
    /// Successful (HTTP 200) `PATCH /repos/{o}/{r}/git/refs/{ref}` calls.
    RefUpdates,
    /// Every HTTP request except those to the `/_sim/` control API, faulted
    /// ones included.
    Requests,
}

#[derive(Debug)]
pub(crate) struct State {
    pub world: World,
    pub creds: Credentials,
    pub counters: HashMap<Counter, usize>,
    pub clock_offset: i64,
    pub faults: Faults,
    /// The App's primary rate limit, which app-JWT requests count against.
    pub app_rate: AppRateLimit,
    pub hooks: Hooks,
    /// The App's "Callback URL", where the install flow sends the browser.
    pub callback_url: Option<String>,
}

impl State {
    pub fn new(hooks: Hooks) -> State {
        State {
            world: World::default(),
            creds: Credentials::default(),
            counters: HashMap::new(),
            clock_offset: 0,
            faults: Faults::default(),
            app_rate: AppRateLimit::default(),
            hooks,
            callback_url: None,
        }
    }

    /// The sim clock: system time plus the offset, in Unix seconds.
    pub fn now(&self) -> i64 {
        clock::now_unix(self.clock_offset)
    }

    pub fn bump(&mut self, counter: Counter) {
        *self.counters.entry(counter).or_insert(0) += 1;
    }

    pub fn count(&self, counter: Counter) -> usize {
        self.counters.get(&counter).copied().unwrap_or(0)
    }

    /// The browser half of the OAuth web flow: the user clicked "Authorize".
    pub fn authorize(
        &mut self,
        login: &str,
        code_challenge: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> Result<String, WorldError> {
        let user_id = self.world.user_id(login)?;
        let now = self.now();
        Ok(self.creds.issue_code(user_id, code_challenge, redirect_uri, now))
    }

    pub fn expire_user_tokens(&mut self, login: &str) -> Result<(), WorldError> {
        let user_id = self.world.user_id(login)?;
        let now = self.now();
        self.creds.expire_user_access_tokens(user_id, now);
        Ok(())
    }

    pub fn live_user_tokens(&self, login: &str) -> Result<Vec<String>, WorldError> {
        let user_id = self.world.user_id(login)?;
        Ok(self.creds.live_access_tokens(user_id, self.now()))
    }
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub key: DecodingKey,
    /// `http://ip:port` the server is bound to; the fallback base URL when a
    /// request has no `Host` header.
    pub bound_url: String,
    /// Sim-clock time the simulator started; the app's `created_at`.
    pub started_at: i64,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: SimConfig, key: DecodingKey, bound_url: String, hooks: Hooks) -> Shared {
        Shared {
            config,
            key,
            bound_url,
            started_at: clock::now_unix(0),
            state: Mutex::new(State::new(hooks)),
        }
    }

    /// Locks the state. A panic while it was held (a test's assertion inside
    /// a callback, say) does not make the simulator unusable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
