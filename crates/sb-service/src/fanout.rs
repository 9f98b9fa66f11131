//! Live events between replicas: every process on one PostgreSQL database relays the events
//! its hub publishes through the store's notifications (LISTEN/NOTIFY) and publishes the other
//! processes' events in its own hub, so a reply sent through one replica reaches a console or
//! a chat customer connected to another.
//!
//! Hidden contracts:
//! - Store-agnostic: it speaks `Store::notify`/`Store::listen` only. On SQLite (one process per
//!   file) there is nothing to listen to and [`Service::start_event_fanout`] answers `None`.
//! - The listener is connected when `start_event_fanout` returns, before this hub relays
//!   anything: what another replica publishes from then on is heard.
//! - Payloads are [`Relayed`] as JSON: ids and labels only (as every event), well below the
//!   8000 bytes of a NOTIFY; one that would not fit is never sent and counts as lost.
//! - Nothing is lost silently: a dropped LISTEN connection (reported by the store once it
//!   listens again), a relay that was full or a NOTIFY that failed all become a gap — here
//!   ([`crate::EventKind::Gap`]: this hub's subscribers reset) or, for events this hub could not send,
//!   a `Gap` relayed to the others.
//! - The relay channel is bounded ([`RELAY_CAPACITY`]); publishers never wait for the database.

use std::time::Duration;

use sb_store::{Notification, MAX_NOTIFICATION_BYTES};
use tokio::sync::{mpsc, watch};

use crate::events::{Relayed, RELAY_CAPACITY};
use crate::Service;

/// Relayed events sent in one NOTIFY statement at most.
const MAX_BATCH: usize = 256;

/// The first pause after a database error; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A started fan-out: listening, and this hub relaying into it. [`EventFanout::run`] does the
/// work.
pub struct EventFanout {
    service: Service,
    notifications: sb_store::Notifications,
    relay_receiver: mpsc::Receiver<Relayed>,
}

impl Service {
    /// Starts listening for the other replicas' events and relaying this hub's; `None` when the
    /// store is not shared (SQLite). Call before serving, so that from the first request on
    /// nothing another replica publishes is missed.
    pub async fn start_event_fanout(&self) -> crate::Result<Option<EventFanout>> {
        let Some(notifications) = self.store().listen().await? else { return Ok(None) };
        let (relay_sender, relay_receiver) = mpsc::channel(RELAY_CAPACITY);
        if !self.events().start_relay(relay_sender) {
            return Err(crate::Error::Internal("the event fan-out runs already".into()));
        }
        tracing::info!(channel = self.store().notification_channel().unwrap_or_default(), "live events are shared with the other replicas");
        Ok(Some(EventFanout { service: self.clone(), notifications, relay_receiver }))
    }
}

impl EventFanout {
    /// Relays this process's events to the other replicas and theirs into this process's hub,
    /// until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let EventFanout { service, notifications, relay_receiver } = self;
        tokio::join!(service.receive_relayed(notifications, shutdown.clone()), service.send_relayed(relay_receiver, shutdown));
    }
}

impl Service {
    /// Publishes what the other replicas relay; a lost LISTEN connection becomes a gap.
    async fn receive_relayed(&self, mut notifications: sb_store::Notifications, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let received = tokio::select! {
                received = notifications.recv() => received,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            match received {
                Ok(Notification::Payload(payload)) => {
                    backoff = FIRST_BACKOFF;
                    match serde_json::from_str::<Relayed>(&payload) {
                        Ok(relayed) => {
                            self.events().publish_relayed(relayed);
                        }
                        // Another version's event, or someone else's NOTIFY on our channel:
                        // whatever it said is unknown here, so subscribers reload.
                        Err(error) => {
                            tracing::warn!(error = %error, bytes = payload.len(), "unreadable relayed event");
                            self.events().publish_gap();
                        }
                    }
                }
                Ok(Notification::Gap) => {
                    backoff = FIRST_BACKOFF;
                    tracing::warn!("the LISTEN connection was lost and is back: other replicas' events may have been missed");
                    self.events().publish_gap();
                }
                Err(error) => {
                    tracing::warn!(error = %error, "listening for other replicas' events failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sends this hub's events to the other replicas, in batches of what has queued up.
    async fn send_relayed(&self, mut relay_receiver: mpsc::Receiver<Relayed>, mut shutdown: watch::Receiver<bool>) {
        let origin = self.events().epoch().to_string();
        let mut batch: Vec<Relayed> = Vec::with_capacity(MAX_BATCH);
        let mut lost_here = false;
        loop {
            let received = tokio::select! {
                received = relay_receiver.recv_many(&mut batch, MAX_BATCH) => received,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            if received == 0 {
                return;
            }
            let mut payloads = Vec::with_capacity(batch.len() + 1);
            // Events the hub could not queue were lost before this batch: the others hear of
            // the gap first, then what follows it.
            if self.events().take_relay_lost() || lost_here {
                payloads.push(gap_payload(&origin));
            }
            for relayed in batch.drain(..) {
                match serde_json::to_string(&relayed) {
                    Ok(payload) if payload.len() <= MAX_NOTIFICATION_BYTES => payloads.push(payload),
                    Ok(payload) => {
                        tracing::warn!(bytes = payload.len(), "a relayed event is too long for NOTIFY");
                        payloads.push(gap_payload(&origin));
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "a relayed event could not be written");
                        payloads.push(gap_payload(&origin));
                    }
                }
            }
            match self.store().notify(&payloads).await {
                Ok(()) => lost_here = false,
                Err(error) => {
                    // These events are lost for the others; the next batch starts with a gap.
                    tracing::warn!(error = %error, n_events = payloads.len(), "relaying events to the other replicas failed");
                    lost_here = true;
                }
            }
        }
    }
}

fn gap_payload(origin: &str) -> String {
    serde_json::to_string(&Relayed::Gap { origin: origin.to_string() }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gap_payload_is_small_and_reads_back() {
        let payload = super::gap_payload("18c-2a-0000beef");
        assert_eq!(payload, r#"{"relay":"gap","origin":"18c-2a-0000beef"}"#);
        assert!(matches!(serde_json::from_str::<super::Relayed>(&payload), Ok(super::Relayed::Gap { .. })));
    }
}
