//! The environment every function reads (SPEC section 2), parsed once at start.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::domain::forwarding::EventFilter;
use crate::domain::policy::LinkAuthority;

/// Where the broker keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// The DynamoDB table `TABLE_NAME` (the functions on AWS).
    DynamoDb { table: String },
    /// A single-file database (the local runner, the fuzz targets).
    Embedded { path: PathBuf },
}

/// Where the app's credentials come from.
#[derive(Debug, Clone)]
pub enum SecretLocation {
    /// The Secrets Manager secret `APP_SECRET_ID` (the functions on AWS).
    SecretsManager { id: String },
    /// The secret's JSON itself (the local runner, the fuzz targets): never
    /// read from the environment, so a deployed function cannot be given one.
    Value(SecretString),
}

/// Where verified deliveries are published for the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsBackend {
    /// The EventBridge bus `EVENT_BUS_NAME`, with payloads over the entry
    /// limit in the bucket `EVENT_PAYLOAD_BUCKET` (the webhook function).
    EventBridge { bus: String, payload_bucket: String },
    /// An in-process bus (the local runner's page watches it).
    InProcess,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// From `TABLE_NAME`; the local runner and the fuzz targets choose an
    /// embedded store instead.
    pub store: Option<StoreBackend>,
    /// From `APP_SECRET_ID`; the local runner gives the value itself.
    pub app_secret: Option<SecretLocation>,
    pub github_api_url: Url,
    pub github_web_url: Url,
    pub frontend_origins: Vec<String>,
    pub accounts_claim: String,
    pub oauth_redirect_uri: Option<String>,
    /// How long a fetched app secret is trusted before it is read again.
    pub secret_refresh: Duration,
    /// Budget for one GitHub call including its retries; kept well inside
    /// the Lambda timeout.
    pub github_timeout: Duration,
    /// The whole request's budget for a Lambda event that carries no Lambda
    /// context (tests, tools replaying events): `REQUEST_BUDGET_SECONDS`,
    /// unset = no deadline. On Lambda the invocation's own deadline (less
    /// one second to answer) is used; the local runner has none.
    pub request_budget: Option<Duration>,
    /// Who may link an installation to a team: `LINK_POLICY`, `admin`
    /// (default) or `access`.
    pub link_authority: LinkAuthority,
    /// How long audit records are kept: `AUDIT_RETENTION_DAYS`, default 90.
    pub audit_retention_days: u32,
    /// From `EVENT_BUS_NAME` and `EVENT_PAYLOAD_BUCKET`; unset, nothing is
    /// published.
    pub events: Option<EventsBackend>,
    /// Which events are published: `FORWARD_EVENTS`, default all.
    pub forward_events: EventFilter,
    /// The share of the app's hourly rate limit the reconciler may spend,
    /// in percent: `RECONCILE_RATE_BUDGET`, 1 to 100, default 10.
    pub reconcile_rate_budget: u8,
}

