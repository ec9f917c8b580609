//! Every route each function serves, as data: method, path, and the
//! handler, whose kind says who must be calling (a platform user's JWT, IAM,
//! or GitHub's webhook signature). The SAM template and `openapi.yaml` are
//! checked against these tables, and each function's router is built from
//! them: a route is added here, with its handler, and nowhere else.

use http::Method;

use super::handlers::{oauth, reconcile, user, vending, webhook};
use super::router::{route, Handler};
pub use super::router::{Access, RouteSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    OAuthCallback,
    TokenVending,
    Webhook,
    Reconciler,
}

pub static OAUTH_ROUTES: [RouteSpec; 2] = [
    route(Method::POST, "/github/oauth/start", Handler::Jwt(oauth::start)),
    route(Method::POST, "/github/oauth/callback", Handler::Jwt(oauth::callback)),
];

pub static TOKEN_VENDING_ROUTES: [RouteSpec; 14] = [
    route(Method::GET, "/github/user", Handler::Jwt(user::status)),
    route(Method::DELETE, "/github/user", Handler::Jwt(user::disconnect)),
    route(Method::GET, "/github/installations", Handler::Jwt(user::reachable)),
    route(
        Method::GET,
        "/accounts/{account_id}/installations",
        Handler::Jwt(user::account_installations),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/audit",
        Handler::Jwt(user::audit_trail),
    ),
    route(
        Method::PUT,
        "/accounts/{account_id}/installations/{installation_id}",
        Handler::Jwt(user::link),
    ),
    route(
        Method::PATCH,
        "/accounts/{account_id}/installations/{installation_id}",
        Handler::Jwt(user::change_policy),
    ),
    route(
        Method::DELETE,
        "/accounts/{account_id}/installations/{installation_id}",
        Handler::Jwt(user::unlink),
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/installations/{installation_id}/token",
        Handler::Iam(vending::installation_token),
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/token",
        Handler::Iam(vending::owner_token),
    ),
    route(
        Method::DELETE,
        "/internal/accounts/{account_id}/tokens",
        Handler::Iam(vending::revoke_account_tokens),
    ),
    route(
        Method::POST,
        "/internal/users/{user_id}/token",
        Handler::Iam(vending::user_token),
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/repos",
        Handler::Iam(vending::create_repository),
    ),
    route(
        Method::POST,
        "/internal/accounts/{account_id}/commits",
        Handler::Iam(vending::commit_files),
    ),
];

/// The webhook function URL accepts a POST on any path.
pub static WEBHOOK_ROUTES: [RouteSpec; 2] = [
    route(Method::POST, "/", Handler::Signature(webhook::delivery)),
    route(Method::POST, "/{*path}", Handler::Signature(webhook::delivery)),
];

/// The reconciler runs on its schedule; operators run it on demand.
pub static RECONCILER_ROUTES: [RouteSpec; 1] =
    [route(Method::POST, "/internal/reconcile", Handler::Iam(reconcile::run))];

impl Function {
    pub fn routes(self) -> &'static [RouteSpec] {
        match self {
            Self::OAuthCallback => &OAUTH_ROUTES,
            Self::TokenVending => &TOKEN_VENDING_ROUTES,
            Self::Webhook => &WEBHOOK_ROUTES,
            Self::Reconciler => &RECONCILER_ROUTES,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::OAuthCallback => "oauth-callback",
            Self::TokenVending => "token-vending",
            Self::Webhook => "webhook",
            Self::Reconciler => "reconciler",
        }
    }
}
