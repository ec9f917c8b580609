//! Fault injection and the per-path request log: the armed [`Fault`]s that
//! make the simulator misbehave on purpose (so a client's retry logic can be
//! tested over real HTTP) and the counts behind
//! [`crate::GitHubSim::count_path`]. The HTTP side that acts on a fault lives
//! in `http::faults`; this module only decides which fault applies.

use std::collections::HashMap;
use std::time::Duration;

/// What the simulator does instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and a GitHub-style JSON error body, without
    /// processing the request.
    Status(u16),
    /// A rate limit without processing: 403 (or 429 if `status` says so)
    /// with `Retry-After: seconds`, `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset: <sim now + seconds>`, and GitHub's "You have
    /// exceeded a secondary rate limit..." message.
    RateLimit { status: u16, retry_after_seconds: u64 },
    /// Sleep this long before answering normally (to trigger client
    /// timeouts). Whether the request is processed after a client gave up
    /// depends on when the server notices the closed connection, so tests
    /// should not rely on either outcome.
    Delay(Duration),
    /// Process the request normally, then wait this long before answering:
    /// what it answers is as old as that (a read that a later change
    /// overtakes in flight).
    SlowAnswer(Duration),
    /// Process the request normally (state changes happen, e.g. a refresh
    /// token is consumed and a new pair issued), then throw the answer away
    /// and answer 502 instead: "the answer was lost".
    LoseAnswer,
    /// The OAuth token endpoint's refusal, without processing: HTTP 200 with
    /// `{"error": this, "error_description", "error_uri"}`, as GitHub answers
    /// `incorrect_client_credentials`, `redirect_uri_mismatch`,
    /// `bad_verification_code`, `unverified_user_email`,
    /// `bad_refresh_token` or `unsupported_grant_type`.
    OAuthError(String),
}

/// One injected fault; see [`crate::GitHubSim::inject`].
#[derive(Clone, Debug)]
pub struct Fault {
    /// The HTTP method to match (case-insensitive), e.g. `Some("POST")`;
    /// `None` matches any method.
    pub method: Option<String>,
    /// Matched as a plain string prefix of the request path (no query), e.g.
    /// `"/app/installations/"`; `""` or `"/"` match every non-control path.
    pub path_prefix: String,
    pub kind: FaultKind,
    /// Applies to the next `times` matching requests, then disarms.
    pub times: usize,
}

/// Paths under this prefix are the control API, which is never faulted (a
/// test must always be able to clear faults) and not counted.
pub(crate) fn is_control(path: &str) -> bool {
    path.starts_with("/_sim/")
}

impl Fault {
    /// Refuses faults that can never do what the test meant, so the mistake
    /// shows at injection rather than as a fault that silently never fires.
    /// Normalises the method to upper case.
    pub(crate) fn checked(mut self) -> Result<Fault, String> {
        if !self.path_prefix.is_empty() && !self.path_prefix.starts_with('/') {
            return Err(format!("path_prefix {:?} must start with '/'", self.path_prefix));
        }
        if is_control(&self.path_prefix) {
            return Err("faults never apply to the /_sim/ control API".into());
        }
        match self.kind {
            FaultKind::Status(s) if !(100..=999).contains(&s) => {
                return Err(format!("{s} is not an HTTP status"));
            }
            FaultKind::RateLimit { status, .. } if status != 403 && status != 429 => {
                return Err(format!("a rate limit is answered with 403 or 429, not {status}"));
            }
            FaultKind::OAuthError(ref error)
                if error.is_empty() || !error.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                return Err(format!("{error:?} is not an OAuth error code"));
            }
            _ => {}
        }
        if let Some(m) = &self.method {
            if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!("{m:?} is not an HTTP method"));
            }
            self.method = Some(m.to_ascii_uppercase());
        }
        Ok(self)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && path.starts_with(&self.path_prefix)
    }
}

/// The armed faults, in injection order, and how many requests arrived per
/// exact method and path.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Fault>,
    /// How many requests a fault was applied to.
    pub fired: usize,
    /// Keyed by exact (upper-case method, path) so the map stays as small as
    /// the set of distinct routes hit; prefixes are summed at query time.
    seen: HashMap<(String, String), usize>,
}

impl Faults {
    pub fn push(&mut self, fault: Fault) {
        // A fault for zero requests is already disarmed.
        if fault.times > 0 {
            self.armed.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// Notes that a request arrived, faulted or not.
    pub fn record(&mut self, method: &str, path: &str) {
        *self
            .seen
            .entry((method.to_ascii_uppercase(), path.to_owned()))
            .or_insert(0) += 1;
    }

    pub fn count_path(&self, method: &str, path_prefix: &str) -> usize {
        self.seen
            .iter()
            .filter(|((m, p), _)| m.eq_ignore_ascii_case(method) && p.starts_with(path_prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// The fault for this request, if any: the first armed one that matches,
    /// used up by one (and dropped once it has no uses left).
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let i = self.armed.iter().position(|f| f.matches(method, path))?;
        self.fired += 1;
        let fault = &mut self.armed[i];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.armed.remove(i);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(method: Option<&str>, prefix: &str, kind: FaultKind, times: usize) -> Fault {
        Fault {
            method: method.map(str::to_owned),
            path_prefix: prefix.into(),
            kind,
            times,
        }
    }

    #[test]
    fn first_armed_match_applies_then_disarms() {
        let mut f = Faults::default();
        f.push(
            fault(Some("post"), "/app/", FaultKind::Status(500), 1)
                .checked()
                .unwrap(),
        );
        f.push(fault(None, "/", FaultKind::LoseAnswer, 2).checked().unwrap());
        f.push(fault(None, "/", FaultKind::Status(503), 0));
        assert_eq!(f.take("GET", "/app/installations"), Some(FaultKind::LoseAnswer));
        assert_eq!(
            f.take("POST", "/app/installations/1/access_tokens"),
            Some(FaultKind::Status(500))
        );
        assert_eq!(
            f.take("POST", "/app/installations/1/access_tokens"),
            Some(FaultKind::LoseAnswer)
        );
        assert_eq!(f.take("POST", "/app/installations/1/access_tokens"), None);
    }

    #[test]
    fn malformed_faults_are_refused() {
        assert!(fault(None, "user", FaultKind::LoseAnswer, 1).checked().is_err());
        assert!(fault(None, "/_sim/health", FaultKind::LoseAnswer, 1).checked().is_err());
        assert!(fault(None, "/", FaultKind::Status(1000), 1).checked().is_err());
        let limit = FaultKind::RateLimit {
            status: 500,
            retry_after_seconds: 1,
        };
        assert!(fault(None, "/", limit, 1).checked().is_err());
        assert!(fault(Some("GE T"), "/", FaultKind::LoseAnswer, 1).checked().is_err());
        let ok = fault(Some("delete"), "", FaultKind::Status(404), 1).checked().unwrap();
        assert_eq!(ok.method.as_deref(), Some("DELETE"));
    }

    #[test]
    fn counts_by_method_and_prefix() {
        let mut f = Faults::default();
        f.record("GET", "/user");
        f.record("GET", "/user/installations");
        f.record("POST", "/user");
        f.record("get", "/user");
        assert_eq!(f.count_path("GET", "/user"), 3);
        assert_eq!(f.count_path("get", "/user/"), 1);
        assert_eq!(f.count_path("POST", ""), 1);
        assert_eq!(f.count_path("DELETE", "/"), 0);
    }
}
