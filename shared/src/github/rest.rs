//! The GitHub adapter over reqwest (rustls). Every request carries GitHub's
//! required headers, runs under one time budget, and is retried only where
//! that is safe: 5xx and timeouts for requests that can be replayed, rate
//! limits (the request was not processed) for all. Codes and refresh tokens
//! are single-use, so their exchanges are never replayed after being sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{HeaderMap, HeaderValue, ACCEPT, USER_AGENT};
use http::StatusCode;
use rand::Rng;
use reqwest::{RequestBuilder, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::jwt::{is_clock_complaint, AppJwt};
use super::types::*;
use super::{GitHubError, GitHubResult};
use crate::clock::Clock;
use crate::deadline::DeadlineReached;
use crate::domain::reconcile::RateLimit;
use crate::domain::tokens::UserTokens;
use crate::secrets::AppCredentials;

const API_VERSION: &str = "2022-11-28";
const MAX_ATTEMPTS: u32 = 3;
/// A replayable attempt shorter than this is not worth starting.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);
/// A user reaching more installations than this is not a real case.
pub(super) const MAX_PAGES: usize = 50;

/// Whether a request may be sent again after it may have reached GitHub.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Replay {
    Safe,
    OnlyIfUnsent,
}

pub struct RestClient {
    pub(super) http: reqwest::Client,
    pub(super) api: Url,
    web: Url,
    budget: Duration,
    /// Kept after every attempt for one store write (and the moments
    /// around it): a rotated refresh token must reach the store, and a mint
    /// lease must be released, or its token cached, whatever GitHub did.
    record_reserve: Duration,
    jwt: AppJwt,
    clock: Arc<dyn Clock>,
    /// Attempts sent as the app, and GitHub's last word on the app's rate
    /// limit: the reconciler spends only a share of it.
    app_attempts: AtomicU64,
    app_rate: Mutex<Option<RateLimit>>,
}

