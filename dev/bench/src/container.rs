//! One Lambda container: a function process started as Lambda starts it
//! (its environment, `AWS_LAMBDA_RUNTIME_API`), driven by its own Runtime
//! API emulator, and measured from outside through /proc.

use std::process::Stdio;
use std::time::{Duration, Instant};

use lambda_emulator::{Emulator, Invocation, Options};
use serde_json::Value;
use tokio::process::{Child, Command};

pub struct Container {
    pub emulator: Emulator,
    child: Child,
    pid: u32,
    /// Process spawn → the runtime's first `next`.
    pub init: Duration,
}

/// The command that runs one function: program, arguments, and an optional
/// prefix (e.g. `valgrind --tool=callgrind`) for profiling.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Container {
    pub async fn start(name: &str, launch: &Launch) -> Result<Container, String> {
        let emulator = Emulator::start_with(Options {
            function_name: name.to_owned(),
            timeout: Duration::from_secs(30),
        })
        .await
        .map_err(|e| e.to_string())?;
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
            .stdin(Stdio::null())
            // The functions' logs would only slow the run; BENCH_LOGS=1 shows them.
            .stdout(logs())
            .stderr(logs())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = command.spawn().map_err(|e| format!("{}: {e}", launch.program))?;
        let pid = child.id().ok_or("no pid")?;
        let first = tokio::select! {
            first = emulator.wait_first_next(Duration::from_secs(120)) => first,
            status = child.wait() => return Err(format!("{name} exited during init: {status:?}")),
        };
        let first = first.ok_or_else(|| format!("{name} never asked for an event"))?;
        Ok(Container {
            emulator,
            child,
            pid,
            init: first - spawned,
        })
    }

    pub async fn invoke(&self, event: Value) -> Invocation {
        match self.emulator.invoke_timed(event).await {
            Ok(i) => i,
            Err(e) => panic!("invocation failed: {e}"),
        }
    }

    /// CPU time of the process's live threads so far, to the nanosecond
    /// (the scheduler's own account, `/proc/<pid>/task/*/schedstat`), where
    /// utime and stime come in 10 ms ticks: one invocation costs well under
    /// a tick, so tick counts only average out over many runs. Falls back
    /// to the ticks where schedstat is missing.
    pub fn cpu(&self) -> Duration {
        // A thread that ends between listing and reading is skipped.
        let on_cpu: u64 = std::fs::read_dir(format!("/proc/{}/task", self.pid))
            .into_iter()
            .flatten()
            .filter_map(|task| {
                let path = task.ok()?.path().join("schedstat");
                std::fs::read_to_string(path)
                    .ok()?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        if on_cpu > 0 {
            return Duration::from_nanos(on_cpu);
        }
        let (user, system) = self.cpu_split();
        user + system
    }

    /// User and system CPU time of the whole process (all threads) so far.
    pub fn cpu_split(&self) -> (Duration, Duration) {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
        let time = |t: u64| Duration::from_micros(t * 1_000_000 / clock_ticks());
        (time(ticks(11)), time(ticks(12)))
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM first, so a profiling wrapper (`--wrap`: valgrind, strace)
    /// writes its report; SIGKILL if the process is still there after 10 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
    }
}

fn logs() -> Stdio {
    if std::env::var_os("BENCH_LOGS").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// USER_HZ: the unit of utime and stime (100 on Linux everywhere in practice).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100)
    })
}
