//! Every route each function serves, as data: the SAM template's routes are
//! checked against these tables, and the router is built from them.

use http::Method;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    OAuthCallback,
    TokenVending,
    Webhook,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A platform user, through the HTTP API's JWT authorizer.
    Jwt,
    /// A platform backend, through IAM (SigV4).
    Iam,
    /// GitHub, proven by the webhook signature alone.
    Signature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    OAuthStart,
    OAuthCallback,
    GetUser,
    DeleteUser,
    ListReachable,
    ListAccountInstallations,
    Link,
    Unlink,
    InstallationToken,
    OwnerToken,
    UserToken,
    CreateRepository,
    CommitFiles,
    Webhook,
    Preflight,
}

#[derive(Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub id: RouteId,
}

const fn route(method: Method, path: &'static str, access: Access, id: RouteId) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        id,
    }
}

pub static OAUTH_ROUTES: [RouteSpec; 2] = [
    route(Method::POST, "/github/oauth/start", Access::Jwt, RouteId::OAuthStart),
    route(
        Method::POST,
        "/github/oauth/callback",
        Access::Jwt,
        RouteId::OAuthCallback,
    ),
];

pub static TOKEN_VENDING_ROUTES: [RouteSpec; 11] = [
    route(Method::GET, "/github/user", Access::Jwt, RouteId::GetUser),
    route(Method::DELETE, "/github/user", Access::Jwt, RouteId::DeleteUser),
    route(
        Method::GET,
        "/github/installations",
        Access::Jwt,
        RouteId::ListReachable,
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/installations",
        Access::Jwt,
        RouteId::ListAccountInstallations,
    ),
    route(
        Method::PUT,
        "/accounts/{account_id}/installations/{installation_id}",
        Access::Jwt,
        RouteId::Link,
    ),
    route(
        Method::DELETE,
        "/accounts/{account_id}/installations/{installation_id}",
        Access::Jwt,
        RouteId::Unlink,
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/installations/{installation_id}/token",
        Access::Iam,
        RouteId::InstallationToken,
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/token",
        Access::Iam,
        RouteId::OwnerToken,
    ),
    route(
        Method::POST,
        "/internal/users/{user_id}/token",
        Access::Iam,
        RouteId::UserToken,
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/repos",
        Access::Iam,
        RouteId::CreateRepository,
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/commits",
        Access::Iam,
        RouteId::CommitFiles,
    ),
];

/// The webhook function URL accepts a POST on any path.
pub static WEBHOOK_ROUTES: [RouteSpec; 1] = [route(Method::POST, "/{*path}", Access::Signature, RouteId::Webhook)];

pub(super) static PREFLIGHT: RouteSpec = route(Method::OPTIONS, "*", Access::Jwt, RouteId::Preflight);

impl Function {
    pub fn routes(self) -> &'static [RouteSpec] {
        match self {
            Self::OAuthCallback => &OAUTH_ROUTES,
            Self::TokenVending => &TOKEN_VENDING_ROUTES,
            Self::Webhook => &WEBHOOK_ROUTES,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::OAuthCallback => "oauth-callback",
            Self::TokenVending => "token-vending",
            Self::Webhook => "webhook",
        }
    }
}

pub type Params = Vec<(String, String)>;

/// Public so the fuzz targets can route decoded events without a service.
pub struct Router {
    paths: matchit::Router<Vec<&'static RouteSpec>>,
}

impl Router {
    pub fn new(routes: &'static [RouteSpec]) -> Self {
        let mut grouped: Vec<(&str, Vec<&'static RouteSpec>)> = Vec::new();
        for r in routes {
            match grouped.iter_mut().find(|(p, _)| *p == r.path) {
                Some((_, group)) => group.push(r),
                None => grouped.push((r.path, vec![r])),
            }
        }
        let mut paths = matchit::Router::new();
        for (path, group) in grouped {
            paths
                .insert(path, group)
                .expect("route tables hold valid, distinct paths");
        }
        Self { paths }
    }

    /// The methods served on `path`, for the `Allow` header of a 405
    /// (RFC 9110 requires it); `OPTIONS` is the CORS preflight, served everywhere.
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = match self.paths.at(path) {
            Ok(matched) => matched.value.iter().map(|r| r.method.as_str()).collect(),
            Err(_) => Vec::new(),
        };
        methods.push("OPTIONS");
        methods
    }

    pub fn find(&self, method: &Method, path: &str) -> Result<(&'static RouteSpec, Params), Error> {
        let matched = self
            .paths
            .at(path)
            .map_err(|_| Error::not_found("route_not_found", "no such route"))?;
        let route = matched
            .value
            .iter()
            .find(|r| r.method == method)
            .ok_or(Error::MethodNotAllowed)?;
        Ok((
            route,
            matched
                .params
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ))
    }
}

pub(super) fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}
