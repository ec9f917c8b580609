//! The webhook function URL as GitHub reaches it: an HTTP server on a free
//! port handing each request to the broker's webhook service, for tests in
//! which the simulator delivers by itself (and keeps its delivery log). It
//! can be taken down: it then answers 503, as a failing function URL does,
//! and GitHub logs the delivery as failed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use broker::api::{ApiRequest, Authorizer, Function, Service};

use super::app::WEBHOOK_SECRET;
use super::TestApp;

pub struct Receiver {
    up: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    service: Service,
    up: Arc<AtomicBool>,
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if !shared.up.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 26 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        auth: Authorizer::None,
    };
    shared.service.handle(request).await.into_http::<Body>()
}

impl Receiver {
    /// A receiver for `app`'s broker, up, with the simulator sending every
    /// delivery to it.
    pub async fn start(app: &TestApp) -> Self {
        let broker = app.build_app().await.expect("the webhook's app starts");
        let up = Arc::new(AtomicBool::new(true));
        let shared = Arc::new(Shared {
            service: Service::new(Function::Webhook, Arc::new(broker)),
            up: up.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let router = axum::Router::new().fallback(receive).with_state(shared);
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the receiver serves");
        });
        app.sim.send_webhooks_to(&url, WEBHOOK_SECRET);
        Self { up, server }
    }

    /// From now on every delivery fails (503).
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}
