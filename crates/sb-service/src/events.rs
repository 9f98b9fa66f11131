//! Live events: what changed, published after the store committed it, for the console's
//! WebSocket (`/ws` in sb-server) and anything else that watches tickets.
//!
//! Every event gets the next id of this process (1, 2, 3, …, never reused while the process
//! lives). The hub keeps the most recent [`EVENT_RING_CAPACITY`] events in memory, so a client
//! that lost its connection for a moment asks for "everything after id N" and misses nothing.
//!
//! Hidden contracts:
//! - Events carry ids and routing labels only (ticket, message, status, queue): never message
//!   text or customer details. A subscriber re-reads what it shows through the API, which
//!   masks personal data for the caller's role; the hub never needs to know who listens. The
//!   same holds for what travels between replicas (a NOTIFY payload is visible to anyone who
//!   can LISTEN on the database).
//! - Publishing happens after the commit, so an event never names something a reader cannot
//!   see yet. A crash between commit and publish loses the event, not the change: clients
//!   re-read the store when they (re)connect past what the ring holds.
//! - Past the ring (an `after` id older than the oldest kept event, an id from another process
//!   lifetime — told apart by [`EventHub::epoch`] — or a subscriber too slow for the broadcast
//!   channel) the subscriber is told [`Resume::Reset`]: it must reload its view from the API
//!   instead of replaying. Nothing is silently skipped.
//! - Several replicas on one PostgreSQL hear each other (`fanout.rs`): each event published
//!   here is also relayed, tagged with this hub's epoch as its origin, and every other
//!   replica's hub publishes it again under an id of its own ([`EventHub::publish_relayed`]),
//!   so ids stay one gap-free sequence per process and resume works per connection whichever
//!   replica an event came from; a hub ignores its own relayed events, so nothing arrives
//!   twice. Ids are never compared across replicas (a reconnect to another replica is another
//!   epoch: reset). Metrics ticks are not relayed: every replica computes them from the shared
//!   database.
//! - When relayed events may have been lost (the LISTEN connection dropped, or this hub could
//!   not hand its events to the relay), the hub publishes [`EventKind::Gap`]: a ring event like
//!   any other, so live subscribers and those resuming from before it are told to reset.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Events kept for resumption. At a few events per second that is minutes of history, far
/// more than a reconnect takes; a busier site just sees more `reset`s after long outages.
pub const EVENT_RING_CAPACITY: usize = 4_096;

/// Events a live subscriber may fall behind before it is told to reset.
const BROADCAST_CAPACITY: usize = 1_024;

/// What happened.
// Not `Eq`: the metrics carry rates as floats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A message opened a new ticket.
    TicketCreated { ticket_id: i64 },
    /// A ticket's state changed: triage, assignment, status, escalation, merge.
    TicketUpdated { ticket_id: i64, status: String, queue: String, assignee_id: Option<i64> },
    /// A message joined a ticket: `inbound` from the customer, `outbound` a reply (automatic or
    /// an agent's), `note` an internal note.
    MessageAdded { ticket_id: i64, message_id: i64, direction: String },
    /// The SLA watcher found a clock at risk (`at_risk`) or past its deadline
    /// (`first_response_breached`, `resolution_breached`).
    Sla { ticket_id: i64, state: String },
    /// The alert evaluator opened an alert (its title may name a ticket's subject, so only the
    /// rule and severity travel; readers fetch the alert through the API).
    AlertRaised { alert_id: i64, rule: String, severity: String },
    /// An alert was closed: its condition cleared, or a person resolved it.
    AlertResolved { alert_id: i64, rule: String },
    /// The live dashboard's figures, published periodically by [`crate::Service::run_metrics_ticker`]:
    /// counts and ages only, no personal data.
    MetricsTick { metrics: Box<LiveMetrics> },
    /// Someone is writing in a ticket's conversation: `party` is `customer` (the chat widget)
    /// or `agent` (the console's composer). Not kept in any store: a hint that fades.
    Typing { ticket_id: i64, party: String },
    /// Events of other replicas may have been lost here (see the module docs): whoever follows
    /// this hub must reload its view. Never relayed; the WebSocket turns it into `reset`.
    Gap,
}

