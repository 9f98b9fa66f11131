//! Notifications between the processes that share one database: PostgreSQL's LISTEN/NOTIFY
//! behind a small API, so the engine can fan its live events out to other replicas without
//! knowing SQL or which backend it runs on.
//!
//! Hidden contracts:
//! - One channel per database and schema ([`Store::notification_channel`]): processes on the
//!   same database and schema hear each other, tests on their own schemas do not.
//! - Payloads are sent in order, a batch in one statement, each at most
//!   [`MAX_NOTIFICATION_BYTES`] bytes (PostgreSQL refuses 8000 and more); a longer one is refused
//!   with [`Error::Invalid`] before anything of the batch is sent. Notifications are delivered
//!   after the sending statement commits, to every listener including the sender's own (callers
//!   tag payloads to recognise their own).
//! - Notifications are transient: those sent while a listener's connection was down are lost.
//!   [`Notifications::recv`] therefore never hides a lost connection: once it listens again it
//!   answers [`Notification::Gap`], so the caller can tell its own subscribers to reload
//!   instead of believing nothing happened.
//! - SQLite is one process per file: there is nobody to notify, [`Store::notify`] does nothing and
//!   [`Store::listen`] answers `None`.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::{Error, Pools, Result, Store};

/// The longest payload PostgreSQL's NOTIFY accepts.
pub const MAX_NOTIFICATION_BYTES: usize = 7_999;

/// The channel's name without a schema; `_<schema>` is appended when the store has one.
const CHANNEL_PREFIX: &str = "switchboard_events";

/// PostgreSQL's longest identifier (NAMEDATALEN - 1): longer channel names are refused.
const MAX_CHANNEL_BYTES: usize = 63;

/// The channel of a database and `schema`: the schema's name when it fits, else a hash of it.
pub(crate) fn channel_name(schema: Option<&str>) -> String {
    use sha2::Digest;
    let Some(schema) = schema else { return CHANNEL_PREFIX.to_string() };
    let plain = format!("{CHANNEL_PREFIX}_{schema}");
    if plain.len() <= MAX_CHANNEL_BYTES {
        return plain;
    }
    format!("{CHANNEL_PREFIX}_{}", &hex::encode(sha2::Sha256::digest(schema.as_bytes()))[..32])
}

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// One payload another process (or this one) sent, in the order they were sent.
    Payload(String),
    /// The connection was lost and is listening again: whatever was sent in between is lost.
    Gap,
}

/// A LISTEN connection on the store's channel, with its own connection (not one of the pool's).
pub struct Notifications {
    listener: Option<PgListener>,
    /// What to connect to when the listener must be rebuilt after an error.
    pool_options: Option<(sqlx::postgres::PgConnectOptions, Duration)>,
    channel: String,
}

impl Store {
    /// The NOTIFY channel of this database and schema; `None` on SQLite.
    pub fn notification_channel(&self) -> Option<&str> {
        self.notification_channel.as_deref()
    }

    /// Sends `payloads`, in order, to every listener on this database (one statement). Does
    /// nothing on SQLite.
    pub async fn notify(&self, payloads: &[String]) -> Result<()> {
        let (Pools::Postgres(pool), Some(channel)) = (&self.pools, self.notification_channel.as_deref()) else { return Ok(()) };
        if let Some(payload) = payloads.iter().find(|payload| payload.len() > MAX_NOTIFICATION_BYTES) {
            return Err(Error::Invalid(format!("a notification of {} bytes is longer than the {MAX_NOTIFICATION_BYTES} PostgreSQL carries", payload.len())));
        }
        if payloads.is_empty() {
            return Ok(());
        }
        // WITH ORDINALITY + ORDER BY: the notifications are queued in the batch's order.
        sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS batch(payload, idx) ORDER BY idx")
            .bind(channel)
            .bind(payloads)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Starts listening on this database's channel; `None` on SQLite. Notifications sent after
    /// this returns are heard.
    pub async fn listen(&self) -> Result<Option<Notifications>> {
        let (Pools::Postgres(pool), Some(channel)) = (&self.pools, self.notification_channel.as_deref()) else { return Ok(None) };
        let pool_options = ((*pool.connect_options()).clone(), pool.options().get_acquire_timeout());
        let listener = connect_listener(&pool_options, channel).await?;
        Ok(Some(Notifications { listener: Some(listener), pool_options: Some(pool_options), channel: channel.to_string() }))
    }
}

async fn connect_listener((connect_options, acquire_timeout): &(sqlx::postgres::PgConnectOptions, Duration), channel: &str) -> Result<PgListener> {
    // A pool of one that never retires its connection: only a lost connection is replaced.
    let pool = PgPoolOptions::new().max_connections(1).min_connections(0).max_lifetime(None).idle_timeout(None).acquire_timeout(*acquire_timeout).connect_lazy_with(connect_options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

impl Notifications {
    /// The next notification. A lost connection is re-established first (here or inside the
    /// listener) and reported as [`Notification::Gap`]; an error means the database could not
    /// be reached this time: the caller waits and calls again, and the next answer after the
    /// connection is back is a `Gap`.
    pub async fn recv(&mut self) -> Result<Notification> {
        let listener = match self.listener.as_mut() {
            Some(listener) => listener,
            None => {
                let pool_options = self.pool_options.as_ref().ok_or_else(|| Error::Invalid("no database to listen on".into()))?;
                self.listener = Some(connect_listener(pool_options, &self.channel).await?);
                return Ok(Notification::Gap);
            }
        };
        match listener.try_recv().await {
            Ok(Some(notification)) => Ok(Notification::Payload(notification.payload().to_string())),
            // The listener reconnected (and listens again) before answering: a gap.
            Ok(None) => Ok(Notification::Gap),
            Err(error) => {
                // Rebuilt on the next call, which then reports the gap.
                self.listener = None;
                Err(Error::Database(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_gets_a_channel_postgres_accepts() {
        let long_schema = "s".repeat(63);
        for (schema, expected) in [(None, "switchboard_events"), (Some("tenant_1"), "switchboard_events_tenant_1"), (Some(long_schema.as_str()), "switchboard_events_")] {
            let channel = super::channel_name(schema);
            assert!(channel.starts_with(expected) && channel.len() <= super::MAX_CHANNEL_BYTES, "{schema:?}: {channel}");
        }
        assert_ne!(super::channel_name(Some(&"a".repeat(60))), super::channel_name(Some(&"b".repeat(60))), "long names stay apart");
    }
}
