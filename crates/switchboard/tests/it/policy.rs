//! Two `switchboard serve` processes on one PostgreSQL database: an admin's threshold change
//! saved through one is in force in the other within `[server] policy_refresh_seconds`, and
//! the other decides its next message with it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::{create_token, Server, TestDatabase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_changed_through_one_replica_decides_messages_on_the_other() {
    let database = TestDatabase::new(true).await;
    let token = create_token(&database.url, "ingest,read,admin");
    let env = [("SWITCHBOARD__SERVER__POLICY_REFRESH_SECONDS", "1".to_string())];
    let first = Server::start_with_env(&database.url, "warn", false, &env).await;
    let second = Server::start_with_env(&database.url, "warn", false, &env).await;
    let client = reqwest::Client::new();

    let changed = client.put(format!("{}/api/v1/policy/thresholds/policy_info", first.base_url)).bearer_auth(&token).json(&json!({"auto_reply_confidence": null, "auto_reply_enabled": false})).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    let saved_at = Instant::now();
    loop {
        let thresholds: Value = client.get(format!("{}/api/v1/policy/thresholds", second.base_url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let policy_info = thresholds["intents"].as_array().unwrap().iter().find(|intent| intent["intent"] == "policy_info").cloned().unwrap();
        if policy_info["source"] == "disabled" {
            assert_eq!(policy_info["version"], 1, "{policy_info}");
            break;
        }
        assert!(saved_at.elapsed() < Duration::from_secs(5), "the second replica still runs the old threshold after 5 s: {policy_info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The second replica decides with it: the intent is never answered automatically now.
    let answer: Value = client
        .post(format!("{}/api/v1/messages", second.base_url))
        .bearer_auth(&token)
        .json(&json!({"channel": "chat", "text": "What is your returns policy for shoes?", "customer": {"email": "policy-replica@example.com"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["triage"]["intent"], "policy_info", "{answer}");
    assert_eq!(answer["decision"]["route"], "human_queue", "{answer}");
    assert!(answer["decision"]["auto_reply_blockers"].as_array().unwrap().iter().any(|blocker| blocker == "auto_reply_disabled"), "{answer}");
    drop(first);
    drop(second);
    database.drop_database().await;
}
