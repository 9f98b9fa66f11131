//! `GET /api/v1/sla/policies`: the policies the service runs with — the defaults, or the
//! configured ones — with what they match, their targets and their calendars, rendered one
//! line per policy and compared with the expected text.

use expect_test::{expect, Expect};
use sb_policy::sla::SlaPolicy;
use sb_service::ServiceConfig;
use sb_store::{Role, Scope};
use serde_json::{json, Value};

use crate::support::{Credential, TestServer};

fn render(policies: &Value) -> String {
    let mut lines = Vec::new();
    for policy in policies["policies"].as_array().unwrap() {
        let matches: Vec<String> = policy["matches"].as_object().unwrap().iter().filter(|(_, value)| !value.is_null()).map(|(key, value)| format!("{key}={value}")).collect();
        let calendar = &policy["calendar"];
        let calendar_text = match calendar["kind"].as_str().unwrap() {
            "business_hours" => {
                let weekly_hours = &calendar["weekly_hours"];
                let days: Vec<String> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
                    .iter()
                    .filter(|day| weekly_hours[**day].as_array().is_some_and(|spans| !spans.is_empty()))
                    .map(|day| format!("{day} {}", weekly_hours[*day]))
                    .collect();
                format!("business_hours {} [{}] holidays {}", calendar["time_zone"].as_str().unwrap(), days.join(", "), calendar["holidays"])
            }
            kind => kind.to_string(),
        };
        lines.push(format!(
            "{}: [{}] first response {} ({}s), resolution {} ({}s), {calendar_text}",
            policy["name"].as_str().unwrap(),
            matches.join(" "),
            policy["first_response"].as_str().unwrap(),
            policy["first_response_seconds"],
            policy["resolution"].as_str().unwrap(),
            policy["resolution_seconds"],
        ));
    }
    lines.join("\n")
}

async fn check(server: &TestServer, credential: &Credential, expect: Expect) {
    let answer = server.get("/api/v1/sla/policies", credential).await;
    assert_eq!(answer.status.as_u16(), 200, "{answer:?}");
    expect.assert_eq(&render(&answer.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_policies_are_listed_with_targets_and_calendars() {
    let server = TestServer::new().await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;
    check(
        &server,
        &viewer,
        expect![[r#"
            safety urgent: [category="safety_compliance" severity="urgent"] first response 15m (900s), resolution 4h (14400s), always_open
            safety high: [category="safety_compliance" severity="high"] first response 2h (7200s), resolution 24h (86400s), always_open
            safety standard: [category="safety_compliance" severity="standard"] first response 24h (86400s), resolution 168h (604800s), always_open
            safety, severity unknown: [category="safety_compliance"] first response 2h (7200s), resolution 24h (86400s), always_open
            high priority: [priority={"max":100,"min":10}] first response 2h (7200s), resolution 16h (57600s), business_hours UTC [monday ["09:00-17:00"], tuesday ["09:00-17:00"], wednesday ["09:00-17:00"], thursday ["09:00-17:00"], friday ["09:00-17:00"]] holidays []
            standard: [] first response 4h (14400s), resolution 24h (86400s), business_hours UTC [monday ["09:00-17:00"], tuesday ["09:00-17:00"], wednesday ["09:00-17:00"], thursday ["09:00-17:00"], friday ["09:00-17:00"]] holidays []"#]],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_policies_are_listed_in_their_order() {
    // As an admin writes them in `[[sla_policies]]` (here as JSON, the same serde shape).
    let sla_policies: Vec<SlaPolicy> = serde_json::from_value(json!([
        {"name": "refunds", "matches": {"intent": "return_refund"}, "first_response": "1h30m", "resolution": "8h",
         "calendar": {"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {"monday": ["08:00-12:00", "13:00-18:00"], "saturday": ["10:00-14:00"]}, "holidays": ["2026-12-25", "2026-12-24"]}},
        {"name": "everything else", "first_response": "4h", "resolution": "24h", "calendar": {"kind": "always_open"}},
    ]))
    .unwrap();
    let server = TestServer::with_service_config(ServiceConfig { sla_policies, ..ServiceConfig::new(Default::default()) }).await;
    let read_token = server.token(&[Scope::Read]).await;
    check(
        &server,
        &read_token,
        expect![[r#"
            refunds: [intent="return_refund"] first response 1h30m (5400s), resolution 8h (28800s), business_hours Europe/Berlin [monday ["08:00-12:00","13:00-18:00"], saturday ["10:00-14:00"]] holidays ["2026-12-24","2026-12-25"]
            everything else: [] first response 4h (14400s), resolution 24h (86400s), always_open"#]],
    )
    .await;
    let ingest_token = server.token(&[Scope::Ingest]).await;
    let refused = server.get("/api/v1/sla/policies", &ingest_token).await;
    assert_eq!((refused.status.as_u16(), refused.body["error"]["code"].as_str()), (403, Some("forbidden")), "{refused:?}");
}