impl RestClient {
    /// `budget` bounds each call, retries included; `record_reserve` is
    /// what the request's deadline must still hold after an attempt.
    pub fn new(
        (api, web): (Url, Url),
        budget: Duration,
        record_reserve: Duration,
        clock: Arc<dyn Clock>,
    ) -> reqwest::Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static(API_VERSION));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("gh-app-broker/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            api,
            web,
            budget,
            record_reserve,
            jwt: AppJwt::default(),
            clock,
            app_attempts: AtomicU64::new(0),
            app_rate: Mutex::new(None),
        })
    }

    /// The API URL of `segments`, each percent-encoded as one path segment:
    /// a value holding `/`, `#`, `?` or `%` stays inside its segment, and
    /// GitHub decodes exactly the value. `.` and `..` are refused: no
    /// encoding keeps them from being read as "here" and "up".
    pub(super) fn api_url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> GitHubResult<Url> {
        let mut url = self.api.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| GitHubError::UnsafePath("the API base URL cannot take a path".into()))?;
            path.pop_if_empty();
            for segment in segments {
                if segment.is_empty() || segment == "." || segment == ".." {
                    return Err(GitHubError::UnsafePath(format!("{segment:?} as a path segment")));
                }
                path.push(segment);
            }
        }
        Ok(url)
    }

    /// Sends with retries inside the call's budget and the request's
    /// deadline ([`crate::deadline`]), each attempt leaving room for one
    /// store write after it (`record_reserve`): a replayable attempt
    /// is cut short to fit; one that cannot be replayed is only started when
    /// its whole timeout fits, so the broker never cuts such a request itself
    /// after GitHub may have acted on it.
    pub(super) async fn send(&self, replay: Replay, build: impl Fn() -> RequestBuilder) -> GitHubResult<Response> {
        let deadline = Instant::now() + self.budget;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            // The request's deadline first: when both are spent, the caller
            // learns that the request, not this call, ran out of time.
            let timeout = attempt_timeout(replay, remaining, crate::deadline::remaining(), self.record_reserve)?;
            if timeout.is_zero() {
                return Err(GitHubError::Timeout);
            }
            let last = attempt >= MAX_ATTEMPTS;
            let wait = match build().timeout(timeout).send().await {
                Err(e) if e.is_timeout() && (replay == Replay::OnlyIfUnsent || last) => {
                    return Err(GitHubError::Timeout)
                }
                Err(e) if e.is_timeout() => backoff(attempt),
                // Nothing was sent when the connection could not be made.
                Err(e) if e.is_connect() && !last => backoff(attempt),
                Err(e) => return Err(GitHubError::Transport(e.without_url().to_string())),
                Ok(resp) => match rate_limit_wait(&resp, self.clock.now()) {
                    Some(wait) if last || wait > remaining || crate::deadline::check(wait).is_err() => {
                        return Err(GitHubError::RateLimited {
                            retry_after_seconds: wait.as_secs(),
                        })
                    }
                    Some(wait) => wait,
                    None if resp.status().is_server_error() && replay == Replay::Safe && !last => {
                        tracing::warn!(
                            status = resp.status().as_u16(),
                            attempt,
                            "GitHub server error; retrying"
                        );
                        backoff(attempt)
                    }
                    None => return Ok(resp),
                },
            };
            let left = crate::deadline::remaining().unwrap_or(Duration::MAX);
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now())).min(left)).await;
        }
    }

    /// Sends a request authenticated as the app, re-signing once with a
    /// corrected clock if GitHub refuses the JWT's timing.
    pub(super) async fn send_as_app(
        &self,
        app: &AppCredentials,
        replay: Replay,
        build: impl Fn(&str) -> RequestBuilder,
    ) -> GitHubResult<Response> {
        let sign = || {
            self.jwt
                .sign(app, self.clock.now())
                .map_err(|_| GitHubError::Transport("could not sign the app JWT".into()))
        };
        let jwt = sign()?;
        let resp = self.send(replay, || self.counted(build(&jwt))).await?;
        self.note_rate_limit(&resp);
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let date = resp
            .headers()
            .get(http::header::DATE)
            .and_then(|d| d.to_str().ok())
            .map(str::to_owned);
        let body: ErrorBody = resp.json().await.unwrap_or_default();
        if is_clock_complaint(&body.message) && self.jwt.learn_skew(date.as_deref(), self.clock.now()) {
            tracing::warn!(
                skew_seconds = self.jwt.skew(),
                "GitHub refused the app JWT's timing; correcting the clock offset"
            );
            let jwt = sign()?;
            let resp = self.send(replay, || self.counted(build(&jwt))).await?;
            self.note_rate_limit(&resp);
            return Ok(resp);
        }
        Err(GitHubError::refusal(401, body.message))
    }

    /// Counts an attempt as the app: `send` builds the request once per attempt.
    fn counted(&self, request: RequestBuilder) -> RequestBuilder {
        self.app_attempts.fetch_add(1, Ordering::Relaxed);
        request
    }

    fn note_rate_limit(&self, resp: &Response) {
        let header = |name: &str| resp.headers().get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        if let (Some(limit), Some(remaining), Some(reset)) = (
            header("x-ratelimit-limit"),
            header("x-ratelimit-remaining"),
            header("x-ratelimit-reset"),
        ) {
            let seen = RateLimit {
                limit: limit.max(0) as u64,
                remaining: remaining.max(0) as u64,
                reset,
            };
            *self.app_rate.lock().unwrap_or_else(|p| p.into_inner()) = Some(seen);
        }
    }

    /// Requests sent as the app so far, retries included.
    pub(super) fn app_attempts(&self) -> u64 {
        self.app_attempts.load(Ordering::Relaxed)
    }

    /// The app's rate limit as GitHub's last answer to the app gave it.
    pub(super) fn app_rate_limit(&self) -> Option<RateLimit> {
        *self.app_rate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A GET as the app (reads are always safe to replay).
    pub(super) async fn get_as_app(&self, app: &AppCredentials, url: Url) -> GitHubResult<Response> {
        self.send_as_app(app, Replay::Safe, |jwt| {
            self.http
                .get(url.clone())
                .header("authorization", format!("Bearer {jwt}"))
        })
        .await
    }

    pub(super) async fn oauth_token(&self, form: &[(&str, &str)]) -> GitHubResult<UserTokens> {
        let url = self.web.join("login/oauth/access_token").expect("static path");
        let resp = self
            .send(Replay::OnlyIfUnsent, || {
                self.http
                    .post(url.clone())
                    .header(ACCEPT, "application/json")
                    .form(form)
            })
            .await?;
        let answer: OAuthTokenResponse = parse(resp, "the OAuth token exchange").await?;
        if let Some(error) = answer.error.clone() {
            return Err(GitHubError::OAuth(super::OAuthRefusal::parse(error)));
        }
        answer
            .into_tokens(self.clock.now())
            .ok_or(GitHubError::Decode("the OAuth token exchange"))
    }
}

