//! The comparison as a Markdown table: ours beside Node's, with ratios.

use std::fmt::Write;
use std::time::Duration;

use crate::driver::{FunctionRun, Route};

#[derive(Clone, Copy)]
pub struct Sizes {
    /// Stripped binary (ours) or handler + node_modules (Node), bytes.
    pub unpacked: u64,
    pub zipped: u64,
}

pub struct Side {
    pub runs: Vec<FunctionRun>,
    pub sizes: Vec<(&'static str, Sizes)>,
    pub race_mints: Option<usize>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ratio(node: f64, ours: f64) -> String {
    if ours <= 0.0 {
        return if node <= 0.0 { "=".into() } else { "∞".into() };
    }
    format!("{:.1}×", node / ours)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1048576.0)
}

fn counts(r: Option<&Route>, f: impl Fn(&Route) -> f64) -> String {
    r.map(|r| format!("{:.2}", f(r))).unwrap_or_else(|| "–".into())
}

/// A Markdown report; `node` is absent with `--only ours`.
pub fn markdown(ours: &Side, node: Option<&Side>) -> String {
    let mut out = String::new();
    let dash = || "–".to_owned();
    writeln!(out, "### Per function\n").unwrap();
    writeln!(out, "| function | metric | ours | Node.js | Node ÷ ours |").unwrap();
    writeln!(out, "|---|---|---:|---:|---:|").unwrap();
    for o in ours.runs.iter() {
        let n = node.and_then(|s| s.runs.iter().find(|r| r.function == o.function));
        // The forwarding run is the webhook binary, configured otherwise.
        let binary = o.function.trim_end_matches("-forwarding");
        let size_of = |side: &'_ Side| side.sizes.iter().find(|(f, _)| *f == binary).map(|(_, s)| *s);
        let size_o = size_of(ours).expect("sizes of every function");
        let size_n = node.and_then(size_of);
        let mut row = |metric: &str, a: String, b: Option<String>, r: Option<String>| {
            writeln!(
                out,
                "| {} | {metric} | {a} | {} | {} |",
                o.function,
                b.unwrap_or_else(dash),
                r.unwrap_or_else(dash)
            )
            .unwrap();
        };
        row(
            "init (spawn → first `next`, median of 5 cold starts)",
            ms(o.init),
            n.map(|n| ms(n.init)),
            n.map(|n| ratio(n.init.as_secs_f64(), o.init.as_secs_f64())),
        );
        row(
            &format!("first invocation ({}, median of 5)", o.first_route),
            ms(o.first.latency),
            n.map(|n| ms(n.first.latency)),
            n.map(|n| ratio(n.first.latency.as_secs_f64(), o.first.latency.as_secs_f64())),
        );
        let cold = |r: &FunctionRun| r.init + r.first.latency;
        row(
            "cold start (init + first invocation)",
            ms(cold(o)),
            n.map(|n| ms(cold(n))),
            n.map(|n| ratio(cold(n).as_secs_f64(), cold(o).as_secs_f64())),
        );
        row(
            "CPU per warm invocation (all routes)",
            format!("{:.0} µs", o.warm_cpu_us),
            n.map(|n| format!("{:.0} µs", n.warm_cpu_us)),
            n.map(|n| ratio(n.warm_cpu_us, o.warm_cpu_us)),
        );
        row(
            "of which in the kernel (whole life)",
            format!("{:.0} %", o.system_share * 100.0),
            n.map(|n| format!("{:.0} %", n.system_share * 100.0)),
            None,
        );
        row(
            "peak RSS (VmHWM)",
            mib(o.peak_rss_kib as f64 * 1024.0),
            n.map(|n| mib(n.peak_rss_kib as f64 * 1024.0)),
            n.map(|n| ratio(n.peak_rss_kib as f64, o.peak_rss_kib as f64)),
        );
        row(
            "deployed size (binary / code + node_modules)",
            mib(size_o.unpacked as f64),
            size_n.map(|s| mib(s.unpacked as f64)),
            size_n.map(|s| ratio(s.unpacked as f64, size_o.unpacked as f64)),
        );
        row(
            "zip",
            mib(size_o.zipped as f64),
            size_n.map(|s| mib(s.zipped as f64)),
            size_n.map(|s| ratio(s.zipped as f64, size_o.zipped as f64)),
        );
    }
    writeln!(out, "\n### Per route (warm)\n").unwrap();
    writeln!(
        out,
        "| function | route / event | n | p50 ours | p50 Node | p99 ours | p99 Node | CPU ours | CPU Node | CPU Node ÷ ours | AWS req ours / Node | GitHub req ours / Node |"
    )
    .unwrap();
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for o in ours.runs.iter() {
        for r in &o.routes {
            let n = node.and_then(|s| {
                s.runs
                    .iter()
                    .find(|x| x.function == o.function)
                    .and_then(|run| run.routes.iter().find(|x| x.name == r.name))
            });
            let opt_ms = |f: fn(&Route) -> Duration| n.map(|n| ms(f(n))).unwrap_or_else(dash);
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {:.0} µs | {} | {} | {} / {} | {} / {} |",
                o.function,
                r.name,
                r.samples.len(),
                ms(r.p50()),
                opt_ms(Route::p50),
                ms(r.p99()),
                opt_ms(Route::p99),
                r.cpu_us(),
                n.map(|n| format!("{:.0} µs", n.cpu_us())).unwrap_or_else(dash),
                n.map(|n| ratio(n.cpu_us(), r.cpu_us())).unwrap_or_else(dash),
                counts(Some(r), Route::dynamo),
                counts(n, Route::dynamo),
                counts(Some(r), Route::github),
                counts(n, Route::github),
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "\n### AWS operations per route (ours: DynamoDB, and EventBridge and S3 where forwarded)\n"
    )
    .unwrap();
    for o in &ours.runs {
        for r in &o.routes {
            let per: Vec<String> = r
                .ops
                .iter()
                .map(|(op, c)| format!("{op} {:.2}", *c as f64 / r.samples.len().max(1) as f64))
                .collect();
            writeln!(out, "- {} / {}: {}", o.function, r.name, per.join(", ")).unwrap();
        }
    }
    out
}