/// The reconciler's share of the app's hourly rate limit, in percent: the
/// rest is left to the token mints it shares the limit with.
pub const DEFAULT_RECONCILE_RATE_BUDGET: u8 = 10;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` so tests and the local runner
    /// can supply variables without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let url = |name: &str, default: &str| -> Result<Url, ConfigError> {
            let raw = get(name).unwrap_or_else(|| default.to_owned());
            let trimmed = raw.trim_end_matches('/');
            Url::parse(&format!("{trimmed}/"))
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| ConfigError(format!("{name} is not an http(s) URL")))
        };
        let seconds = |name: &str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError(format!("{name} must be a number of seconds"))),
            }
        };
        let frontend_origins = get("FRONTEND_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            store: get("TABLE_NAME").map(|table| StoreBackend::DynamoDb { table }),
            app_secret: get("APP_SECRET_ID").map(|id| SecretLocation::SecretsManager { id }),
            github_api_url: url("GITHUB_API_URL", "https://api.github.com")?,
            github_web_url: url("GITHUB_WEB_URL", "https://github.com")?,
            frontend_origins,
            accounts_claim: get("ACCOUNTS_CLAIM").unwrap_or_else(|| "accounts".into()),
            oauth_redirect_uri: get("OAUTH_REDIRECT_URI"),
            secret_refresh: seconds("SECRET_REFRESH_SECONDS", 300)?,
            github_timeout: seconds("GITHUB_TIMEOUT_SECONDS", 10)?,
            request_budget: match get("REQUEST_BUDGET_SECONDS") {
                None => None,
                Some(_) => Some(seconds("REQUEST_BUDGET_SECONDS", 0)?),
            },
            link_authority: match get("LINK_POLICY") {
                None => LinkAuthority::Admin,
                Some(v) => LinkAuthority::parse(&v)
                    .ok_or_else(|| ConfigError("LINK_POLICY must be \"admin\" or \"access\"".into()))?,
            },
            audit_retention_days: match get("AUDIT_RETENTION_DAYS") {
                None => 90,
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| ConfigError("AUDIT_RETENTION_DAYS must be a number of days, 1 to 3650".into()))?,
            },
            events: match (get("EVENT_BUS_NAME"), get("EVENT_PAYLOAD_BUCKET")) {
                (None, _) => None,
                (Some(bus), Some(payload_bucket)) => Some(EventsBackend::EventBridge { bus, payload_bucket }),
                // A payload over the entry limit would have nowhere to go.
                (Some(_), None) => {
                    return Err(ConfigError(
                        "EVENT_PAYLOAD_BUCKET is required with EVENT_BUS_NAME".into(),
                    ))
                }
            },
            forward_events: EventFilter::parse(&get("FORWARD_EVENTS").unwrap_or_default())
                .map_err(|e| ConfigError(format!("FORWARD_EVENTS: {e}")))?,
            reconcile_rate_budget: match get("RECONCILE_RATE_BUDGET") {
                None => DEFAULT_RECONCILE_RATE_BUDGET,
                Some(raw) => raw
                    .trim_end_matches('%')
                    .parse::<u8>()
                    .ok()
                    .filter(|p| (1..=100).contains(p))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "RECONCILE_RATE_BUDGET: {raw:?} is not a percentage from 1 to 100"
                        ))
                    })?,
            },
        })
    }

    /// Whether `origin` (scheme://host[:port]) is one of the configured frontends.
    pub fn is_frontend_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.frontend_origins.iter().any(|o| o == origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_point_at_github_dot_com() {
        let c = config(&[]).unwrap();
        assert_eq!(c.github_api_url.as_str(), "https://api.github.com/");
        assert_eq!(c.github_web_url.as_str(), "https://github.com/");
        assert_eq!(c.accounts_claim, "accounts");
        assert!(c.frontend_origins.is_empty());
    }

    #[test]
    fn enterprise_api_base_keeps_its_path() {
        let c = config(&[("GITHUB_API_URL", "https://ghe.example.com/api/v3/")]).unwrap();
        assert_eq!(
            c.github_api_url.join("app").unwrap().as_str(),
            "https://ghe.example.com/api/v3/app"
        );
    }

    #[test]
    fn frontend_origins_are_a_trimmed_list() {
        let c = config(&[("FRONTEND_ORIGINS", " https://a.example , https://b.example/ ,")]).unwrap();
        assert!(c.is_frontend_origin("https://a.example"));
        assert!(c.is_frontend_origin("https://b.example"));
        assert!(!c.is_frontend_origin("https://evil.example"));
    }

    #[test]
    fn the_request_budget_is_unset_unless_configured() {
        assert_eq!(config(&[]).unwrap().request_budget, None);
        let c = config(&[("REQUEST_BUDGET_SECONDS", "7")]).unwrap();
        assert_eq!(c.request_budget, Some(Duration::from_secs(7)));
        assert!(config(&[("REQUEST_BUDGET_SECONDS", "soon")]).is_err());
    }

    #[test]
    fn audit_records_are_kept_90_days_unless_configured() {
        assert_eq!(config(&[]).unwrap().audit_retention_days, 90);
        assert_eq!(
            config(&[("AUDIT_RETENTION_DAYS", "7")]).unwrap().audit_retention_days,
            7
        );
        for bad in ["0", "3651", "a week", "-1"] {
            assert!(config(&[("AUDIT_RETENTION_DAYS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_published_only_to_a_named_bus_with_its_payload_bucket() {
        let c = config(&[]).unwrap();
        assert_eq!(c.events, None);
        assert_eq!(c.forward_events, EventFilter::All);
        let c = config(&[
            ("EVENT_BUS_NAME", "bus"),
            ("EVENT_PAYLOAD_BUCKET", "bucket"),
            ("FORWARD_EVENTS", "push,pull_request"),
        ])
        .unwrap();
        assert_eq!(
            c.events,
            Some(EventsBackend::EventBridge {
                bus: "bus".into(),
                payload_bucket: "bucket".into()
            })
        );
        assert!(c.forward_events.forwards("push") && !c.forward_events.forwards("issues"));
        let err = config(&[("EVENT_BUS_NAME", "bus")]).unwrap_err();
        assert!(err.to_string().contains("EVENT_PAYLOAD_BUCKET"));
        let err = config(&[("FORWARD_EVENTS", "Push!")]).unwrap_err();
        assert!(err.to_string().contains("FORWARD_EVENTS"));
    }

    #[test]
    fn reconcile_rate_budget_is_a_percentage() {
        assert_eq!(config(&[]).unwrap().reconcile_rate_budget, 10);
        assert_eq!(
            config(&[("RECONCILE_RATE_BUDGET", "25")])
                .unwrap()
                .reconcile_rate_budget,
            25
        );
        assert_eq!(
            config(&[("RECONCILE_RATE_BUDGET", "5%")])
                .unwrap()
                .reconcile_rate_budget,
            5
        );
        for bad in ["0", "101", "ten", "-3"] {
            let err = config(&[("RECONCILE_RATE_BUDGET", bad)]).unwrap_err();
            assert!(err.to_string().contains("RECONCILE_RATE_BUDGET"), "{bad}");
        }
    }

    #[test]
    fn linking_needs_admin_rights_unless_configured_otherwise() {
        assert_eq!(config(&[]).unwrap().link_authority, LinkAuthority::Admin);
        assert_eq!(
            config(&[("LINK_POLICY", "access")]).unwrap().link_authority,
            LinkAuthority::Access
        );
        let err = config(&[("LINK_POLICY", "anyone")]).unwrap_err();
        assert!(err.to_string().contains("LINK_POLICY"));
    }

    #[test]
    fn a_non_http_url_is_refused_by_name() {
        let err = config(&[("GITHUB_API_URL", "ftp://x")]).unwrap_err();
        assert!(err.to_string().contains("GITHUB_API_URL"));
    }
}
