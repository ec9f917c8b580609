//! One moto server per test binary: the DynamoDB and Secrets Manager
//! endpoint every test talks to over HTTP. It is started from the venv that
//! `scripts/test-tools` fills, on a free port, and dies with the test binary.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// `BROKER_TEST_AWS_ENDPOINT` points the tests at an already running server.
pub fn endpoint() -> String {
    ENDPOINT
        .get_or_init(|| std::env::var("BROKER_TEST_AWS_ENDPOINT").unwrap_or_else(|_| start()))
        .clone()
}

fn start() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "moto is not installed: run scripts/test-tools (or scripts/test)"
    );
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    // The server is started from a thread that lives as long as the test
    // binary, with PR_SET_PDEATHSIG: when the binary exits, moto does too.
    std::thread::spawn(move || {
        let script = "import ctypes, signal, sys\n\
                      ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n\
                      from moto.server import main\n\
                      main(sys.argv[1:])";
        let child = Command::new(python)
            .args(["-c", script, "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        tx.send(child.map(|_| ())).unwrap();
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap().expect("moto server starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_up(&endpoint);
    endpoint
}

fn wait_until_up(endpoint: &str) {
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
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto server did not come up at {endpoint}");
}
