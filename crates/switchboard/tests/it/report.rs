//! `switchboard report` as a user runs it: JSON and CSV on a fresh database, and bad input that
//! must fail cleanly (exit 1 with a message, never a panic). The report numbers are checked on
//! both backends by sb-store's conformance suite.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard")).args(args).env("SWITCHBOARD_LOG", "warn").output().expect("the binary starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh SQLite database URL under cargo's per-target temp dir.
fn database(name: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("switchboard-report");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}

#[test]
fn reports_print_json_and_csv() {
    let db = database("reports.db");
    let output = switchboard(&["report", "realtime", "--db", &db, "--tz", "Europe/Berlin"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((document["report"].as_str(), document["time_zone"].as_str()), (Some("realtime"), Some("Europe/Berlin")));
    assert_eq!(document["rows"][0]["n_open"], 0);

    let output = switchboard(&["report", "sla", "--db", &db, "--from", "2026-03-28", "--to", "2026-03-30", "--tz", "Europe/Berlin", "--period", "day", "--by", "category"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((document["from"].as_str(), document["to"].as_str(), document["period"].as_str()), (Some("2026-03-28T00:00:00+01:00"), Some("2026-03-31T00:00:00+02:00"), Some("day")));
    assert_eq!(document["rows"], Value::Array(Vec::new()));

    let output = switchboard(&["report", "cost", "--db", &db, "--from", "2026-03-01", "--to", "2026-03-02", "--period", "day", "--format", "csv"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "period_start,provider,model,currency,n_calls,prompt_tokens,completion_tokens,cost_micros,n_tickets,n_tickets_with_llm,cost_per_ticket_micros\n\
         2026-03-01T00:00:00+00:00,,,,0,0,0,0,0,0,\n\
         2026-03-02T00:00:00+00:00,,,,0,0,0,0,0,0,\n"
    );
}

/// Arguments, then what stderr must say.
const BAD_INPUT: &[(&[&str], &str)] = &[
    (&["report", "nonsense"], "unknown report `nonsense`: use one of pending, customer, realtime, sla, categories, agents, cost, automation"),
    (&["report", "sla", "--tz", "Mars/Olympus"], "unknown time zone `Mars/Olympus`"),
    (&["report", "sla", "--from", "2026-03-29T02:30", "--tz", "Europe/Berlin"], "does not exist in Europe/Berlin"),
    (&["report", "sla", "--by", "colour"], "unknown breakdown `colour`"),
    (&["report", "agents", "--by", "category"], "--by applies to the sla report only"),
    (&["report", "customer"], "--customer ID is needed by the customer report"),
    (&["report", "customer", "--customer", "999999"], "customer 999999 not found"),
    (&["report", "pending", "--limit", "0"], "--limit 0 is outside 1 to 1000"),
];

#[test]
fn bad_report_input_fails_cleanly() {
    let db = database("bad-input.db");
    for (args, expected) in BAD_INPUT {
        let mut args = args.to_vec();
        args.extend(["--db", db.as_str()]);
        let output = switchboard(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: exit code (a panic exits 101); stderr: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?}: stderr lacks `{expected}`: {}", stderr(&output));
    }
}
