//! Starting moto's server, the DynamoDB and Secrets Manager endpoint that
//! the proxy usually stands in front of: the one way the tests and the
//! benchmark harness launch it. moto comes from the venv `scripts/test-tools`
//! fills.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts moto on `127.0.0.1:port` from `root`'s venv, through
/// `moto-server.py` beside this crate (one request at a time, as DynamoDB's
/// per-item atomicity needs; the script says why). It gets
/// PR_SET_PDEATHSIG: it is stopped when the *thread* that called this ends,
/// so call it from a thread that lives as long as moto should.
pub fn spawn(root: &Path, port: u16) -> std::io::Result<Child> {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err(std::io::Error::other(
            "moto is not installed: run scripts/test-tools (or scripts/test)",
        ));
    }
    Command::new(python)
        .arg(root.join("dev/dynamo-proxy/moto-server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// A free port on localhost, for [`spawn`].
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Waits (up to a minute) until the server at `endpoint` answers HTTP, not
/// just accepts connections: moto listens before its routes are loaded.
pub fn wait_until_up(endpoint: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = endpoint.trim_start_matches("http://").to_owned();
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut answer = [0u8; 12];
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && answer.starts_with(b"HTTP/1.")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("moto server did not come up at {endpoint}"))
}

/// moto on a free port for as long as this process lives, up and answering
/// when this returns its endpoint: what a test binary wants. It is spawned
/// from a thread parked for good, so that PR_SET_PDEATHSIG stops it when
/// the process ends and not before.
pub fn start_for_process(root: &Path) -> Result<String, String> {
    let root = root.to_owned();
    let port = free_port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(spawn(&root, port).map(drop).map_err(|e| e.to_string()));
        loop {
            std::thread::park();
        }
    });
    rx.recv().map_err(|e| e.to_string())??;
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_up(&endpoint)?;
    Ok(endpoint)
}
