//! Finding a request's route, and the handler kinds: each kind names who
//! must be calling, and the service checks that before the handler runs.

use std::future::Future;
use std::pin::Pin;

use http::Method;
use serde::de::DeserializeOwned;

use super::{ApiRequest, ApiResponse};
use crate::domain::Caller;
use crate::error::{Error, Result};
use crate::App;

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

pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub handler: Handler,
}

impl RouteSpec {
    pub fn access(&self) -> Access {
        self.handler.access()
    }
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access())
    }
}

pub(super) const fn route(method: Method, path: &'static str, handler: Handler) -> RouteSpec {
    RouteSpec { method, path, handler }
}

/// What a handler answers, boxed so that one table holds every handler.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<ApiResponse>> + Send + 'a>>;

/// The request as a handler sees it: the path's parameters and the body.
pub struct Call<'a> {
    pub req: &'a ApiRequest,
    pub params: Params,
}

impl Call<'_> {
    /// A path parameter; the router only matches a route with all of its
    /// parameters present.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        self.req.json()
    }

    /// Who signed an IAM route's request (checked before the handler
    /// runs): the audit trail's caller.
    pub fn principal(&self) -> &str {
        match &self.req.auth {
            super::Authorizer::Iam { principal } => principal,
            _ => "",
        }
    }

    /// A query parameter, decoded; one given twice is refused.
    pub fn query(&self, name: &str) -> Result<Option<String>> {
        let mut found = url::form_urlencoded::parse(self.req.query.as_bytes()).filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.into_owned());
        if found.next().is_some() {
            return Err(Error::bad_request(
                "invalid_query",
                format!("{name} is given more than once"),
            ));
        }
        Ok(first)
    }
}

/// A route's handler, by who must be calling.
#[derive(Clone, Copy)]
pub enum Handler {
    /// A platform user, through the HTTP API's JWT authorizer.
    Jwt(for<'a> fn(&'a App, &'a Caller, &'a Call<'a>) -> Reply<'a>),
    /// A platform backend, through IAM (SigV4).
    Iam(for<'a> fn(&'a App, &'a Call<'a>) -> Reply<'a>),
    /// GitHub: the body's signature was verified with the app's webhook secret.
    Signature(for<'a> fn(&'a App, &'a Call<'a>) -> Reply<'a>),
}

impl Handler {
    pub fn access(&self) -> Access {
        match self {
            Self::Jwt(_) => Access::Jwt,
            Self::Iam(_) => Access::Iam,
            Self::Signature(_) => Access::Signature,
        }
    }
}

pub type Params = Vec<(String, String)>;

/// One function's routes by path. Public so the fuzz targets and the
/// benchmarks can route requests without a service.
pub struct Router {
    paths: matchit::Router<Vec<&'static RouteSpec>>,
    /// Whether browsers call this function (JWT routes): then it answers
    /// CORS preflights on every path.
    browsers: bool,
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
        Self {
            paths,
            browsers: routes.iter().any(|r| r.access() == Access::Jwt),
        }
    }

    pub fn serves_browsers(&self) -> bool {
        self.browsers
    }

    /// The methods served on `path`, for the `Allow` header of a 405
    /// (RFC 9110 requires it); `OPTIONS` is the CORS preflight, served
    /// everywhere by the functions browsers call.
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = match self.paths.at(path) {
            Ok(matched) => matched.value.iter().map(|r| r.method.as_str()).collect(),
            Err(_) => Vec::new(),
        };
        if self.browsers {
            methods.push("OPTIONS");
        }
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
