//! What AWS would have to authorize for a request, derived from the request
//! itself: moto authorizes everything, so the tests learn each function's
//! real needs here and hold `template.yaml`'s policies to them.
//!
//! EventBridge authorizes `events:PutEvents` on each entry's bus, and S3 a
//! `PutObject` on the object (`bucket/key`, the path of a path-style
//! request). AWS authorizes DynamoDB item by item: a `TransactWriteItems` needs
//! `PutItem`, `UpdateItem`, `DeleteItem` or `ConditionCheckItem` for each of
//! its items (there is no `TransactWriteItems` action), a
//! `TransactGetItems` needs `GetItem`, a `Query` or `Scan` on an index needs
//! its action on `table/NAME/index/INDEX`, and the batch operations are
//! actions of their own on every table they name.

use std::collections::BTreeSet;

use serde_json::Value;

/// The resource an action is authorized on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Table(String),
    Index {
        table: String,
        index: String,
    },
    Secret(String),
    /// An EventBridge bus, by name (`default` when an entry names none).
    EventBus(String),
    /// An S3 object.
    Object {
        bucket: String,
        key: String,
    },
    /// What the request did not name (a malformed body).
    Unknown,
}

/// One IAM action on one resource, e.g. `dynamodb:ConditionCheckItem` on
/// `Table("broker-1a2b")`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Need {
    pub action: String,
    pub resource: Resource,
}

fn need(action: impl Into<String>, resource: Resource) -> Need {
    Need {
        action: action.into(),
        resource,
    }
}

fn table(body: &Value) -> Resource {
    body["TableName"]
        .as_str()
        .map_or(Resource::Unknown, |t| Resource::Table(t.to_owned()))
}

/// The actions AWS checks for one S3 request (path-style: `/bucket/key`),
/// which names its operation by method and path rather than a target.
pub fn s3_needs(method: &str, path: &str) -> BTreeSet<Need> {
    let path = path.split('?').next().unwrap_or("").trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let object = || Resource::Object {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    let (action, resource) = match (method, key.is_empty()) {
        ("PUT", false) => ("s3:PutObject", object()),
        ("GET" | "HEAD", false) => ("s3:GetObject", object()),
        ("DELETE", false) => ("s3:DeleteObject", object()),
        _ => ("s3:ListBucket", Resource::Unknown),
    };
    BTreeSet::from([need(action, resource)])
}

/// The actions AWS checks for one request, given its `X-Amz-Target` and body.
pub fn needs(target: &str, body: &[u8]) -> BTreeSet<Need> {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (service, operation) = target.split_once('.').unwrap_or(("", target));
    let mut out = BTreeSet::new();
    if service == "AWSEvents" {
        for entry in body["Entries"].as_array().into_iter().flatten() {
            let bus = entry["EventBusName"].as_str().unwrap_or("default");
            // A bus named by ARN is the same bus.
            let name = bus.rsplit('/').next().unwrap_or(bus);
            out.insert(need(format!("events:{operation}"), Resource::EventBus(name.to_owned())));
        }
        return out;
    }
    if service.eq_ignore_ascii_case("secretsmanager") {
        let secret = body["SecretId"]
            .as_str()
            .map_or(Resource::Unknown, |s| Resource::Secret(s.to_owned()));
        out.insert(need(format!("secretsmanager:{operation}"), secret));
        return out;
    }
    if !service.starts_with("DynamoDB") {
        return out;
    }
    let dynamo = |action: &str| format!("dynamodb:{action}");
    match operation {
        "TransactWriteItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                for (kind, action) in [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ] {
                    if !item[kind].is_null() {
                        out.insert(need(dynamo(action), table(&item[kind])));
                    }
                }
            }
        }
        "TransactGetItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                out.insert(need(dynamo("GetItem"), table(&item["Get"])));
            }
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for name in body["RequestItems"].as_object().into_iter().flat_map(|m| m.keys()) {
                out.insert(need(dynamo(operation), Resource::Table(name.clone())));
            }
        }
        "Query" | "Scan" => {
            let resource = match (body["TableName"].as_str(), body["IndexName"].as_str()) {
                (Some(t), Some(i)) => Resource::Index {
                    table: t.to_owned(),
                    index: i.to_owned(),
                },
                _ => table(&body),
            };
            out.insert(need(dynamo(operation), resource));
        }
        _ => {
            out.insert(need(dynamo(operation), table(&body)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Resource {
        Resource::Table(name.into())
    }

    #[test]
    fn a_transaction_needs_each_items_own_action() {
        let body = br#"{"TransactItems": [
            {"Update": {"TableName": "t", "Key": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}}},
            {"Put": {"TableName": "u", "Item": {}}},
            {"Delete": {"TableName": "t", "Key": {}}}
        ]}"#;
        let got = needs("DynamoDB_20120810.TransactWriteItems", body);
        let want = BTreeSet::from([
            need("dynamodb:UpdateItem", t("t")),
            need("dynamodb:ConditionCheckItem", t("t")),
            need("dynamodb:PutItem", t("u")),
            need("dynamodb:DeleteItem", t("t")),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_query_on_an_index_needs_query_on_the_index() {
        let got = needs("DynamoDB_20120810.Query", br#"{"TableName": "t", "IndexName": "gsi1"}"#);
        let index = Resource::Index {
            table: "t".into(),
            index: "gsi1".into(),
        };
        assert_eq!(got, BTreeSet::from([need("dynamodb:Query", index)]));
        let got = needs("DynamoDB_20120810.Query", br#"{"TableName": "t"}"#);
        assert_eq!(got, BTreeSet::from([need("dynamodb:Query", t("t"))]));
    }

    #[test]
    fn batch_operations_are_actions_of_their_own_on_every_table_named() {
        let got = needs(
            "DynamoDB_20120810.BatchWriteItem",
            br#"{"RequestItems": {"a": [], "b": []}}"#,
        );
        assert_eq!(
            got,
            BTreeSet::from([
                need("dynamodb:BatchWriteItem", t("a")),
                need("dynamodb:BatchWriteItem", t("b"))
            ])
        );
    }

    #[test]
    fn events_are_put_on_each_entrys_bus_and_objects_by_their_path() {
        let body =
            br#"{"Entries": [{"EventBusName": "b1"}, {"EventBusName": "arn:aws:events:eu-west-1:1:event-bus/b2"}]}"#;
        assert_eq!(
            needs("AWSEvents.PutEvents", body),
            BTreeSet::from([
                need("events:PutEvents", Resource::EventBus("b1".into())),
                need("events:PutEvents", Resource::EventBus("b2".into()))
            ])
        );
        let object = Resource::Object {
            bucket: "bk".into(),
            key: "payloads/d.json".into(),
        };
        assert_eq!(
            s3_needs("PUT", "/bk/payloads/d.json?x-id=PutObject"),
            BTreeSet::from([need("s3:PutObject", object)])
        );
    }

    #[test]
    fn plain_item_operations_and_secrets_need_their_own_action() {
        assert_eq!(
            needs("DynamoDB_20120810.GetItem", br#"{"TableName": "t"}"#),
            BTreeSet::from([need("dynamodb:GetItem", t("t"))])
        );
        assert_eq!(
            needs("secretsmanager.GetSecretValue", br#"{"SecretId": "s"}"#),
            BTreeSet::from([need("secretsmanager:GetSecretValue", Resource::Secret("s".into()))])
        );
    }
}
