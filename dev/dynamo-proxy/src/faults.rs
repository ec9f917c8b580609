//! Which fault applies to a request, and the answers DynamoDB and Secrets
//! Manager give for each kind. Kept apart from the HTTP side so the matching
//! rules (operation, body, `after`, `times`) are tested without a server.

use std::time::Duration;

/// What the proxy does instead of (or besides) forwarding a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 400 `ThrottlingException`, not forwarded: what on-demand tables
    /// answer when a partition is over its limit.
    Throttling,
    /// 400 `ProvisionedThroughputExceededException`, not forwarded.
    ProvisionedThroughputExceeded,
    /// 500 `InternalServerError` (Secrets Manager: `InternalServiceError`),
    /// not forwarded: nothing was written.
    InternalServerError,
    /// Waits this long, then forwards normally (to trip client timeouts).
    Delay(Duration),
    /// 400 `TransactionCanceledException` for a `TransactWriteItems`, not
    /// forwarded: its first item conflicted with another transaction in
    /// flight (reason `TransactionConflict`), the others were not looked at
    /// (`None`). What DynamoDB answers to two simultaneous transactions on
    /// one item, which moto never does.
    TransactionConflict,
    /// Forwards (the write happens upstream), throws the answer away and
    /// answers 500 `InternalServerError` instead: the caller cannot know the
    /// write happened, as with a real DynamoDB 500 whose outcome is unknown.
    LoseAnswer,
}

/// One injected fault; see [`crate::DynamoProxy::inject`].
#[derive(Clone, Debug)]
pub struct Fault {
    /// The operation as [`crate::operation`] reduces it (`"PutItem"`,
    /// `"TransactWriteItems"`, `"GetSecretValue"`); `"*"` matches any.
    pub operation: String,
    /// When set, only requests whose body contains this string match (for
    /// example a key such as `"USER#alice"`, to hit one item's write).
    pub body_contains: Option<String>,
    /// The first `after` matching requests pass untouched, so a fault can hit
    /// the middle of a sequence of writes.
    pub after: u64,
    /// Applies to this many matching requests after the skipped ones, then
    /// disarms.
    pub times: u64,
    pub kind: FaultKind,
}

impl Fault {
    /// A fault of `kind` on the next request for `operation`, once.
    pub fn new(operation: &str, kind: FaultKind) -> Self {
        Self {
            operation: operation.to_owned(),
            body_contains: None,
            after: 0,
            times: 1,
            kind,
        }
    }

    pub fn after(mut self, after: u64) -> Self {
        self.after = after;
        self
    }

    pub fn times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    pub fn body_contains(mut self, needle: &str) -> Self {
        self.body_contains = Some(needle.to_owned());
        self
    }