/// The dashboard tiles' figures at one instant ("today" is the UTC day).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveMetrics {
    pub n_open: i64,
    /// Tickets waiting for a person: the human and safety queues, not waiting on the customer.
    pub queue_depth: i64,
    pub n_queue_human: i64,
    pub n_queue_safety: i64,
    pub n_unassigned: i64,
    pub oldest_waiting_seconds: Option<i64>,
    /// Open tickets whose next deadline is within the hour (at risk) and past it (breached).
    pub n_sla_at_risk: i64,
    pub n_sla_breached: i64,
    pub arrivals_last_hour: i64,
    pub arrivals_today: i64,
    pub resolved_today: i64,
    pub decisions_today: i64,
    pub auto_replied_today: i64,
    pub automation_rate_today: Option<f64>,
    pub avg_sentiment_last_hour: Option<f64>,
    pub n_negative_last_hour: i64,
}

impl EventKind {
    /// The ticket the event is about; `None` for alerts and metrics.
    pub fn ticket_id(&self) -> Option<i64> {
        match self {
            EventKind::TicketCreated { ticket_id } | EventKind::TicketUpdated { ticket_id, .. } | EventKind::MessageAdded { ticket_id, .. } | EventKind::Sla { ticket_id, .. } | EventKind::Typing { ticket_id, .. } => Some(*ticket_id),
            EventKind::AlertRaised { .. } | EventKind::AlertResolved { .. } | EventKind::MetricsTick { .. } | EventKind::Gap => None,
        }
    }

    pub(crate) fn ticket_updated(ticket: &sb_store::Ticket) -> EventKind {
        EventKind::TicketUpdated { ticket_id: ticket.id, status: ticket.status.as_str().to_string(), queue: ticket.queue.as_str().to_string(), assignee_id: ticket.assignee_id }
    }

    pub(crate) fn message_added(ticket_id: i64, message_id: i64, direction: sb_store::Direction) -> EventKind {
        EventKind::MessageAdded { ticket_id, message_id, direction: direction.as_str().to_string() }
    }
}

/// One published event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
    /// The event as JSON, written once for all subscribers (hundreds of sockets share one
    /// event: writing it per socket cost more than sending it).
    #[serde(skip)]
    json: OnceLock<String>,
}

impl Event {
    pub fn new(id: u64, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event { id, at, kind, json: OnceLock::new() }
    }

    /// The event as a JSON object (what a staff subscriber is sent), written on first use.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| serde_json::to_string(self).unwrap_or_default())
    }
}

/// Where a new subscriber starts.
#[derive(Debug)]
pub enum Resume {
    /// The events after the asked id, in order (empty when it was already up to date).
    Replay(Vec<Arc<Event>>),
    /// The asked id is no longer in the ring (or belongs to another process lifetime): reload
    /// the view, then follow live events.
    Reset,
}

/// A subscription: what to replay first, then the live stream. Nothing published between the
/// two is lost or doubled (both are taken under the hub's lock).
pub struct Subscription {
    pub resume: Resume,
    pub receiver: broadcast::Receiver<Arc<Event>>,
    /// The last id published when the subscription started.
    pub last_id: u64,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Arc<Event>>,
}

/// Events relayed towards other replicas that may wait for the database before this hub
/// records a gap instead of blocking its publishers.
pub(crate) const RELAY_CAPACITY: usize = 4_096;

/// An event on its way to the other replicas (see `fanout.rs`), or the news that some were
/// lost on the way. What a NOTIFY payload holds, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "relay", rename_all = "snake_case")]
pub(crate) enum Relayed {
    Event { origin: String, at: DateTime<Utc>, transient: bool, event: EventKind },
    /// The origin could not relay some of its events.
    Gap { origin: String },
}

impl Relayed {
    pub(crate) fn origin(&self) -> &str {
        match self {
            Relayed::Event { origin, .. } | Relayed::Gap { origin } => origin,
        }
    }
}

/// The publisher side, owned by the [`crate::Service`]. Cheap to share.
pub struct EventHub {
    epoch: String,
    ring: Mutex<Ring>,
    sender: broadcast::Sender<Arc<Event>>,
    capacity: usize,
    /// Where this hub's events go to reach other replicas, once the fan-out runs.
    relay: OnceLock<mpsc::Sender<Relayed>>,
    /// An event could not be handed to the relay (it was full or gone): the relay tells the
    /// other replicas to reset.
    relay_lost: AtomicBool,
}

