//! Admins change the auto-reply thresholds and SLA targets through the API: the change is in
//! force for the service at once (the next decision reads it), shows who made it, is refused
//! with every problem when the config loader would refuse it, is a 409 on a stale version,
//! is audited with the old and new value, and can be reset to the configuration. Supervisors
//! see the values but cannot change them.

use axum::http::Method;
use expect_test::expect;
use sb_domain::Intent;
use sb_store::Role;
use serde_json::{json, Value};

use crate::support::{Credential, TestServer};

async fn put(server: &TestServer, path: &str, credential: &Credential, body: Value) -> crate::support::Answer {
    server.request(Method::PUT, path, credential, Some(&body)).await
}

fn intent_row<'answer>(thresholds: &'answer Value, intent: &str) -> &'answer Value {
    thresholds["intents"].as_array().unwrap().iter().find(|row| row["intent"] == intent).unwrap()
}

/// One intent's row as one line: threshold in force, source, own setting, version, who.
fn render_intent(thresholds: &Value, intent: &str) -> String {
    let row = intent_row(thresholds, intent);
    let change = &row["last_change"];
    format!(
        "{intent}: {} ({}) current {} configured {} v{} overridden {} last change {}",
        row["auto_reply_confidence"],
        row["source"].as_str().unwrap(),
        row["current"],
        row["configured"],
        row["version"],
        row["overridden"],
        if change.is_null() { "none".to_string() } else { format!("v{} by {} reset {}", change["version"], change["changed_by_name"], change["reset"]) }
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_and_reset_thresholds_and_the_service_applies_them_at_once() {
    let server = TestServer::new().await;
    let admin_id = server.user(Role::Admin).await;
    let admin = server.log_in(admin_id).await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;
    let path = "/api/v1/policy/thresholds/track_order";

    let before = server.get("/api/v1/policy/thresholds", &supervisor).await;
    assert_eq!(before.status.as_u16(), 200, "{before:?}");
    expect![[r#"track_order: 0.85 (default) current {"auto_reply_confidence":null,"auto_reply_enabled":true} configured {"auto_reply_confidence":null,"auto_reply_enabled":true} v0 overridden false last change none"#]].assert_eq(&render_intent(&before.body, "track_order"));
    assert_eq!(intent_row(&before.body, "adverse_reaction")["editable"], json!(false));

    // A supervisor reads but may not change.
    let refused = put(&server, path, &supervisor, json!({"auto_reply_confidence": 0.95, "auto_reply_enabled": true, "expected_version": 0})).await;
    assert_eq!((refused.status.as_u16(), refused.body["error"]["code"].as_str()), (403, Some("forbidden")), "{refused:?}");

    let changed = put(&server, path, &admin, json!({"auto_reply_confidence": 0.95, "auto_reply_enabled": true, "expected_version": 0})).await;
    assert_eq!(changed.status.as_u16(), 200, "{changed:?}");
    expect![[r#"track_order: 0.95 (intent) current {"auto_reply_confidence":0.95,"auto_reply_enabled":true} configured {"auto_reply_confidence":null,"auto_reply_enabled":true} v1 overridden true last change v1 by "Test User" reset false"#]].assert_eq(&render_intent(&changed.body, "track_order"));
    // The next decision reads it: the service's policy is the new one, without a restart.
    assert_eq!(server.service.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.95);

    // Another admin's edit on the version both saw: a conflict, nothing changes.
    let stale = put(&server, path, &admin, json!({"auto_reply_confidence": 0.7, "auto_reply_enabled": true, "expected_version": 0})).await;
    assert_eq!((stale.status.as_u16(), stale.body["error"]["code"].as_str()), (409, Some("conflict")), "{stale:?}");
    assert_eq!(server.service.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.95);

    // What the config loader refuses, refused with every problem.
    let invalid = put(&server, path, &admin, json!({"auto_reply_confidence": 0.3, "auto_reply_enabled": true, "expected_version": 1})).await;
    assert_eq!((invalid.status.as_u16(), invalid.body["error"]["code"].as_str()), (422, Some("invalid_policy")), "{invalid:?}");
    expect![[r#"["auto_reply_confidence_by_intent.track_order (0.3) is below low_confidence_threshold (0.5)"]"#]].assert_eq(&invalid.body["error"]["problems"].to_string());
    let safety = put(&server, "/api/v1/policy/thresholds/adverse_reaction", &admin, json!({"auto_reply_confidence": 1.5, "auto_reply_enabled": true})).await;
    assert_eq!(safety.status.as_u16(), 422, "{safety:?}");
    expect![[r#"["adverse_reaction is a safety_compliance intent: it is never answered automatically","auto_reply_confidence_by_intent.adverse_reaction must be between 0 and 1, got 1.5","auto_reply_confidence_by_intent.adverse_reaction is set, but safety_compliance intents are never auto-replied"]"#]].assert_eq(&safety.body["error"]["problems"].to_string());
    let general = put(&server, "/api/v1/policy/thresholds", &admin, json!({"auto_reply_confidence_threshold": 0.4})).await;
    expect![[r#"422 ["auto_reply_confidence_threshold (0.4) is below low_confidence_threshold (0.5)"]"#]].assert_eq(&format!("{} {}", general.status.as_u16(), general.body["error"]["problems"]));
    let unknown = put(&server, "/api/v1/policy/thresholds/refund_please", &admin, json!({"auto_reply_confidence": 0.9, "auto_reply_enabled": true})).await;
    assert_eq!(unknown.status.as_u16(), 404, "{unknown:?}");
    let extra = put(&server, path, &admin, json!({"threshold": 0.9, "auto_reply_enabled": true})).await;
    assert_eq!((extra.status.as_u16(), extra.body["error"]["code"].as_str()), (422, Some("invalid_field")), "{extra:?}");

    // Disabled altogether, then the general threshold moves for the others.
    let disabled = put(&server, path, &admin, json!({"auto_reply_confidence": null, "auto_reply_enabled": false, "expected_version": 1})).await;
    expect![[r#"track_order: null (disabled) current {"auto_reply_confidence":null,"auto_reply_enabled":false} configured {"auto_reply_confidence":null,"auto_reply_enabled":true} v2 overridden true last change v2 by "Test User" reset false"#]].assert_eq(&render_intent(&disabled.body, "track_order"));
    let general = put(&server, "/api/v1/policy/thresholds", &admin, json!({"auto_reply_confidence_threshold": 0.9, "expected_version": 0})).await;
    assert_eq!(general.status.as_u16(), 200, "{general:?}");
    assert_eq!((general.body["auto_reply_confidence_threshold"].as_f64(), general.body["general"]["configured"].as_f64(), general.body["general"]["version"].as_i64()), (Some(0.9), Some(0.85), Some(1)));
    expect![[r#"product_info: 0.9 (default) current {"auto_reply_confidence":null,"auto_reply_enabled":true} configured {"auto_reply_confidence":null,"auto_reply_enabled":true} v0 overridden false last change none"#]].assert_eq(&render_intent(&general.body, "product_info"));

    // Reset: the configuration again, the version keeps growing, the page can say who reset it.
    let stale_reset = server.request(Method::DELETE, &format!("{path}?expected_version=1"), &admin, None).await;
    assert_eq!(stale_reset.status.as_u16(), 409, "{stale_reset:?}");
    let reset = server.request(Method::DELETE, &format!("{path}?expected_version=2"), &admin, None).await;
    assert_eq!(reset.status.as_u16(), 200, "{reset:?}");
    expect![[r#"track_order: 0.9 (default) current {"auto_reply_confidence":null,"auto_reply_enabled":true} configured {"auto_reply_confidence":null,"auto_reply_enabled":true} v3 overridden false last change v3 by "Test User" reset true"#]].assert_eq(&render_intent(&reset.body, "track_order"));
    assert!(server.service.policy().policy.auto_reply_enabled_for(Intent::TrackOrder));

    // Every saved change is in the hash-chained audit log with the value it replaced.
    let audit = server.get("/api/v1/audit?entity_type=auto_reply_threshold&entity_id=track_order", &admin).await;
    let rendered: Vec<String> = audit.body["entries"].as_array().unwrap().iter().map(|entry| format!("{} {} {} -> {}", entry["actor"].as_str().unwrap(), entry["action"].as_str().unwrap(), entry["details"]["old"], entry["details"]["new"])).collect();
    let actor = format!("user:{admin_id}");
    assert!(rendered.iter().all(|line| line.starts_with(&actor)), "{rendered:?}");
    expect![[r#"
        policy.auto_reply_threshold_changed {"auto_reply_confidence":null,"auto_reply_enabled":true} -> {"auto_reply_confidence":0.95,"auto_reply_enabled":true}
        policy.auto_reply_threshold_changed {"auto_reply_confidence":0.95,"auto_reply_enabled":true} -> {"auto_reply_confidence":null,"auto_reply_enabled":false}
        policy.auto_reply_threshold_reset {"auto_reply_confidence":null,"auto_reply_enabled":false} -> {"auto_reply_confidence":null,"auto_reply_enabled":true}"#]]
    .assert_eq(&rendered.iter().map(|line| line.trim_start_matches(&actor).trim_start()).collect::<Vec<_>>().join("\n"));
    let verified = server.get("/api/v1/audit/verify", &admin).await;
    assert!(verified.body["first_bad_entry"].is_null(), "{verified:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_sla_targets_for_new_clocks_and_reset_them() {
    let server = TestServer::new().await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;

    let refused = put(&server, "/api/v1/sla/policies/standard", &viewer, json!({"first_response": "1h", "resolution": "8h"})).await;
    assert_eq!(refused.status.as_u16(), 403, "{refused:?}");
    let invalid = put(&server, "/api/v1/sla/policies/standard", &admin, json!({"first_response": "soon", "resolution": "2d"})).await;
    assert_eq!((invalid.status.as_u16(), invalid.body["error"]["code"].as_str()), (422, Some("invalid_policy")), "{invalid:?}");
    expect![[r#"["first_response: invalid duration `soon`: expected a number followed by h, m or s","resolution: invalid duration `2d`: unknown unit: use h, m or s"]"#]].assert_eq(&invalid.body["error"]["problems"].to_string());
    let backwards = put(&server, "/api/v1/sla/policies/standard", &admin, json!({"first_response": "9h", "resolution": "0"})).await;
    expect![[r#"422 ["sla policy `standard` needs positive first-response and resolution targets","sla policy `standard` allows more time for the first response than for the resolution"]"#]].assert_eq(&format!("{} {}", backwards.status.as_u16(), backwards.body["error"]["problems"]));
    let missing = put(&server, "/api/v1/sla/policies/gold", &admin, json!({"first_response": "1h", "resolution": "8h"})).await;
    assert_eq!((missing.status.as_u16(), missing.body["error"]["code"].as_str()), (404, Some("not_found")), "{missing:?}");

    let changed = put(&server, "/api/v1/sla/policies/safety%20urgent", &admin, json!({"first_response": "10m", "resolution": "2h", "expected_version": 0})).await;
    assert_eq!(changed.status.as_u16(), 200, "{changed:?}");
    let policy = &changed.body["policy"];
    assert_eq!((policy["first_response"].as_str(), policy["first_response_seconds"].as_i64(), policy["configured_first_response"].as_str(), policy["version"].as_i64(), policy["overridden"].as_bool()), (Some("10m"), Some(600), Some("15m"), Some(1), Some(true)), "{policy}");
    // New clocks start with it (the service's policy), everyone reads it.
    let urgent = server.service.policy().sla_policies.iter().find(|sla_policy| sla_policy.name == "safety urgent").cloned().unwrap();
    assert_eq!(urgent.first_response, chrono::TimeDelta::minutes(10));
    let listed = server.get("/api/v1/sla/policies", &viewer).await;
    let listed_urgent = listed.body["policies"].as_array().unwrap().iter().find(|policy| policy["name"] == "safety urgent").cloned().unwrap();
    assert_eq!((listed_urgent["first_response"].as_str(), listed_urgent["last_change"]["changed_by_name"].as_str()), (Some("10m"), Some("Test User")), "{listed_urgent}");

    let stale = put(&server, "/api/v1/sla/policies/safety%20urgent", &admin, json!({"first_response": "5m", "resolution": "2h", "expected_version": 0})).await;
    assert_eq!(stale.status.as_u16(), 409, "{stale:?}");
    let reset = server.request(Method::DELETE, "/api/v1/sla/policies/safety%20urgent?expected_version=1", &admin, None).await;
    assert_eq!(reset.status.as_u16(), 200, "{reset:?}");
    let policy = &reset.body["policy"];
    assert_eq!((policy["first_response"].as_str(), policy["version"].as_i64(), policy["overridden"].as_bool(), policy["last_change"]["reset"].as_bool()), (Some("15m"), Some(2), Some(false), Some(true)), "{policy}");
    let audit = server.get("/api/v1/audit?entity_type=sla_policy&entity_id=safety%20urgent", &admin).await;
    let actions: Vec<String> = audit.body["entries"].as_array().unwrap().iter().map(|entry| format!("{} {} -> {}", entry["action"].as_str().unwrap(), entry["details"]["old"], entry["details"]["new"])).collect();
    expect![[r#"
        sla_policy.targets_changed {"first_response":"15m","resolution":"4h"} -> {"first_response":"10m","resolution":"2h"}
        sla_policy.targets_reset {"first_response":"10m","resolution":"2h"} -> {"first_response":"15m","resolution":"4h"}"#]]
    .assert_eq(&actions.join("\n"));
}
