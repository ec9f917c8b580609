//! Secret hygiene across a whole run (issue 6). With `BROKER_TEST_LOG_DIR`
//! set, this test process logs everything at TRACE, in the production JSON
//! format, to `$BROKER_TEST_LOG_DIR/integration-<pid>.log`, and every
//! `TestApp` writes the secrets it and its simulator dealt with to
//! `secrets-<table>.json` when it drops. Once every suite has run (other
//! processes add their own `*.log` files), [`sweep`] searches every log line
//! for every recorded secret, and for token and key shapes as a second net,
//! and every table of the still-running moto for plaintext tokens.
//! `scripts/hygiene-sweep` does all of it in order.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

/// The folder of the run, when a sweep is wanted.
pub fn log_dir() -> Option<PathBuf> {
    std::env::var_os("BROKER_TEST_LOG_DIR").map(PathBuf::from)
}

/// Installs the process-wide TRACE subscriber writing to this process's log
/// file; `false` when no sweep is wanted (the caller sets up its own logs).
pub fn init_file_logging() -> bool {
    let Some(dir) = log_dir() else {
        return false;
    };
    std::fs::create_dir_all(&dir).expect("BROKER_TEST_LOG_DIR can be created");
    let path = dir.join(format!("integration-{}.log", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The format of `broker::telemetry::init`, at the most verbose level,
    // for every crate in the process (the AWS SDK and hyper included).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    true
}

/// Every secret in the app's secret JSON: the private key as its base64
/// lines (a key is logged in pieces, if at all), the rest whole.
pub fn secrets_in(secret_json: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for field in [
        "client_secret",
        "webhook_secret",
        "webhook_secret_previous",
        "token_encryption_key",
    ] {
        if let Some(s) = secret_json[field].as_str() {
            out.push(s.to_owned());
        }
    }
    if let Some(key) = secret_json["private_key"].as_str() {
        let key = key.replace("\\n", "\n");
        out.extend(
            key.lines()
                .map(str::trim)
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_owned),
        );
    }
    out
}

/// Writes `secrets-<table>.json` when a sweep is wanted.
pub fn record_secrets(table: &str, secrets: Vec<String>) {
    let Some(dir) = log_dir() else {
        return;
    };
    let _ = std::fs::create_dir_all(&dir);
    let body = json!({"table": table, "secrets": secrets});
    if let Err(e) = std::fs::write(dir.join(format!("secrets-{table}.json")), body.to_string()) {
        eprintln!("secret sweep: cannot record the secrets of {table}: {e}");
    }
}

/// Shorter strings are not secrets worth the name and would match by chance.
const MIN_SECRET: usize = 8;

/// Finds any of many secrets in text: indexed by their first bytes, so a
/// line costs one hash lookup per position whatever the number of secrets.
pub struct Matcher {
    by_prefix: HashMap<[u8; MIN_SECRET], Vec<String>>,
    pub count: usize,
}

impl Matcher {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let unique: HashSet<String> = secrets.into_iter().filter(|s| s.len() >= MIN_SECRET).collect();
        let mut by_prefix: HashMap<[u8; MIN_SECRET], Vec<String>> = HashMap::new();
        for s in &unique {
            let prefix: [u8; MIN_SECRET] = s.as_bytes()[..MIN_SECRET].try_into().unwrap();
            by_prefix.entry(prefix).or_default().push(s.clone());
        }
        Self {
            by_prefix,
            count: unique.len(),
        }
    }

    /// The first secret found in `text`, or a token/key shape.
    pub fn find(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        for i in 0..bytes.len().saturating_sub(MIN_SECRET - 1) {
            let window: [u8; MIN_SECRET] = bytes[i..i + MIN_SECRET].try_into().unwrap();
            if let Some(candidates) = self.by_prefix.get(&window) {
                if let Some(s) = candidates.iter().find(|s| bytes[i..].starts_with(s.as_bytes())) {
                    return Some(format!("a recorded secret ({}…)", &s[..4]));
                }
            }
        }
        token_shape(text)
    }
}

/// GitHub token prefixes followed by a token's worth of token characters,
/// or a PEM header: secrets nobody recorded.
pub fn token_shape(text: &str) -> Option<String> {
    if text.contains("-----BEGIN") {
        return Some("a PEM block".into());
    }
    for prefix in ["ghu_", "ghr_", "ghs_", "gho_"] {
        for (at, _) in text.match_indices(prefix) {
            let tail = text[at + 4..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                .count();
            if tail >= 16 {
                return Some(format!("a {prefix} token shape"));
            }
        }
    }
    None
}

#[derive(Debug, Default)]
pub struct Report {
    pub log_files: usize,
    pub log_lines: u64,
    pub secrets: usize,
    pub tables: usize,
    pub items: u64,
    pub findings: Vec<String>,
    /// Log lines, and tables, with at least one finding.
    pub dirty_lines: u64,
    pub dirty_tables: HashSet<String>,
}

/// Every recorded secret under `dir`.
pub fn recorded_secrets(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("secrets-") && name.ends_with(".json") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.extend(
                parsed["secrets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned)),
            );
        }
    }
    out
}

/// Searches every `*.log` under `dir` (this process's and any other's).
pub fn sweep_logs(dir: &Path, matcher: &Matcher, report: &mut Report) {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    for path in logs {
        report.log_files += 1;
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = String::from_utf8_lossy(&line.expect("log readable")).into_owned();
            report.log_lines += 1;
            if let Some(what) = matcher.find(&line) {
                report.dirty_lines += 1;
                report.findings.push(format!("{}:{}: {what}", path.display(), n + 1));
            }
        }
    }
}

/// Searches every string of every item of `table`. Sealed values
/// (`v1.` + standard base64) cannot hold `_`, so the token-shape net does
/// not mistake them for tokens.
pub async fn sweep_table(client: &aws_sdk_dynamodb::Client, table: &str, matcher: &Matcher, report: &mut Report) {
    report.tables += 1;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
        for item in out.items.unwrap_or_default() {
            report.items += 1;
            let mut texts = Vec::new();
            for value in item.values() {
                strings(value, &mut texts);
            }
            if let Some(what) = texts.iter().find_map(|t| matcher.find(t)) {
                report.dirty_tables.insert(table.to_owned());
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                report.findings.push(format!("table {table}, item {pk}: {what}"));
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return;
        }
    }
}

fn strings(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::Ss(list) => out.extend(list.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.values().for_each(|v| strings(v, out)),
        AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
        _ => {}
    }
}

/// The sweep's figures, as JSON lines to `RELIABILITY_OUT` (source "sweep").
pub fn record_figures(report: &Report) {
    let Ok(path) = std::env::var("RELIABILITY_OUT") else {
        return;
    };
    let found = report.findings.len() as u64;
    let rows = [
        (
            "log lines scanned for recorded secrets and token shapes",
            report.log_lines,
            report.log_lines - report.dirty_lines,
            "no secret in the line",
        ),
        (
            "recorded secrets searched (keys, client and webhook secrets, codes, tokens, refresh tokens)",
            report.secrets as u64,
            (report.secrets as u64).saturating_sub(found),
            "found in no log line and no table",
        ),
        (
            "tables scanned for plaintext tokens",
            report.tables as u64,
            (report.tables - report.dirty_tables.len()) as u64,
            "no plaintext token or secret in any item",
        ),
    ];
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("RELIABILITY_OUT {path}: {e}"));
    for (case, tried, held, expectation) in rows {
        let line = json!({
            "area": "Secret hygiene",
            "case": case,
            "tried": tried,
            "held": held,
            "expectation": expectation,
            "source": "sweep",
        });
        file.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
}