    fn matches(&self, operation: &str, body: &[u8]) -> bool {
        (self.operation == "*" || self.operation == operation)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|needle| contains(body, needle.as_bytes()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The armed faults, in injection order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Fault>,
    /// Requests a fault was applied to, and of those, the ones it held
    /// past an answer the caller waited for (`Delay`, `LoseAnswer`).
    pub fired: u64,
    pub hung: u64,
}

impl Faults {
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.armed.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    pub fn armed(&self) -> usize {
        self.armed.len()
    }

    /// The fault for this request, if any. Every matching fault still
    /// skipping counts the request as one of its `after`; the first matching
    /// fault with nothing left to skip applies and is used up by one.
    pub fn take(&mut self, operation: &str, body: &[u8]) -> Option<FaultKind> {
        let mut chosen = None;
        for (i, fault) in self.armed.iter_mut().enumerate() {
            if !fault.matches(operation, body) {
                continue;
            }
            if fault.after > 0 {
                fault.after -= 1;
            } else if chosen.is_none() {
                chosen = Some(i);
            }
        }
        let i = chosen?;
        let fault = &mut self.armed[i];
        fault.times -= 1;
        let kind = fault.kind.clone();
        self.fired += 1;
        if matches!(kind, FaultKind::Delay(_) | FaultKind::LoseAnswer) {
            self.hung += 1;
        }
        if fault.times == 0 {
            self.armed.remove(i);
        }
        Some(kind)
    }
}

/// The status and JSON body the service answers for `kind`, as DynamoDB
/// (`DynamoDB_20120810.*` targets, namespaced `__type`) or Secrets Manager
/// (plain `__type`) sends them. `None` for kinds that are not an error.
pub(crate) fn error_answer(kind: &FaultKind, target: &str, request: &[u8]) -> Option<(u16, String)> {
    let (status, name, message) = match kind {
        FaultKind::TransactionConflict => return Some((400, transaction_conflict(request))),
        FaultKind::Throttling => (
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        FaultKind::ProvisionedThroughputExceeded => (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. \
             Consider increasing your provisioning level with the UpdateTable API.",
        ),
        FaultKind::InternalServerError | FaultKind::LoseAnswer => (500, "InternalServerError", "Internal server error"),
        FaultKind::Delay(_) => return None,
    };
    let body = if target.starts_with("DynamoDB_") {
        serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{name}"), "message": message})
    } else {
        // Secrets Manager names its 500 differently and does not namespace.
        let name = if status == 500 { "InternalServiceError" } else { name };
        serde_json::json!({"__type": name, "Message": message})
    };
    Some((status, body.to_string()))
}

/// DynamoDB's cancellation of a transaction whose first item conflicted:
/// one reason per item of the request, in order.
fn transaction_conflict(request: &[u8]) -> String {
    let items = serde_json::from_slice::<serde_json::Value>(request)
        .ok()
        .and_then(|r| r["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1)
        .max(1);
    let reasons: Vec<_> = (0..items)
        .map(|i| match i {
            0 => serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}),
            _ => serde_json::json!({"Code": "None"}),
        })
        .collect();
    let codes: Vec<_> = (0..items)
        .map(|i| if i == 0 { "TransactionConflict" } else { "None" })
        .collect();
    serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "CancellationReasons": reasons,
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_skips_matching_requests_then_times_applies() {
        let mut faults = Faults::default();
        faults.push(Fault::new("PutItem", FaultKind::Throttling).after(2).times(2));
        assert_eq!(faults.take("GetItem", b""), None);
        assert_eq!(faults.take("PutItem", b""), None);
        assert_eq!(faults.take("PutItem", b""), None);
        assert_eq!(faults.take("PutItem", b""), Some(FaultKind::Throttling));
        assert_eq!(faults.take("PutItem", b""), Some(FaultKind::Throttling));
        assert_eq!(faults.take("PutItem", b""), None);
        assert_eq!(faults.armed(), 0);
    }

    #[test]
    fn body_filter_and_wildcard() {
        let mut faults = Faults::default();
        faults.push(Fault::new("*", FaultKind::LoseAnswer).body_contains("USER#alice"));
        faults.push(Fault::new("UpdateItem", FaultKind::InternalServerError).times(0));
        assert_eq!(faults.armed(), 1, "a fault for zero requests is never armed");
        assert_eq!(faults.take("UpdateItem", br#"{"pk":{"S":"USER#bob"}}"#), None);
        assert_eq!(
            faults.take("UpdateItem", br#"{"pk":{"S":"USER#alice"}}"#),
            Some(FaultKind::LoseAnswer)
        );
        assert_eq!(faults.take("UpdateItem", br#"{"pk":{"S":"USER#alice"}}"#), None);
    }

    #[test]
    fn answers_have_each_services_shape() {
        let (status, body) = error_answer(&FaultKind::Throttling, "DynamoDB_20120810.PutItem", b"").unwrap();
        assert_eq!(status, 400);
        assert!(body.contains("com.amazonaws.dynamodb.v20120810#ThrottlingException"));
        let (status, body) = error_answer(&FaultKind::LoseAnswer, "secretsmanager.GetSecretValue", b"").unwrap();
        assert_eq!(status, 500);
        assert!(body.contains("\"InternalServiceError\""));
        assert_eq!(error_answer(&FaultKind::Delay(Duration::ZERO), "x", b""), None);
    }

    #[test]
    fn a_conflict_gives_one_reason_per_item_the_first_conflicting() {
        let request = br#"{"TransactItems":[{"Update":{}},{"Put":{}},{"Put":{}}]}"#;
        let (status, body) = error_answer(
            &FaultKind::TransactionConflict,
            "DynamoDB_20120810.TransactWriteItems",
            request,
        )
        .unwrap();
        assert_eq!(status, 400);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        );
        let codes: Vec<_> = body["CancellationReasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["TransactionConflict", "None", "None"]);
    }
}
