//! What the functions talk to: moto (DynamoDB and Secrets Manager) behind the
//! request-counting proxy, and the GitHub simulator; one table per
//! implementation, created from template.yaml, and the app's secret.

use std::path::{Path, PathBuf};
use std::process::Child;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, WriteRequest,
};
use base64::Engine;
use dynamo_proxy::DynamoProxy;
use github_sim::{GitHubSim, SimConfig};
use serde_json::json;

pub const APP_ID: u64 = 424242;
pub const APP_SLUG: &str = "platform-broker-bench";
pub const CLIENT_ID: &str = "Iv23liBenchClientId";
pub const CLIENT_SECRET: &str = "cs_bench_5f2c9e0b7d4a41e8a3";
pub const WEBHOOK_SECRET: &str = "wh_bench_77ab1c9f03e54d2b";
pub const FRONTEND: &str = "https://platform.example";
pub const REGION: &str = "eu-west-1";

pub struct Infra {
    pub root: PathBuf,
    moto: Child,
    pub proxy: DynamoProxy,
    pub sim: GitHubSim,
    pub sdk: SdkConfig,
    pub secret_id: String,
}

impl Drop for Infra {
    fn drop(&mut self) {
        let _ = self.moto.kill();
        let _ = self.moto.wait();
    }
}

fn fixture(root: &Path, name: &str) -> String {
    std::fs::read_to_string(root.join("tests/fixtures/keys").join(name)).expect("key fixture")
}

impl Infra {
    pub async fn start(root: &Path) -> Infra {
        let (moto, endpoint) = start_moto(root);
        let proxy = DynamoProxy::start(&endpoint).expect("proxy starts");
        let sim = GitHubSim::start(SimConfig::new(
            APP_ID,
            APP_SLUG,
            CLIENT_ID,
            CLIENT_SECRET,
            fixture(root, "app-key.pub.pem"),
        ))
        .await
        .expect("simulator starts");
        // The harness itself talks to moto directly: only the functions' requests are counted.
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .load()
            .await;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let secret = json!({
            "app_id": APP_ID.to_string(),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "private_key": fixture(root, "app-key.pkcs1.pem"),
            "webhook_secret": WEBHOOK_SECRET,
            "token_encryption_key": key,
            // Both implementations are told the slug, so neither asks GitHub for it.
            "app_slug": APP_SLUG,
        });
        let secret_id = "bench/app".to_owned();
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&secret_id)
            .secret_string(secret.to_string())
            .send()
            .await
            .expect("create secret");
        Infra {
            root: root.to_owned(),
            moto,
            proxy,
            sim,
            sdk,
            secret_id,
        }
    }

    /// Removes the delivery records and audit records written so far, as
    /// TTL eventually would, between one webhook route and the next (and
    /// before the first). moto deep-copies the whole table for every item
    /// of a transaction (its rollback), so without this each event would
    /// cost moto more than the last, and the later routes' latencies would
    /// measure moto's copying rather than the function. Both
    /// implementations' tables get the same treatment (Node's keeps no
    /// audit trail).
    pub async fn forget_deliveries(&self, table: &str) {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = client
                .scan()
                .table_name(table)
                // Ours are `DELIVERY#…`, Node's `delivery#…`.
                .filter_expression("begins_with(pk, :ours) OR begins_with(pk, :node) OR begins_with(pk, :audit)")
                .expression_attribute_values(":ours", AttributeValue::S("DELIVERY#".into()))
                .expression_attribute_values(":audit", AttributeValue::S("AUDIT#".into()))
                .expression_attribute_values(":node", AttributeValue::S("delivery#".into()))
                .projection_expression("pk, sk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the table");
            keys.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        for chunk in keys.chunks(25) {
            let deletes = chunk.iter().map(|key| {
                let delete = DeleteRequest::builder().set_key(Some(key.clone())).build().unwrap();
                WriteRequest::builder().delete_request(delete).build()
            });
            client
                .batch_write_item()
                .request_items(table, deletes.collect())
                .send()
                .await
                .expect("delete delivery records");
        }
    }

    /// An event bus and a payload bucket for forwarded deliveries; the
    /// webhook's environment for publishing there.
    pub async fn event_bus(&self, name: &str) -> Vec<(String, String)> {
        aws_sdk_eventbridge::Client::new(&self.sdk)
            .create_event_bus()
            .name(name)
            .send()
            .await
            .expect("create bus");
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(name)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .expect("create bucket");
        vec![
            ("EVENT_BUS_NAME".to_owned(), name.to_owned()),
            ("EVENT_PAYLOAD_BUCKET".to_owned(), name.to_owned()),
        ]
    }

    /// A table shaped as template.yaml says (the only definition of it).
    pub async fn create_table(&self, name: &str) {
        let path = self.root.join("template.yaml");
        let template: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let p = template["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .find(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
            .expect("template.yaml defines a table")["Properties"]
            .clone();
        let s = |v: &serde_yaml::Value| v.as_str().unwrap().to_owned();
        let keys = |v: &serde_yaml::Value| -> Vec<KeySchemaElement> {
            v.as_sequence()
                .unwrap()
                .iter()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(s(&k["AttributeName"]))
                        .key_type(KeyType::from(s(&k["KeyType"]).as_str()))
                        .build()
                        .unwrap()
                })
                .collect()
        };
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(s(&p["BillingMode"]).as_str()))
            .set_key_schema(Some(keys(&p["KeySchema"])));
        for a in p["AttributeDefinitions"].as_sequence().unwrap() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(s(&a["AttributeName"]))
                    .attribute_type(ScalarAttributeType::from(s(&a["AttributeType"]).as_str()))
                    .build()
                    .unwrap(),
            );
        }
        for g in p["GlobalSecondaryIndexes"].as_sequence().into_iter().flatten() {
            let projection = ProjectionType::from(s(&g["Projection"]["ProjectionType"]).as_str());
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(s(&g["IndexName"]))
                    .set_key_schema(Some(keys(&g["KeySchema"])))
                    .projection(Projection::builder().projection_type(projection).build())
                    .build()
                    .unwrap(),
            );
        }
        req.send().await.expect("create table");
    }

    /// The environment Lambda gives a function, plus the broker's configuration.
    pub fn lambda_env(&self, function: &str, table: &str) -> Vec<(String, String)> {
        let sim = self.sim.url();
        [
            ("AWS_LAMBDA_FUNCTION_NAME", function),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/24/[$LATEST]bench"),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL", &self.proxy.url()),
            ("TABLE_NAME", table),
            ("APP_SECRET_ID", &self.secret_id),
            ("GITHUB_API_URL", &sim),
            ("GITHUB_WEB_URL", &sim),
            ("FRONTEND_ORIGINS", FRONTEND),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// moto, started as the tests start it (`dynamo_proxy::moto`), from the
/// harness's main thread: it dies with the harness (PR_SET_PDEATHSIG).
fn start_moto(root: &Path) -> (Child, String) {
    let port = dynamo_proxy::moto::free_port();
    let mut child = dynamo_proxy::moto::spawn(root, port).expect("moto starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    if let Err(e) = dynamo_proxy::moto::wait_until_up(&endpoint) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{e}");
    }
    (child, endpoint)
}
