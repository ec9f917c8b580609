//! `brokerctl`: the command line of gh-app-broker (see `brokerctl --help`).
//!
//! Exit codes: 0 success; 1 any other failure (a stack lookup included); 2 usage (clap's, and
//! nowhere to send the request or no local IAM pair); 3 auth (Forbidden,
//! no credentials or JWT, 401, 403); 4 not found (404); 5 conflict or
//! invalid (409, 400, 405, 413, 422); 6 rate-limited or unavailable (429,
//! 502, 503, 504) or no answer at all.

mod args;
mod commands;
mod error;
mod output;
mod target;

use std::process::ExitCode;

use clap::Parser;
pub use error::CliError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(&cli).await {
        Ok(printed) => {
            if !printed.stdout.is_empty() {
                println!("{}", printed.stdout);
            }
            if let Some(note) = printed.note {
                eprintln!("{note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("brokerctl: error: {}", e.message());
            ExitCode::from(e.exit_code())
        }
    }
}