impl Default for EventHub {
    fn default() -> EventHub {
        EventHub::with_capacity(EVENT_RING_CAPACITY)
    }
}

impl EventHub {
    pub fn with_capacity(capacity: usize) -> EventHub {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        // Names this process lifetime: ids restart at 1 with a new process, and a client must
        // not resume a new process's stream from an old process's id. It is also the origin of
        // relayed events, so it must differ between replicas on different hosts too: random
        // bits beside the time and process id.
        let mut random = [0u8; 4];
        let random = getrandom::fill(&mut random).map(|()| u32::from_le_bytes(random)).unwrap_or_default();
        let epoch = format!("{:x}-{:x}-{random:08x}", Utc::now().timestamp_millis(), std::process::id());
        EventHub {
            epoch,
            ring: Mutex::new(Ring { next_id: 1, events: VecDeque::with_capacity(capacity.min(EVENT_RING_CAPACITY)) }),
            sender,
            capacity: capacity.max(1),
            relay: OnceLock::new(),
            relay_lost: AtomicBool::new(false),
        }
    }

    /// Names this process lifetime's id sequence.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Publishes `kind` with the next id and returns that id; relays it to other replicas.
    pub fn publish(&self, kind: EventKind) -> u64 {
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let event = Self::push(&mut ring, self.capacity, Utc::now(), kind);
        // Sent under the lock, so live order is id order. No receiver is not an error.
        let _ = self.sender.send(event.clone());
        // Relayed under the lock too, so the other replicas hear this hub's events in its order.
        self.relay(&event, false);
        event.id
    }

    fn push(ring: &mut Ring, capacity: usize, at: DateTime<Utc>, kind: EventKind) -> Arc<Event> {
        let event = Arc::new(Event::new(ring.next_id, at, kind));
        ring.next_id += 1;
        if ring.events.len() == capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        event
    }

    /// Sends `kind` to live subscribers only: not kept in the ring and no new id (it carries
    /// the last id published, so a client's resume point stays where it was). For hints that
    /// are worthless a moment later (typing), so they never push real events out of the ring.
    pub fn publish_transient(&self, kind: EventKind) {
        let ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let event = Arc::new(Event::new(ring.next_id - 1, Utc::now(), kind));
        let _ = self.sender.send(event.clone());
        self.relay(&event, true);
    }

    /// Publishes an event another replica relayed: under this hub's next id (or, `transient`,
    /// as [`EventHub::publish_transient`] does), never relayed again. Events of this hub's own
    /// origin are ignored (every listener hears its own notifications). Returns whether it was
    /// published.
    pub(crate) fn publish_relayed(&self, relayed: Relayed) -> bool {
        if relayed.origin() == self.epoch {
            return false;
        }
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let event = match relayed {
            Relayed::Gap { .. } => Self::push(&mut ring, self.capacity, Utc::now(), EventKind::Gap),
            Relayed::Event { at, transient: true, event, .. } => Arc::new(Event::new(ring.next_id - 1, at, event)),
            Relayed::Event { at, transient: false, event, .. } => Self::push(&mut ring, self.capacity, at, event),
        };
        let _ = self.sender.send(event);
        true
    }

    /// Publishes [`EventKind::Gap`]: relayed events may have been lost.
    pub(crate) fn publish_gap(&self) -> u64 {
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let event = Self::push(&mut ring, self.capacity, Utc::now(), EventKind::Gap);
        let _ = self.sender.send(event.clone());
        event.id
    }

    /// Starts relaying this hub's events into `relay` (once; later calls are refused).
    pub(crate) fn start_relay(&self, relay: mpsc::Sender<Relayed>) -> bool {
        self.relay.set(relay).is_ok()
    }

    /// True once since an event could not be handed to the relay (the flag is cleared).
    pub(crate) fn take_relay_lost(&self) -> bool {
        self.relay_lost.swap(false, Ordering::AcqRel)
    }

