//! `scripts/bench`: runs the release function binaries as Lambda does (each
//! in its own process, driven through the Lambda Runtime API emulator)
//! against moto behind a request-counting proxy and the GitHub simulator,
//! then the Node.js equivalent in bench/node over the same events, and
//! prints ours beside Node's.
//!
//! Usage: bench [--iterations N] [--only ours] [--no-build] [--markdown FILE]
//!        [--debug: the debug binaries, for a quick check of the harness itself]
//!        [--function NAME …: only these (token-vending brings oauth-callback,
//!         which connects the user it needs); the race runs with token-vending;
//!         webhook-forwarding is the webhook publishing every delivery, ours only]
//!        [--wrap "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"]
//!        [--binaries DIR: our function binaries from DIR rather than
//!         target/release, e.g. a frame-pointer build for scripts/profile]

mod container;
mod driver;
mod events;
mod infra;
mod report;
mod workload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use container::Launch;
use infra::Infra;
use report::{Side, Sizes};
use workload::{Implementation, FUNCTIONS};

struct Args {
    iterations: usize,
    node: bool,
    build: bool,
    markdown: Option<PathBuf>,
    wrap: Vec<String>,
    profile: &'static str,
    binaries: Option<PathBuf>,
    functions: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        iterations: 200,
        node: true,
        build: true,
        markdown: None,
        wrap: Vec::new(),
        profile: "release",
        binaries: None,
        functions: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--iterations" => a.iterations = it.next().and_then(|v| v.parse().ok()).expect("--iterations N"),
            "--only" => a.node = it.next().as_deref() != Some("ours"),
            "--no-build" => a.build = false,
            "--debug" => a.profile = "debug",
            "--function" => a.functions.push(it.next().expect("--function NAME")),
            "--markdown" => a.markdown = it.next().map(PathBuf::from),
            "--binaries" => a.binaries = Some(PathBuf::from(it.next().expect("--binaries DIR"))),
            "--wrap" => {
                a.wrap = it
                    .next()
                    .expect("--wrap CMD")
                    .split_whitespace()
                    .map(String::from)
                    .collect()
            }
            other => panic!("unknown argument {other}; see the comment at the top of dev/bench/src/main.rs"),
        }
    }
    a
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The zip Lambda would get: the binary as `bootstrap` (ours), or the
/// handler files with their node_modules (Node).
fn zip_size(dir: &Path, name: &str, inputs: &[&str]) -> u64 {
    let zip = std::env::temp_dir().join(format!("bench-{name}.zip"));
    let _ = std::fs::remove_file(&zip);
    run(Command::new("zip")
        .current_dir(dir)
        .args(["-q", "-r", "-9"])
        .arg(&zip)
        .args(inputs));
    file_size(&zip)
}

