//! The targets, checked on this run's figures.

use std::fmt::Write;

use crate::report::Side;

const MIB: f64 = 1048576.0;

pub fn check(ours: &Side, node: Option<&Side>) -> String {
    let mut out = String::from("\n### Targets\n\n");
    let mut line = |ok: bool, text: String| {
        writeln!(out, "- {} {text}", if ok { "✅ met:" } else { "❌ missed:" }).unwrap();
    };
    for o in ours.runs.iter() {
        let rss = o.peak_rss_kib as f64 * 1024.0;
        // The forwarding run holds 25 MB payloads (several copies each) on
        // purpose: its target is the answer's time, not the memory.
        if o.function == "webhook-forwarding" {
            if let Some(largest) = o.routes.iter().find(|r| r.name.starts_with("push of 25 MB")) {
                let p99 = largest.p99().as_secs_f64();
                line(
                    p99 < 10.0,
                    format!("a 25 MB push forwarded (through S3) in {p99:.2} s at p99, within GitHub's 10 s"),
                );
            }
            continue;
        }
        line(
            rss < 32.0 * MIB,
            format!("{} peak RSS {:.1} MiB < 32 MiB", o.function, rss / MIB),
        );
        if let Some(n) = node.and_then(|s| s.runs.iter().find(|r| r.function == o.function)) {
            let init = n.init.as_secs_f64() / o.init.as_secs_f64();
            line(
                init >= 10.0,
                format!("{} init {init:.1}× faster than Node (≥ 10×)", o.function),
            );
            let mem = n.peak_rss_kib as f64 / o.peak_rss_kib as f64;
            line(
                mem >= 4.0,
                format!("{} peak RSS {mem:.1}× lower than Node (≥ 4×)", o.function),
            );
            if o.function == "webhook" {
                let cpu = n.warm_cpu_us / o.warm_cpu_us;
                line(
                    cpu >= 5.0,
                    format!("webhook CPU per event {cpu:.1}× lower than Node (≥ 5×)"),
                );
            }
        }
    }
    if let Some(cached) = ours
        .runs
        .iter()
        .flat_map(|r| &r.routes)
        .find(|r| r.name == "vend: cached")
    {
        let reads: u64 = ["GetItem", "BatchGetItem", "TransactGetItems", "Query"]
            .iter()
            .map(|op| cached.ops.get(*op).copied().unwrap_or(0))
            .sum();
        let calls = cached.samples.len() as u64;
        let all: u64 = cached.ops.values().sum();
        line(
            reads == calls && all == 2 * calls && cached.github() == 0.0,
            format!(
                "cached vend: {:.2} DynamoDB requests ({:.2} reads; the other its audit record), {:.2} GitHub requests (2, 1, 0)",
                all as f64 / calls as f64,
                reads as f64 / calls as f64,
                cached.github()
            ),
        );
    }
    if let Some(m) = ours.race_mints {
        let node_m = node.and_then(|n| n.race_mints);
        line(
            m == 1,
            format!(
                "1,000 vends of one scope over 4 containers: {m} GitHub mint(s) (Node: {})",
                node_m.map(|m| m.to_string()).unwrap_or_else(|| "–".into())
            ),
        );
    }
    out
}
