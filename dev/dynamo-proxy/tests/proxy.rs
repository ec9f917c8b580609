//! The proxy in front of a tiny stand-in upstream, driven by the real AWS
//! SDK: requests are forwarded and counted, and each fault kind reaches the
//! SDK as the error DynamoDB would have given (so the SDK's own retry rules
//! apply to it exactly as in production).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_proxy::{DynamoProxy, Fault, FaultKind};

/// An upstream that answers every DynamoDB call with `{}` (a valid empty
/// GetItem/PutItem output) and counts what reached it.
async fn upstream() -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            ([("content-type", "application/x-amz-json-1.0")], "{}")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

async fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        // Keeps the retries' backoff short; the attempt count is the SDK default (3).
        .retry_config(aws_config::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&sdk)
}

async fn get(client: &aws_sdk_dynamodb::Client) -> Result<(), aws_sdk_dynamodb::operation::get_item::GetItemError> {
    client
        .get_item()
        .table_name("t")
        .key("pk", AttributeValue::S("USER#alice".into()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.into_service_error())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_counts_and_injects_each_fault_kind() {
    let (url, hits) = upstream().await;
    let proxy = DynamoProxy::start(&url).unwrap();
    let client = client(&proxy.url()).await;

    get(&client).await.unwrap();
    assert_eq!((proxy.count("GetItem"), hits.load(Ordering::SeqCst)), (1, 1));

    // Throttled on all three of the SDK's attempts: the SDK retried (it
    // recognised the error as throttling) and then surfaced it.
    proxy.inject(Fault::new("GetItem", FaultKind::Throttling).times(3));
    let err = get(&client).await.unwrap_err();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert_eq!((proxy.count("GetItem"), hits.load(Ordering::SeqCst)), (4, 1));

    proxy.inject(Fault::new("GetItem", FaultKind::ProvisionedThroughputExceeded).times(3));
    let err = get(&client).await.unwrap_err();
    assert!(err.is_provisioned_throughput_exceeded_exception(), "{err:?}");

    // One 500 is absorbed by the SDK's retry.
    proxy.reset_counts();
    proxy.inject(Fault::new("GetItem", FaultKind::InternalServerError));
    get(&client).await.unwrap();
    assert_eq!(proxy.count("GetItem"), 2);
    assert_eq!(proxy.armed_faults(), 0);

    // A lost answer: every attempt reached the upstream, the caller heard 500s.
    let before = hits.load(Ordering::SeqCst);
    proxy.inject(Fault::new("GetItem", FaultKind::LoseAnswer).times(3));
    let err = get(&client).await.unwrap_err();
    assert!(err.is_internal_server_error(), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst) - before, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_and_body_filters_pick_the_request_in_the_middle() {
    let (url, hits) = upstream().await;
    let proxy = DynamoProxy::start(&url).unwrap();
    let client = client(&proxy.url()).await;
    // Only the second request that mentions bob, and only once.
    proxy.inject(
        Fault::new("*", FaultKind::Throttling)
            .body_contains("USER#bob")
            .after(1)
            .times(1),
    );
    let put = |user: &str| {
        client
            .put_item()
            .table_name("t")
            .item("pk", AttributeValue::S(format!("USER#{user}")))
            .send()
    };
    put("bob").await.unwrap();
    put("alice").await.unwrap();
    put("bob").await.unwrap(); // throttled once, retried by the SDK
    assert_eq!(proxy.count("PutItem"), 4);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        proxy.counts().into_iter().collect::<Vec<_>>(),
        vec![("PutItem".to_owned(), 4)]
    );
    assert_eq!(
        dynamo_proxy::operation("secretsmanager.GetSecretValue"),
        "GetSecretValue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_trips_a_client_timeout_and_the_request_still_arrives() {
    let (url, hits) = upstream().await;
    let proxy = DynamoProxy::start(&url).unwrap();
    proxy.inject(Fault::new("GetItem", FaultKind::Delay(Duration::from_millis(300))));
    let http = reqwest::Client::new();
    let send = || {
        http.post(proxy.url())
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .body("{}")
            .timeout(Duration::from_millis(100))
            .send()
    };
    assert!(send().await.unwrap_err().is_timeout());
    // The next one is not delayed.
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(proxy.count("GetItem"), 2);
    // The delayed request is still forwarded once its wait is over.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
