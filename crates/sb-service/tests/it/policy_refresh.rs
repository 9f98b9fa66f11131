//! Admins' policy changes across processes: two services on one PostgreSQL database (as two
//! `serve` processes would be), a change saved through one, picked up by the other's revision
//! poll; a stale edit is a conflict, an invalid one lists every problem, and a reset puts the
//! configuration back.

use std::sync::Arc;

use sb_domain::Intent;
use sb_service::actions::Actor;
use sb_service::policy_overrides::{IntentAutoReply, PolicyEdit, SlaTargets};
use sb_service::{DemoStoreConnector, Error, Service, ServiceConfig};
use sb_store::{Store, StoreOptions};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn postgres_service(schema: &str) -> Service {
    let url = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let options = StoreOptions { postgres_schema: Some(schema.to_string()), max_connections: 3, ..StoreOptions::default() };
    let store = Store::connect(&url, &options).await.unwrap_or_else(|error| panic!("PostgreSQL is required for this test and does not answer at {url}: {error}; start it with scripts/services.sh"));
    store.migrate().await.unwrap();
    let connector = Arc::new(DemoStoreConnector::new(store.clone()));
    Service::new(store, None, connector, ServiceConfig::new(Default::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_process_reaches_the_other_at_its_next_poll() {
    let schema = format!("sb_policy_{}_{}", std::process::id(), chrono::Utc::now().timestamp_micros() % 1_000_000);
    let first = postgres_service(&schema).await;
    let second = postgres_service(&schema).await;
    first.reload_policy().await.unwrap();
    second.reload_policy().await.unwrap();
    assert!(!second.refresh_policy().await.unwrap(), "nothing changed: no reload");
    let admin = Actor::user(1);

    let strict = IntentAutoReply { auto_reply_confidence: Some(0.97), auto_reply_enabled: true };
    let saved = first.edit_policy(&admin, &PolicyEdit::Intent(Intent::TrackOrder, Some(strict)), 0).await.unwrap();
    assert_eq!(saved.policy.auto_reply_threshold_for(Intent::TrackOrder), 0.97, "the saving process applies it at once");
    assert_eq!(first.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.97);
    assert_eq!(second.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.85, "the other process until its next poll");
    assert!(second.refresh_policy().await.unwrap(), "the revision moved");
    assert_eq!(second.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.97);
    assert!(!second.refresh_policy().await.unwrap());

    // The second process edits on the version it saw; the first one's stale edit is refused.
    let targets = SlaTargets { first_response: chrono::TimeDelta::hours(1), resolution: chrono::TimeDelta::hours(6) };
    second.edit_policy(&admin, &PolicyEdit::SlaTargets("standard".into(), Some(targets)), 0).await.unwrap();
    let stale = first.edit_policy(&admin, &PolicyEdit::SlaTargets("standard".into(), Some(targets)), 0).await.unwrap_err();
    assert!(matches!(stale, Error::Store(sb_store::Error::Conflict(_))), "{stale}");
    // The refused edit read the store first, so the first process has the new targets already.
    assert!(!first.refresh_policy().await.unwrap());
    let standard = first.policy().sla_policies.iter().find(|sla_policy| sla_policy.name == "standard").cloned().unwrap();
    assert_eq!((standard.first_response, standard.resolution), (targets.first_response, targets.resolution));

    // Invalid changes name every problem, the loader's words; nothing is stored.
    let invalid = first.edit_policy(&admin, &PolicyEdit::Intent(Intent::AdverseReaction, Some(IntentAutoReply { auto_reply_confidence: Some(1.5), auto_reply_enabled: true })), 0).await.unwrap_err();
    let Error::PolicyRejected { problems } = invalid else { panic!("{invalid}") };
    expect_test::expect![[r#"
        adverse_reaction is a safety_compliance intent: it is never answered automatically
        auto_reply_confidence_by_intent.adverse_reaction must be between 0 and 1, got 1.5
        auto_reply_confidence_by_intent.adverse_reaction is set, but safety_compliance intents are never auto-replied"#]]
    .assert_eq(&problems.join("\n"));
    let backwards = SlaTargets { first_response: chrono::TimeDelta::hours(9), resolution: chrono::TimeDelta::zero() };
    let invalid = first.edit_policy(&admin, &PolicyEdit::SlaTargets("standard".into(), Some(backwards)), 1).await.unwrap_err();
    let Error::PolicyRejected { problems } = invalid else { panic!("{invalid}") };
    expect_test::expect![[r#"
        sla policy `standard` needs positive first-response and resolution targets
        sla policy `standard` allows more time for the first response than for the resolution"#]]
    .assert_eq(&problems.join("\n"));
    assert_eq!(first.store().policy_revision().await.unwrap(), 2, "refused changes store nothing");

    // A reset puts the configuration back everywhere; the audit log has old and new values (oldest first).
    first.edit_policy(&admin, &PolicyEdit::Intent(Intent::TrackOrder, None), 1).await.unwrap();
    assert!(second.refresh_policy().await.unwrap());
    assert_eq!(second.policy().policy.auto_reply_threshold_for(Intent::TrackOrder), 0.85);
    let entries = first.store().list_audit(Some(("auto_reply_threshold", "track_order")), 10).await.unwrap();
    let rendered: Vec<String> = entries.iter().map(|entry| format!("{} {} old={} new={}", entry.actor, entry.action, entry.details["old"], entry.details["new"])).collect();
    expect_test::expect![[r#"
        user:1 policy.auto_reply_threshold_changed old={"auto_reply_confidence":null,"auto_reply_enabled":true} new={"auto_reply_confidence":0.97,"auto_reply_enabled":true}
        user:1 policy.auto_reply_threshold_reset old={"auto_reply_confidence":0.97,"auto_reply_enabled":true} new={"auto_reply_confidence":null,"auto_reply_enabled":true}"#]]
    .assert_eq(&rendered.join("\n"));

    first.store().drop_postgres_schema(&schema).await.unwrap();
    first.store().close().await;
    second.store().close().await;
}