    fn relay(&self, event: &Event, transient: bool) {
        let Some(relay) = self.relay.get() else { return };
        // Every replica computes the figures from the shared database; the gap is local news.
        if matches!(event.kind, EventKind::MetricsTick { .. } | EventKind::Gap) {
            return;
        }
        let relayed = Relayed::Event { origin: self.epoch.clone(), at: event.at, transient, event: event.kind.clone() };
        // A typing hint is worth nothing late: losing one is no gap.
        if relay.try_send(relayed).is_err() && !transient {
            self.relay_lost.store(true, Ordering::Release);
        }
    }

    /// Subscribes; `after` is the last id the client saw in epoch `epoch` (`None`: a fresh
    /// client, which loads its view from the API and needs no replay).
    pub fn subscribe(&self, after: Option<(u64, &str)>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let receiver = self.sender.subscribe();
        let last_id = ring.next_id - 1;
        let resume = match after {
            None => Resume::Replay(Vec::new()),
            Some((_, epoch)) if epoch != self.epoch => Resume::Reset,
            Some((after_id, _)) if after_id > last_id => Resume::Reset,
            Some((after_id, _)) => {
                // The ring holds ids oldest..=last_id; replay is possible when nothing after
                // `after_id` has been dropped, and no gap of relayed events lies after it.
                let oldest = ring.events.front().map_or(last_id + 1, |event| event.id);
                let replay: Vec<Arc<Event>> = ring.events.iter().filter(|event| event.id > after_id).cloned().collect();
                if after_id + 1 < oldest || replay.iter().any(|event| event.kind == EventKind::Gap) {
                    Resume::Reset
                } else {
                    Resume::Replay(replay)
                }
            }
        };
        Subscription { resume, receiver, last_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(ticket_id: i64) -> EventKind {
        EventKind::TicketCreated { ticket_id }
    }

    fn ids(resume: &Resume) -> Option<Vec<u64>> {
        match resume {
            Resume::Replay(events) => Some(events.iter().map(|event| event.id).collect()),
            Resume::Reset => None,
        }
    }

    #[test]
    fn resume_replays_what_the_ring_holds_and_resets_past_it() {
        let hub = EventHub::with_capacity(3);
        for ticket_id in 1..=5 {
            hub.publish(created(ticket_id));
        }
        let epoch = hub.epoch().to_string();
        // The ring holds ids 3, 4, 5. (after, expected replay; None = reset)
        let cases: [(Option<(u64, &str)>, Option<Vec<u64>>); 7] = [
            (None, Some(vec![])),
            (Some((5, &epoch)), Some(vec![])),
            (Some((4, &epoch)), Some(vec![5])),
            (Some((2, &epoch)), Some(vec![3, 4, 5])),
            (Some((1, &epoch)), None),
            (Some((9, &epoch)), None),
            (Some((4, "another-process")), None),
        ];
        for (after, expected) in cases {
            assert_eq!(ids(&hub.subscribe(after).resume), expected, "after {after:?}");
        }
    }

    #[tokio::test]
    async fn live_events_follow_the_replay_without_gap_or_double() {
        let hub = EventHub::default();
        hub.publish(created(1));
        let mut subscription = hub.subscribe(Some((0, hub.epoch())));
        assert_eq!(ids(&subscription.resume), Some(vec![1]));
        assert_eq!(subscription.last_id, 1);
        let id = hub.publish(EventKind::message_added(1, 7, sb_store::Direction::Inbound));
        let live = subscription.receiver.recv().await.unwrap();
        assert_eq!((live.id, id), (2, 2));
        let json = serde_json::to_value(&*live).unwrap();
        assert_eq!(json["type"], "message_added");
        assert_eq!(json["direction"], "inbound");
        assert_eq!(json["ticket_id"], 1);
        assert_eq!(serde_json::from_str::<serde_json::Value>(live.json()).unwrap(), json, "the JSON written once is the event");
    }

    #[tokio::test]
    async fn typing_reaches_live_subscribers_but_is_never_replayed() {
        let hub = EventHub::default();
        hub.publish(created(1));
        let mut subscription = hub.subscribe(None);
        hub.publish_transient(EventKind::Typing { ticket_id: 1, party: "customer".into() });
        let live = subscription.receiver.recv().await.unwrap();
        assert_eq!((live.id, serde_json::to_value(&*live).unwrap()["type"].clone()), (1, serde_json::json!("typing")));
        assert_eq!(ids(&hub.subscribe(Some((0, hub.epoch()))).resume), Some(vec![1]), "the ring holds only the real event");
        assert_eq!(hub.publish(created(2)), 2, "typing took no id");
    }

    fn from_replica(origin: &str, kind: EventKind, transient: bool) -> Relayed {
        Relayed::Event { origin: origin.into(), at: Utc::now(), transient, event: kind }
    }

    #[test]
    fn relayed_events_take_local_ids_and_a_gap_ends_replay() {
        let hub = EventHub::default();
        let epoch = hub.epoch().to_string();
        hub.publish(created(1));
        // (what arrives, published here?) in order.
        let arrivals = [
            (from_replica("replica-b", created(2), false), true),
            (from_replica(&epoch, created(3), false), false),
            (from_replica("replica-b", EventKind::Typing { ticket_id: 2, party: "customer".into() }, true), true),
            (from_replica("replica-c", EventKind::message_added(2, 9, sb_store::Direction::Outbound), false), true),
        ];
        for (relayed, expected) in arrivals {
            let description = format!("{relayed:?}");
            assert_eq!(hub.publish_relayed(relayed), expected, "{description}");
        }
        // Ids 1 (own), 2 and 3 (relayed; the echo and the typing hint took none).
        assert_eq!(ids(&hub.subscribe(Some((0, &epoch))).resume), Some(vec![1, 2, 3]));
        let mut live = hub.subscribe(None).receiver;
        hub.publish_relayed(from_replica("replica-b", created(4), false));
        let event = live.try_recv().unwrap();
        assert_eq!((event.id, &event.kind), (4, &created(4)), "live subscribers hear relayed events");

        let gap_id = hub.publish_gap();
        assert_eq!(gap_id, 5);
        for (after, expected) in [(0, None), (4, None), (5, Some(vec![]))] {
            assert_eq!(ids(&hub.subscribe(Some((after, &epoch))).resume), expected, "after {after}: a resume across the gap resets");
        }
        assert!(hub.publish_relayed(Relayed::Gap { origin: "replica-b".into() }), "another replica's lost events are a gap here too");
        assert_eq!(hub.subscribe(None).last_id, 6);
    }

    #[tokio::test]
    async fn published_events_are_relayed_once_in_order_and_a_full_relay_is_a_gap() {
        let hub = EventHub::default();
        hub.publish(created(1));
        let (relay, mut relayed) = mpsc::channel(2);
        assert!(hub.start_relay(relay.clone()));
        assert!(!hub.start_relay(relay), "one relay");
        hub.publish(created(2));
        hub.publish(EventKind::MetricsTick { metrics: Box::new(LiveMetrics::default()) });
        hub.publish_transient(EventKind::Typing { ticket_id: 2, party: "agent".into() });
        let kinds: Vec<(EventKind, bool)> = std::iter::from_fn(|| relayed.try_recv().ok())
            .map(|relayed| match relayed {
                Relayed::Event { origin, event, transient, .. } => {
                    assert_eq!(origin, hub.epoch());
                    (event, transient)
                }
                Relayed::Gap { .. } => unreachable!("no gap yet"),
            })
            .collect();
        assert_eq!(kinds, vec![(created(2), false), (EventKind::Typing { ticket_id: 2, party: "agent".into() }, true)], "before the relay: none; metrics: never");
        assert!(!hub.take_relay_lost());
        for ticket_id in 3..=5 {
            hub.publish(created(ticket_id));
        }
        assert!(hub.take_relay_lost(), "the third event found the relay full");
        assert!(!hub.take_relay_lost(), "reported once");
        let sent = relayed.try_recv().unwrap();
        let payload = serde_json::to_string(&sent).unwrap();
        assert_eq!(serde_json::from_str::<Relayed>(&payload).unwrap(), sent, "the payload reads back");
        assert!(matches!(&sent, Relayed::Event { event, .. } if *event == created(3)), "{sent:?}");
        assert!(payload.contains("\"relay\":\"event\"") && payload.contains("\"type\":\"ticket_created\""), "{payload}");
    }
}
