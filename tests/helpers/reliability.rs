//! Figures for RELIABILITY.md. A suite that tries something many times
//! records what it tried, how many times, and how many held; the record is
//! written before the suite asserts, so a failing run still shows its
//! figures. Nothing is written unless `RELIABILITY_OUT` names a file
//! (`scripts/reliability` sets it); records are JSON lines, appended, so
//! several test threads and processes can share the file.

use std::io::Write;

use serde_json::json;

/// One row of the table: `area` groups rows (Faults, Races, Hostile input,
/// Secret hygiene, ...), `case` says what was tried, `held` how many of the
/// `tried` attempts ended as they must, `expectation` what "held" means.
pub fn record(area: &str, case: &str, tried: u64, held: u64, expectation: &str) {
    let Ok(path) = std::env::var("RELIABILITY_OUT") else {
        return;
    };
    let line = json!({
        "area": area,
        "case": case,
        "tried": tried,
        "held": held,
        "expectation": expectation,
        "source": "integration tests",
    });
    // One write of one line with O_APPEND: lines from concurrent writers
    // do not interleave.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("RELIABILITY_OUT {path}: {e}"));
    file.write_all(format!("{line}\n").as_bytes()).unwrap();
}

/// Records `tried` attempts of which `failures` did not hold, then fails
/// the test with every failure if there was any: the usual end of a test
/// that tries a table of cases.
pub fn record_cases(area: &str, case: &str, tried: u64, failures: &[String], expectation: &str) {
    record(area, case, tried, tried - failures.len() as u64, expectation);
    assert!(
        failures.is_empty(),
        "{} of {tried} did not hold:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
