//! Notifications between processes on one database (`Store::notify` / `Store::listen`), on both
//! backends: on PostgreSQL every listener of the database and schema hears every payload in
//! order, a payload too long for NOTIFY is refused before anything of its batch is sent, and a
//! listener whose connection is killed listens again and says so (`Gap`); on SQLite (one process
//! per file) there is nobody to hear and nothing to listen to.

use std::time::Duration;

use sb_store::{Error, Notification, Notifications, Store, StoreOptions, MAX_NOTIFICATION_BYTES};

use crate::support::TestDb;

async fn next(notifications: &mut Notifications) -> Notification {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), notifications.recv()).await.expect("a notification within 10 s") {
            Ok(notification) => return notification,
            // The database was not reachable this time: the next call reconnects.
            Err(error) => eprintln!("listen: {error}"),
        }
    }
}

async fn payloads(notifications: &mut Notifications, n_payloads: usize) -> Vec<Notification> {
    let mut heard = Vec::new();
    for _ in 0..n_payloads {
        heard.push(next(notifications).await);
    }
    heard
}

fn texts(payloads: &[&str]) -> Vec<String> {
    payloads.iter().map(|payload| payload.to_string()).collect()
}

/// A second process's store on the same database and schema.
async fn second_process(db: &TestDb) -> Store {
    Store::connect(&db.url, &StoreOptions { postgres_schema: db.schema.clone(), max_connections: 2, ..StoreOptions::default() }).await.unwrap()
}

async fn every_listener_hears_every_payload_in_order(db: &TestDb) {
    let Some(mut first) = db.store.listen().await.unwrap() else {
        assert!(db.schema.is_none(), "PostgreSQL always listens");
        assert_eq!(db.store.notification_channel(), None);
        db.store.notify(&texts(&["nobody hears this"])).await.expect("notifying nobody is no error");
        return;
    };
    let other_process = second_process(db).await;
    let mut second = other_process.listen().await.unwrap().expect("the second process listens too");
    // Another schema is another Switchboard: it hears nothing of this one.
    let stranger = TestDb::postgres().await;
    let mut stranger_listener = stranger.store.listen().await.unwrap().unwrap();
    assert_ne!(stranger.store.notification_channel(), db.store.notification_channel());

    db.store.notify(&texts(&["1", "2", "3"])).await.unwrap();
    other_process.notify(&texts(&["4"])).await.unwrap();
    let too_long = "x".repeat(MAX_NOTIFICATION_BYTES + 1);
    let refused = db.store.notify(&[String::from("lost with its batch"), too_long]).await;
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    db.store.notify(&[String::from("5"), "y".repeat(MAX_NOTIFICATION_BYTES)]).await.expect("the longest payload NOTIFY takes");

    let expected: Vec<Notification> = ["1", "2", "3", "4", "5"].iter().map(|payload| Notification::Payload(payload.to_string())).chain([Notification::Payload("y".repeat(MAX_NOTIFICATION_BYTES))]).collect();
    assert_eq!(payloads(&mut first, 6).await, expected, "the sender hears itself too");
    assert_eq!(payloads(&mut second, 6).await, expected);
    stranger.store.notify(&texts(&["own"])).await.unwrap();
    assert_eq!(next(&mut stranger_listener).await, Notification::Payload("own".into()), "nothing of the other schema came first");
    other_process.close().await;
    stranger.cleanup().await;
}

async fn a_lost_listen_connection_is_reported_as_a_gap(db: &TestDb) {
    let Some(mut listener) = db.store.listen().await.unwrap() else { return };
    let channel = db.store.notification_channel().unwrap().to_string();
    db.store.notify(&texts(&["before"])).await.unwrap();
    assert_eq!(next(&mut listener).await, Notification::Payload("before".into()));

    // What a restarted database, a proxy's idle timeout or an administrator does.
    db.raw_execute(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN \"{channel}\"%' AND pid <> pg_backend_pid()")).await.unwrap();
    assert_eq!(next(&mut listener).await, Notification::Gap, "a lost connection is never silent");
    db.store.notify(&texts(&["after"])).await.unwrap();
    assert_eq!(next(&mut listener).await, Notification::Payload("after".into()), "listening again after the gap");
}

conformance_tests!(every_listener_hears_every_payload_in_order, a_lost_listen_connection_is_reported_as_a_gap);
