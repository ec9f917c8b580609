//! End to end, as a person would do it: `broker-local` (the real binary,
//! with its embedded store and the GitHub simulator) driven by headless
//! Chromium through the walkthrough page: sign in, connect GitHub, install
//! the app on an organisation and on a personal account, attach one
//! installation to two teams, vend a token for each team, uninstall on
//! (simulated) GitHub and see the links disappear, and watch GitHub's
//! events arrive for the platform. A screenshot is taken at
//! every step into `target/tmp/e2e-screenshots/`.
//!
//! And over plain HTTP, as the platform's backend and an operator call it:
//! a suspension GitHub's webhook never brought, repaired on
//! `POST /internal/reconcile`, and an installation whose webhook was lost,
//! recorded by the runner's reconcile timer with the key pair of a `.env`.
//!
//! `browser.rs` holds the walk, `reconcile.rs` the HTTP tests; what both
//! need (a port, a runner process) is here.

mod browser;
mod reconcile;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `reset`: start from an empty store (`--reset`); otherwise keep the one
/// a previous run left, as a restart does.
fn start_broker(port: u16, sim_port: u16, data_dir: &std::path::Path, reset: bool) -> Process {
    let port = port.to_string();
    let sim_port = sim_port.to_string();
    let mut args = vec!["--port", &port, "--github-sim-port", &sim_port];
    if reset {
        args.push("--reset");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_broker-local"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        // No scheduled run: the tests ask for each run they expect.
        .env("RECONCILE_MINUTES", "0");
    launch(&mut command).0
}

/// Starts broker-local as `command` says and waits for its first line;
/// every line it prints (that one too) arrives on the receiver, which may
/// be dropped: its output is drained either way, so it never blocks on a
/// full pipe.
fn launch(command: &mut Command) -> (Process, Receiver<String>) {
    let mut child = command.stdout(Stdio::piped()).spawn().expect("broker-local starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("broker-local prints its address").unwrap();
    assert!(first.contains("gh-app-broker is running"), "{first}");
    let (tx, rx) = channel();
    let _ = tx.send(first);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Process(child), rx)
}