/// The timeout of the next attempt, given what is left of the call's budget
/// (`call`) and of the request's (`request`, `None` without a deadline).
fn attempt_timeout(
    replay: Replay,
    call: Duration,
    request: Option<Duration>,
    reserve: Duration,
) -> GitHubResult<Duration> {
    let Some(request) = request else {
        return Ok(call);
    };
    match replay {
        Replay::OnlyIfUnsent if request < call + reserve => Err(DeadlineReached.into()),
        Replay::OnlyIfUnsent => Ok(call),
        Replay::Safe if request < MIN_ATTEMPT + reserve => Err(DeadlineReached.into()),
        Replay::Safe => Ok(call.min(request - reserve)),
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(5);
    Duration::from_millis(base + rand::rng().random_range(0..base))
}

/// GitHub's primary (`x-ratelimit-remaining: 0`) and secondary (`Retry-After`)
/// rate limits, answered with 403 or 429: how long to wait.
fn rate_limit_wait(resp: &Response, now: i64) -> Option<Duration> {
    if !matches!(resp.status(), StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) {
        return None;
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok()?.trim().parse::<i64>().ok())
    };
    if let Some(seconds) = header("retry-after") {
        return Some(Duration::from_secs(seconds.max(0) as u64));
    }
    if header("x-ratelimit-remaining") == Some(0) {
        let reset = header("x-ratelimit-reset").unwrap_or(now + 60);
        return Some(Duration::from_secs((reset - now).max(1) as u64));
    }
    (resp.status() == StatusCode::TOO_MANY_REQUESTS).then(|| Duration::from_secs(60))
}

/// Decodes a success body; any other status becomes the refusal it is
/// ([`GitHubError::refusal`]), with GitHub's message. Decoding errors never quote the body.
pub(super) async fn parse<T: DeserializeOwned>(resp: Response, what: &'static str) -> GitHubResult<T> {
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| GitHubError::Transport(e.without_url().to_string()))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .unwrap_or_default()
            .describe();
        return Err(GitHubError::refusal(status.as_u16(), message));
    }
    serde_json::from_slice(&bytes).map_err(|_| GitHubError::Decode(what))
}

pub(super) fn bearer(token: &SecretString) -> String {
    format!("Bearer {}", token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const RECORD_RESERVE: Duration = Duration::from_millis(2500);

    fn client(api: &str) -> RestClient {
        let url = Url::parse(api).unwrap();
        RestClient::new(
            (url.clone(), url),
            S(1),
            RECORD_RESERVE,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap()
    }

    fn attempt_timeout(replay: Replay, call: Duration, request: Option<Duration>) -> GitHubResult<Duration> {
        super::attempt_timeout(replay, call, request, RECORD_RESERVE)
    }

    #[test]
    fn every_value_is_one_encoded_path_segment_under_the_api_base() {
        let c = client("https://ghe.example/api/v3/");
        let url = c
            .api_url([
                "repos",
                "o",
                "r",
                "git",
                "ref",
                "heads",
                "release#x",
                "%2e%2e",
                "a?b",
                "a b",
            ])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://ghe.example/api/v3/repos/o/r/git/ref/heads/release%23x/%252e%252e/a%3Fb/a%20b"
        );
        assert_eq!(c.api_url(["a/b"]).unwrap().path(), "/api/v3/a%2Fb");
    }

    #[test]
    fn dot_segments_and_empty_ones_are_refused_rather_than_dropped() {
        let c = client("https://api.github.com/");
        for bad in [".", "..", ""] {
            assert!(
                matches!(c.api_url(["repos", bad, "x"]), Err(GitHubError::UnsafePath(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn without_a_deadline_an_attempt_has_the_rest_of_the_call_budget() {
        assert_eq!(attempt_timeout(Replay::Safe, S(10), None).unwrap(), S(10));
        assert_eq!(attempt_timeout(Replay::OnlyIfUnsent, S(10), None).unwrap(), S(10));
    }

    #[test]
    fn a_replayable_attempt_is_cut_to_leave_the_reserve_and_not_started_without_a_useful_slice() {
        assert_eq!(
            attempt_timeout(Replay::Safe, S(10), Some(S(5))).unwrap(),
            S(5) - RECORD_RESERVE
        );
        assert_eq!(attempt_timeout(Replay::Safe, S(2), Some(S(30))).unwrap(), S(2));
        for left in [MIN_ATTEMPT + RECORD_RESERVE - Duration::from_millis(1), S(1), S(0)] {
            assert!(matches!(
                attempt_timeout(Replay::Safe, S(10), Some(left)),
                Err(GitHubError::Deadline(_))
            ));
        }
    }

    #[test]
    fn an_unreplayable_attempt_starts_only_with_its_whole_timeout_and_room_to_record_the_answer() {
        assert_eq!(
            attempt_timeout(Replay::OnlyIfUnsent, S(10), Some(S(10) + RECORD_RESERVE)).unwrap(),
            S(10)
        );
        for left in [S(12), S(9), S(0)] {
            assert!(matches!(
                attempt_timeout(Replay::OnlyIfUnsent, S(10), Some(left)),
                Err(GitHubError::Deadline(_))
            ));
        }
    }
}
