//! The workforce-management commands as a user runs them: `staff --json` on the published Erlang
//! case, `forecast` on a generated arrivals CSV, and bad input that must fail cleanly.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard")).args(args).env("SWITCHBOARD_LOG", "warn").output().expect("the binary starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_clean_failure(output: &Output, expected_in_stderr: &str) {
    assert_eq!(output.status.code(), Some(1), "exit code (a panic exits 101); stderr: {}", stderr(output));
    assert!(stderr(output).contains(expected_in_stderr), "stderr lacks `{expected_in_stderr}`: {}", stderr(output));
}

/// Three weeks of half-hourly arrivals with a daily and weekly pattern; 21 March 09:00 missing.
fn arrivals_csv(name: &str, extra_row: Option<&str>) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("switchboard-wfm");
    std::fs::create_dir_all(&dir).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 4).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let mut csv = String::from("interval_start,contacts\n");
    for idx in 0..21 * 48 {
        let timestamp = start + chrono::Duration::minutes(30 * idx as i64);
        if timestamp.to_string() == "2024-03-21 09:00:00" {
            continue;
        }
        let half_hour = idx % 48;
        let weekday = (idx / 48) % 7;
        let daytime = if (16..36).contains(&half_hour) { 30 } else { 2 };
        let count = if weekday >= 5 { daytime / 3 } else { daytime } + (idx * 7 % 5);
        csv.push_str(&format!("{},{count}\n", timestamp.format("%Y-%m-%dT%H:%M:%S")));
    }
    if let Some(row) = extra_row {
        csv.push_str(row);
        csv.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn staff_json_matches_the_published_erlang_c_case() {
    let output = switchboard(&["staff", "--calls", "100", "--interval", "30m", "--aht", "180s", "--target", "80/20s", "--shrinkage", "0.3", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((value["agents"].as_u64(), value["scheduled_agents"].as_u64()), (Some(14), Some(20)), "{value}");
    let rounded = |field: &str, decimals: i32| (value[field].as_f64().unwrap() * 10f64.powi(decimals)).round() / 10f64.powi(decimals);
    assert_eq!((rounded("service_level", 4), rounded("probability_wait", 4), rounded("asa_seconds", 2)), (0.8884, 0.1741, 7.84));
    assert!(value["occupancy"].as_f64().is_some() && value.get("probability_abandon").is_none(), "{value}");
}

#[test]
fn staff_json_with_patience_and_occupancy_cap() {
    let output = switchboard(&["staff", "--calls", "100", "--interval", "30m", "--aht", "3m", "--target", "80/20s", "--max-occupancy", "0.70", "--shrinkage", "0.3", "--patience", "5m", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((value["agents"].as_u64(), value["scheduled_agents"].as_u64()), (Some(15), Some(22)), "{value}");
    let abandon = value["probability_abandon"].as_f64().unwrap();
    assert!(abandon > 0.0 && abandon < 0.013984, "15 agents abandon less than the published 14-agent case: {value}");
}

#[test]
fn forecast_json_has_one_row_per_interval() {
    let path = arrivals_csv("arrivals.csv", None);
    let output = switchboard(&["forecast", "--arrivals", path.to_str().unwrap(), "--horizon", "96", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows.len(), 96);
    assert_eq!(rows[0]["timestamp"], "2024-03-25T00:00:00");
    assert_eq!(rows[95]["timestamp"], "2024-03-26T23:30:00");
    for row in &rows {
        let field = |name: &str| row[name].as_f64().unwrap_or_else(|| panic!("{name} missing in {row}"));
        assert!(field("lo95") <= field("lo80") && field("lo80") <= field("forecast") && field("forecast") <= field("hi80") && field("hi80") <= field("hi95"), "{row}");
    }
    // Monday 10:00 is daytime on a weekday: about 30 + noise.
    let monday_ten = rows[20]["forecast"].as_f64().unwrap();
    assert!((25.0..40.0).contains(&monday_ten), "{}", rows[20]);
}

#[test]
fn forecast_backtest_prints_every_method() {
    let path = arrivals_csv("arrivals-backtest.csv", None);
    let output = switchboard(&["forecast", "backtest", "--arrivals", path.to_str().unwrap(), "--horizon", "48", "--origins", "1", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let methods: Vec<&str> = report["scores"].as_array().unwrap().iter().map(|score| score["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["seasonal_naive", "mean_4w", "mstl", "profile", "auto"]);
}

#[test]
fn bad_input_fails_cleanly() {
    let bad_row = arrivals_csv("bad-row.csv", Some("2024-03-25T00:00:00,many"));
    let output = switchboard(&["forecast", "--arrivals", bad_row.to_str().unwrap(), "--format", "json"]);
    assert_clean_failure(&output, &format!("line {}: count `many` is not a non-negative number", 21 * 48 + 1));
    let output = switchboard(&["staff", "--calls", "100", "--interval", "30m", "--aht", "three minutes", "--target", "80/20s", "--json"]);
    assert_clean_failure(&output, "invalid --aht `three minutes`: give a positive duration such as 180s, 3m or 1h");
    let output = switchboard(&["staff", "--calls", "100", "--interval", "30m", "--aht", "180s", "--target", "80-20", "--json"]);
    assert_clean_failure(&output, "is not like 80/20s");
    let output = switchboard(&["forecast", "--arrivals", "/nonexistent/arrivals.csv"]);
    assert_clean_failure(&output, "cannot open /nonexistent/arrivals.csv");
}

/// `forecast --db`: the system's own arrivals. Three weeks of inbound messages, one every three
/// hours (eight a day), give a forecast of about one per hour-slot that holds one, and an
/// empty database fails saying what to give instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_from_the_databases_own_arrivals() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("arrivals.db").display());
    let empty = switchboard(&["forecast", "--db", &url, "--weeks", "3", "--format", "json"]);
    assert_clean_failure(&empty, "the database has no inbound messages in the last 3 weeks");

    let store = sb_store::Store::connect(&url, &sb_store::StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let hour = chrono::Utc::now().timestamp() / 3600 * 3600;
    for hours_back in (1..=21 * 24).filter(|hours_back| hours_back % 3 == 0) {
        let received_at = chrono::DateTime::from_timestamp(hour - hours_back * 3600 + 60, 0).unwrap();
        let message = sb_store::NewInbound {
            channel: sb_domain::Channel::Api,
            external_id: Some(format!("arrival-{hours_back}")),
            conversation_key: None,
            ticket_id: None,
            subject: None,
            body: "where is my order".into(),
            body_is_html: false,
            content_type: "application/json".into(),
            raw_payload: b"{}".to_vec(),
            metadata: None,
            customer: sb_store::NewCustomer::default(),
            received_at,
            claim: None,
        };
        store.ingest(&message).await.unwrap();
    }
    store.close().await;
    let output = switchboard(&["forecast", "--db", &url, "--weeks", "3", "--horizon", "24", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows.len(), 24);
    // Every third hour had one message, the others none: the forecast follows the pattern.
    let total: f64 = rows.iter().map(|row| row["forecast"].as_f64().unwrap()).sum();
    assert!((6.0..=10.0).contains(&total), "about eight messages a day: {total}");
}