fn ours(infra: &Infra, wrap: &[String], binaries: &Path) -> (Implementation, Vec<(&'static str, Sizes)>) {
    let mut launches = HashMap::new();
    let mut sizes = Vec::new();
    for f in FUNCTIONS {
        let binary = binaries.join(f);
        let dir = std::env::temp_dir().join(format!("bench-ours-{f}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&binary, dir.join("bootstrap"))
            .unwrap_or_else(|e| panic!("{}: {e} (build it: run without --no-build)", binary.display()));
        sizes.push((
            f,
            Sizes {
                unpacked: file_size(&binary),
                zipped: zip_size(&dir, &format!("ours-{f}"), &["bootstrap"]),
            },
        ));
        let mut command: Vec<String> = wrap.to_vec();
        command.push(binary.display().to_string());
        launches.insert(
            f,
            Launch {
                program: command[0].clone(),
                args: command[1..].to_vec(),
                env: infra.lambda_env(f, "broker-ours"),
            },
        );
    }
    (
        Implementation {
            name: "ours",
            table: "broker-ours",
            launches,
        },
        sizes,
    )
}

fn node(root: &Path, infra: &Infra) -> (Implementation, Vec<(&'static str, Sizes)>) {
    let dir = root.join("bench/node");
    let du = |p: &Path| -> u64 {
        let out = Command::new("du").arg("-sb").arg(p).output().expect("du");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let mut launches = HashMap::new();
    let mut sizes = Vec::new();
    for f in FUNCTIONS {
        let handler = format!("{f}.mjs");
        let unpacked = du(&dir.join("node_modules")) + du(&dir.join("lib")) + file_size(&dir.join(&handler));
        let zipped = zip_size(
            &dir,
            &format!("node-{f}"),
            &[&handler, "lib", "runtime.mjs", "node_modules"],
        );
        sizes.push((f, Sizes { unpacked, zipped }));
        launches.insert(
            f,
            Launch {
                program: "node".into(),
                args: vec![dir.join("runtime.mjs").display().to_string(), f.to_owned()],
                env: infra.lambda_env(f, "broker-node"),
            },
        );
    }
    (
        Implementation {
            name: "node",
            table: "broker-node",
            launches,
        },
        sizes,
    )
}

#[tokio::main]
async fn main() {
    let args = args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    if args.build {
        eprintln!("building the release binaries …");
        let mut cargo = Command::new("cargo");
        cargo.current_dir(&root).arg("build");
        if args.profile == "release" {
            cargo.arg("--release");
        }
        run(cargo.args(["-p", "oauth-callback", "-p", "token-vending", "-p", "webhook"]));
    }
    let infra = Infra::start(&root).await;
    infra.create_table("broker-ours").await;
    infra.create_table("broker-node").await;
    let world = workload::build_world(&infra);
    let binaries = args
        .binaries
        .clone()
        .unwrap_or_else(|| root.join("target").join(args.profile));
    let (ours_imp, ours_sizes) = ours(&infra, &args.wrap, &binaries);
    let (node_imp, node_sizes) = match args.node.then(|| node(&root, &infra)) {
        Some((imp, sizes)) => (Some(imp), Some(sizes)),
        None => (None, None),
    };
    let mut sides: Vec<(&Implementation, Vec<driver::FunctionRun>)> = vec![(&ours_imp, Vec::new())];
    if let Some(imp) = &node_imp {
        sides.push((imp, Vec::new()));
    }
    let n = args.iterations;
    // Function by function, ours then Node's, so both see the same machine load.
    let wanted = |f: &str| {
        let asked = |g: &str| args.functions.is_empty() || args.functions.iter().any(|a| a == g);
        asked(f) || (f == "oauth-callback" && asked("token-vending"))
    };
    for (step, function) in FUNCTIONS.iter().enumerate().filter(|(_, f)| wanted(f)) {
        for (imp, runs) in sides.iter_mut() {
            eprintln!("{}: {function} …", imp.name);
            runs.push(match step {
                0 => workload::oauth(&infra, imp, n).await,
                1 => workload::vending(&infra, imp, &world, n).await,
                _ => workload::webhooks(&infra, imp, &world, &root, n).await,
            });
        }
    }
    // Forwarded deliveries: ours only (the Node handler publishes nothing).
    if wanted("webhook-forwarding") {
        let mut launch = ours_imp.launches["webhook"].clone();
        launch.env.extend(infra.event_bus("bench-github").await);
        let forwarding = Implementation {
            name: ours_imp.name,
            table: ours_imp.table,
            launches: HashMap::from([("webhook-forwarding", launch)]),
        };
        eprintln!("ours: webhook-forwarding …");
        let run = workload::forwarding(&infra, &forwarding, &world, &root, n).await;
        sides[0].1.push(run);
    }
    let mut races = Vec::new();
    for (imp, _) in &sides {
        if wanted("token-vending") {
            eprintln!("{}: 1000 vends over 4 containers …", imp.name);
            races.push(Some(workload::race(&infra, imp, &world, 4, 1000).await));
        } else {
            races.push(None);
        }
    }
    let mut sides = sides.into_iter().zip(races);
    let (ours_runs, ours_race) = sides.next().map(|((_, r), m)| (r, m)).unwrap();
    let ours = Side {
        runs: ours_runs,
        sizes: ours_sizes,
        race_mints: ours_race,
    };
    let node = sides.next().map(|((_, runs), m)| Side {
        runs,
        sizes: node_sizes.unwrap_or_default(),
        race_mints: m,
    });
    let mut text = report::markdown(&ours, node.as_ref());
    text.push_str(&targets::check(&ours, node.as_ref()));
    println!("{text}");
    if let Some(path) = args.markdown {
        std::fs::write(path, &text).expect("write the report");
    }
}

mod targets;
