//! Policy overrides (migration 0012) on both backends: versions, conflicts on a stale or
//! concurrent change, resets that keep the version growing, the revision a poller reads, and
//! the audit entry in the same transaction.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_store::{Error, NewAuditEntry, NewUser, PolicyOverrideChange, PolicyOverrideKind, Role};
use serde_json::json;

use crate::support::TestDb;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn change<'change>(kind: PolicyOverrideKind, subject: &'change str, value: Option<&'change serde_json::Value>, expected_version: i64, user_id: i64) -> PolicyOverrideChange<'change> {
    PolicyOverrideChange { kind, subject, value, expected_version, changed_by: "user:admin", changed_by_user_id: Some(user_id) }
}

fn audit(subject: &str) -> Vec<NewAuditEntry> {
    vec![NewAuditEntry::new("user:admin", "policy.threshold_changed", "policy", subject, json!({"subject": subject}))]
}

/// One line per override: kind, subject, value, version, who.
async fn rendered(db: &TestDb) -> String {
    let overrides = db.store.policy_overrides().await.unwrap();
    let mut lines = vec![format!("revision {}", overrides.revision)];
    for policy_override in overrides.overrides {
        lines.push(format!(
            "{} {} {} v{} by {} ({})",
            policy_override.kind.as_str(),
            policy_override.subject,
            policy_override.value.map_or("reset".to_string(), |value| value.to_string()),
            policy_override.version,
            policy_override.changed_by,
            policy_override.changed_by_name.unwrap_or_default()
        ));
    }
    lines.join("\n")
}

async fn overrides_have_versions_conflicts_and_resets(db: &TestDb) {
    let store = &db.store;
    let admin = store.create_user(&NewUser { email: "ada@example.com".into(), name: "Ada Admin".into(), role: Role::Admin, password_hash: "x".into() }, &[], at(0)).await.unwrap();
    assert_eq!(rendered(db).await, "revision 0", "nothing changed yet");

    let strict = json!({"auto_reply_confidence": 0.95, "auto_reply_enabled": true});
    let saved = store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(&strict), 0, admin.id), &audit("track_order"), at(1)).await.unwrap();
    assert_eq!((saved.version, saved.changed_at, saved.changed_by_name.as_deref()), (1, at(1), Some("Ada Admin")));
    let targets = json!({"first_response": "1h", "resolution": "8h"});
    store.set_policy_override(&change(PolicyOverrideKind::SlaPolicy, "safety urgent", Some(&targets), 0, admin.id), &audit("safety urgent"), at(2)).await.unwrap();

    // A first change made twice (two admins both saw "never changed"): the second is a conflict.
    let other = json!({"auto_reply_confidence": 0.6, "auto_reply_enabled": true});
    let stale = store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(&other), 0, admin.id), &audit("track_order"), at(3)).await.unwrap_err();
    assert!(matches!(&stale, Error::Conflict(message) if message == "the auto-reply threshold of `track_order` is at version 1, not 0: someone changed it meanwhile; reload it and apply the change again"), "{stale}");
    let stale = store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(&other), 7, admin.id), &audit("track_order"), at(3)).await.unwrap_err();
    assert!(matches!(stale, Error::Conflict(_)), "{stale}");
    let missing = store.set_policy_override(&change(PolicyOverrideKind::AutoReplyGeneral, "general", Some(&json!({"auto_reply_confidence": 0.9})), 2, admin.id), &audit("general"), at(3)).await.unwrap_err();
    assert!(matches!(&missing, Error::Conflict(message) if message.starts_with("the general auto-reply threshold is at version 0, not 2")), "{missing}");

    // A reset keeps the row with the next version: an edit made before it is still stale.
    store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", None, 1, admin.id), &audit("track_order"), at(4)).await.unwrap();
    let after_reset = store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(&other), 1, admin.id), &audit("track_order"), at(5)).await.unwrap_err();
    assert!(matches!(after_reset, Error::Conflict(_)), "{after_reset}");
    store.set_policy_override(&change(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(&other), 2, admin.id), &audit("track_order"), at(6)).await.unwrap();

    expect_test::expect![[r#"
        revision 4
        auto_reply_intent track_order {"auto_reply_confidence":0.6,"auto_reply_enabled":true} v3 by user:admin (Ada Admin)
        sla_policy safety urgent {"first_response":"1h","resolution":"8h"} v1 by user:admin (Ada Admin)"#]]
    .assert_eq(&rendered(db).await);
    assert_eq!(store.policy_revision().await.unwrap(), 4, "the poller's cheap read agrees");

    // Only the four saved changes were audited, and the chain is intact.
    let entries = store.list_audit(Some(("policy", "track_order")), 50).await.unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(store.verify_audit(|_| {}).await.unwrap().first_bad_entry.is_none());
}

/// Two processes save on the same version at once: exactly one wins, the other is a conflict.
async fn concurrent_changes_on_one_version_have_one_winner(db: &TestDb) {
    let value = json!({"auto_reply_confidence": 0.9});
    let first_request = change(PolicyOverrideKind::AutoReplyGeneral, "general", Some(&value), 0, 1);
    let first_change = db.store.set_policy_override(&first_request, &[], at(0));
    let second_store = db.store.clone();
    let other_value = json!({"auto_reply_confidence": 0.7});
    let second = tokio::spawn(async move { second_store.set_policy_override(&change(PolicyOverrideKind::AutoReplyGeneral, "general", Some(&other_value), 0, 1), &[], at(0)).await.map(|saved| saved.version) });
    let first = first_change.await.map(|saved| saved.version);
    let second = second.await.unwrap();
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|won| **won).count(), 1, "{first:?} {second:?}");
    assert!(matches!(first.err().or(second.err()), Some(Error::Conflict(_))));
    assert_eq!(db.store.policy_revision().await.unwrap(), 1);
}

conformance_tests!(overrides_have_versions_conflicts_and_resets, concurrent_changes_on_one_version_have_one_winner);
