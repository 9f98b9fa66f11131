//! The report endpoints over HTTP: parameter errors with their stable codes, JSON envelopes,
//! CSV exports (header, quoting, attachment name) and personal data in the customer 360. The
//! numbers themselves are checked on both backends by sb-store's conformance suite.

use axum::http::StatusCode;
use chrono::Utc;
use sb_domain::Channel;
use sb_store::{NewCustomer, NewInbound, Role};

use crate::support::{Credential, TestServer};

/// Path and query, then the status and error code expected (`-` for a success).
const PARAMETER_CASES: &str = "
/api/v1/reports/sla?from=yesterday                                   400 invalid_date
/api/v1/reports/sla?from=2026-03-29T02:30&tz=Europe/Berlin           400 invalid_date
/api/v1/reports/sla?from=2026-03-02&to=2026-03-01                    400 invalid_range
/api/v1/reports/sla?tz=Mars/Olympus                                  400 invalid_time_zone
/api/v1/reports/realtime?tz=Mars/Olympus                             400 invalid_time_zone
/api/v1/reports/categories?period=fortnight                          400 invalid_period
/api/v1/reports/agents?from=2026-01-01&to=2026-12-31&period=hour     400 too_many_periods
/api/v1/reports/sla?by=colour                                        400 invalid_dimension
/api/v1/reports/cost?format=xml                                      400 invalid_format
/api/v1/reports/automation?colour=red                                400 invalid_parameter
/api/v1/reports/pending?limit=0                                      400 invalid_parameter
/api/v1/reports/pending?limit=ten                                    400 invalid_parameter
/api/v1/reports/sla?by=channel&period=day&tz=Asia/Kathmandu          200 -
/api/v1/reports/customers/999999                                     404 not_found
/api/v1/reports/customers/abc                                        422 invalid_path
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_parameters_answer_400_with_a_stable_code() {
    let server = TestServer::new().await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let mut mismatches = Vec::new();
    for line in PARAMETER_CASES.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (path, status, code) = (words[0], words[1].parse::<u16>().unwrap(), words[2]);
        let answer = server.get(path, &admin).await;
        let answered_code = answer.body["error"]["code"].as_str().unwrap_or("-");
        if answer.status.as_u16() != status || answered_code != code {
            mismatches.push(format!("{path}: expected {status} {code}, got {answer:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_answer_json_with_their_window_and_notes() {
    let server = TestServer::new().await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;
    let (ticket_id, _) = server.ticket("Where is my order A10493?").await;
    server.ticket("Where is my order A10494?").await;

    let answer = server.get("/api/v1/reports/sla?by=priority&tz=Europe/Berlin", &supervisor).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["report"], "sla");
    assert_eq!(answer.body["time_zone"], "Europe/Berlin");
    assert!(answer.body["notes"].as_array().is_some_and(|notes| !notes.is_empty()));
    let rows = answer.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["key"].as_str(), rows[0]["n_tickets"].as_i64(), rows[0]["first_response_running"].as_i64()), (Some("p25_49"), Some(2), Some(2)));

    let pending = server.get("/api/v1/reports/pending", &supervisor).await;
    let first = &pending.body["rows"][0];
    assert_eq!((first["ticket_id"].as_i64(), first["sla_state"].as_str()), (Some(ticket_id), Some("on_track")), "{pending:?}");
    let realtime = server.get("/api/v1/reports/realtime", &supervisor).await;
    assert_eq!((realtime.body["rows"][0]["n_open"].as_i64(), realtime.body["rows"][0]["n_queue_human"].as_i64()), (Some(2), Some(2)), "{realtime:?}");
    let cost = server.get("/api/v1/reports/cost", &supervisor).await;
    assert_eq!((cost.body["rows"][0]["n_tickets"].as_i64(), cost.body["rows"][0]["cost_micros"].as_i64()), (Some(2), Some(0)), "{cost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_export_csv_with_a_header_and_rfc_4180_quoting() {
    let server = TestServer::new().await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let inbound = NewInbound {
        channel: Channel::Email,
        external_id: Some("csv-1".into()),
        conversation_key: None,
        ticket_id: None,
        subject: Some("Refund, \"urgent\"\nplease".into()),
        body: "I want my money back".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"I want my money back".to_vec(),
        metadata: None,
        customer: NewCustomer { email: Some("csv@example.com".into()), ..NewCustomer::default() },
        received_at: Utc::now(),
        claim: None,
    };
    let ingested = server.service.store().ingest(&inbound).await.unwrap();
    let customer_id = ingested.customer_id.unwrap();

    let answer = server.get(&format!("/api/v1/reports/customers/{customer_id}?format=csv"), &admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(answer.headers["content-disposition"], "attachment; filename=\"customer.csv\"");
    let mut lines = answer.text.split_inclusive('\n');
    assert_eq!(lines.next(), Some("ticket_id,created_at,channel,status,category,intent,priority,sentiment,subject,resolved_at\n"));
    let row: String = lines.collect();
    assert!(row.starts_with(&format!("{},", ingested.ticket_id)) && row.contains(",email,new,,,0,,\"Refund, \"\"urgent\"\"\nplease\",\n"), "{row}");

    // An empty report still has its header.
    let empty = server.get("/api/v1/reports/agents?format=csv", &admin).await;
    assert_eq!(empty.text, "period_start,user_id,name,n_assigned,n_resolved,n_sla_breached,n_replies,n_tickets_handled,avg_first_response_seconds,avg_resolution_seconds,n_csat,avg_csat\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_360_withholds_personal_data_without_pii_permission() {
    let server = TestServer::new().await;
    let (_, customer_id) = server.ticket("Call me on +1 415 555 0101 about order A10493").await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;

    let seen = server.get(&format!("/api/v1/reports/customers/{customer_id}"), &admin).await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
    assert!(seen.body["customer"]["email"].as_str().is_some_and(|email| email.ends_with("@example.com")), "{seen:?}");
    assert_eq!(seen.body["tickets"][0]["subject"], "About my order");

    let withheld = server.get(&format!("/api/v1/reports/customers/{customer_id}"), &viewer).await;
    assert_eq!(withheld.status, StatusCode::OK, "{withheld:?}");
    assert_eq!(withheld.body["customer"]["email"], "[withheld]");
    assert_eq!(withheld.body["customer"]["redacted"], true);
    assert_eq!(withheld.body["n_tickets"], 1);

    // Agents see the customer 360 but not the supervisor's reports.
    let agent = server.log_in(server.user(Role::Agent).await).await;
    assert_eq!(server.get(&format!("/api/v1/reports/customers/{customer_id}"), &agent).await.status, StatusCode::OK);
    assert_eq!(server.get("/api/v1/reports/sla", &agent).await.status, StatusCode::FORBIDDEN);
    assert_eq!(server.get("/api/v1/reports/sla", &Credential::None).await.status, StatusCode::UNAUTHORIZED);
}
