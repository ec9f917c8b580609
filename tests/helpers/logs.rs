//! Captures every log line the broker writes during a test, at the most
//! verbose level and in the production JSON format, so tests can scan them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Captures logs on this thread (use a current-thread runtime so that
    /// every task of the test runs here) until the guard drops.
    pub fn start() -> (Self, DefaultGuard) {
        let capture = Self::default();
        let buffer = capture.buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Sink(buffer.clone()))
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}
