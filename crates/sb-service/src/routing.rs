//! Live routing: tickets waiting unassigned in the human or safety queue go to a present agent
//! whose skills cover them, most urgent first, to the agent with the most room, within capacity.
//!
//! The decision is sb-wfm's greedy router (`assign::assign_greedy`: priority band, then the next
//! SLA deadline; among eligible agents the lowest load relative to capacity), fed with an
//! eligibility this module computes per ticket and agent ([`sb_store::RoutableAgent::can_serve`]:
//! intents, languages, channels, the safety skill) and repeated when two chats land on an agent
//! with room for one (sb-wfm knows one capacity; agents here have two). The store applies the
//! decision in the transaction it read the snapshot in (`Store::route_tickets`), and keeps the
//! rules whatever it is given.
//!
//! Hidden contracts:
//! - Presence is in the store (status plus heartbeat), so any process may route and agents may
//!   use any process. Each process runs one router task when `[routing] enabled`; rounds run
//!   every `interval`, and at once when a ticket arrives or is given back, or an agent becomes
//!   present (events of this process; other processes' changes wait for the interval).
//! - Each round first gives back the unstarted tickets of agents whose heartbeat expired.
//! - Events are published after the commit, like every other ticket change.

use std::time::Duration;

use chrono::Utc;
use sb_domain::{Channel, Intent};
use sb_store::{AgentRouting, PresenceStatus, RoutableAgent, RoutedTicket, RoutingSkills, RoutingSnapshot, MAX_CAPACITY};
use sb_wfm::assign::{assign_greedy, Agent, Priority, Ticket};
use tokio::sync::watch;

use crate::actions::Actor;
use crate::{Error, EventKind, Result, Service};

/// `[routing]`: live routing of the human and safety queues.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Run the router (each process runs one).
    pub enabled: bool,
    /// Time between rounds when nothing wakes the router earlier.
    pub interval: Duration,
    /// How long a console's heartbeat keeps its agent present.
    pub presence_ttl: Duration,
    /// Waiting tickets one round looks at (most urgent first).
    pub batch_size: i64,
}

impl Default for RoutingConfig {
    fn default() -> RoutingConfig {
        RoutingConfig { enabled: true, interval: Duration::from_secs(5), presence_ttl: Duration::from_secs(90), batch_size: 200 }
    }
}

impl RoutingConfig {
    /// How often a console should renew its heartbeat: three beats per TTL, so one lost
    /// request does not make an agent absent.
    pub fn heartbeat_interval(&self) -> Duration {
        (self.presence_ttl / 3).max(Duration::from_secs(1))
    }

    fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.presence_ttl).unwrap_or(chrono::Duration::seconds(90))
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingRound {
    pub routed: Vec<RoutedTicket>,
    /// Tickets given back because their agent's heartbeat expired.
    pub released: Vec<i64>,
}

/// Most entries a skill list may hold.
pub const MAX_SKILL_LABELS: usize = 64;

/// The 0–100 priority in sb-wfm's four bands (the reports' bands: 75+, 50+, 25+, below).
fn priority_band(priority: i64) -> Priority {
    match priority {
        75.. => Priority::Urgent,
        50..=74 => Priority::High,
        25..=49 => Priority::Normal,
        _ => Priority::Low,
    }
}

fn capacity(value: i64) -> u32 {
    u32::try_from(value.clamp(0, MAX_CAPACITY)).unwrap_or(0)
}

/// Which agent takes which ticket: sb-wfm's greedy router, most urgent ticket first, each to the
/// eligible agent with the lowest load relative to capacity. Eligibility is
/// [`RoutableAgent::can_serve`] plus room for a chat; sb-wfm fills the open-ticket capacity, and
/// chats it put past an agent's chat capacity are routed again with that agent excluded.
pub fn decide_routes(snapshot: &RoutingSnapshot) -> Vec<RoutedTicket> {
    let mut agents: Vec<RoutableAgent> = snapshot.agents.clone();
    let mut waiting: Vec<usize> = (0..snapshot.tickets.len()).collect();
    let mut routed = Vec::new();
    // Each pass either routes a ticket or leaves nothing to retry, so this bound is never hit.
    for _ in 0..=snapshot.tickets.len() {
        if waiting.is_empty() {
            break;
        }
        let tickets: Vec<Ticket> = waiting
            .iter()
            .enumerate()
            .map(|(row, &ticket_idx)| {
                let ticket = &snapshot.tickets[ticket_idx];
                let due_in_seconds = ticket.due_at.map_or(1e12, |due_at| (due_at - snapshot.now).num_milliseconds() as f64 / 1_000.0);
                // sb-wfm matches an agent's intents to a ticket's; each waiting ticket is its own
                // "intent" here, listed by exactly the agents eligible for it.
                Ticket { intent: row, language: 0, priority: priority_band(ticket.priority), due_in_seconds }
            })
            .collect();
        let wfm_agents: Vec<Agent> = agents
            .iter()
            .map(|agent| Agent {
                intents: waiting
                    .iter()
                    .enumerate()
                    .filter(|(_, ticket_idx)| {
                        let ticket = &snapshot.tickets[**ticket_idx];
                        agent.can_serve(ticket) && (ticket.channel != Channel::Chat || agent.open_chats < agent.skills.max_chats)
                    })
                    .map(|(row, _)| row)
                    .collect(),
                secondary_intents: Vec::new(),
                languages: vec![0],
                capacity: capacity(agent.skills.max_open_tickets),
                load: capacity(agent.open_tickets),
            })
            .collect();
        let assignment = assign_greedy(&tickets, &wfm_agents);
        // Accept in the greedy's own order (most urgent first) so a chat over capacity is the
        // less urgent one.
        let mut rows: Vec<usize> = (0..tickets.len()).collect();
        rows.sort_by(|&a, &b| tickets[a].priority.cmp(&tickets[b].priority).then(tickets[a].due_in_seconds.total_cmp(&tickets[b].due_in_seconds)).then(a.cmp(&b)));
        let mut retry = Vec::new();
        for row in rows {
            let Some(agent_idx) = assignment[row] else { continue };
            let ticket = &snapshot.tickets[waiting[row]];
            let agent = &mut agents[agent_idx];
            if agent.has_room_for(ticket) {
                agent.open_tickets += 1;
                agent.open_chats += i64::from(ticket.channel == Channel::Chat);
                routed.push(RoutedTicket { ticket_id: ticket.id, user_id: agent.user_id });
            } else {
                retry.push(waiting[row]);
            }
        }
        waiting = retry;
    }
    routed
}

/// Checks and normalises an admin's skills: known intents and channels, two-letter language
/// codes, capacities within 0–[`MAX_CAPACITY`]; lists sorted without repeats.
pub fn validate_skills(skills: &RoutingSkills) -> Result<RoutingSkills> {
    fn clean(field: &str, labels: &[String], valid: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        if labels.len() > MAX_SKILL_LABELS {
            return Err(Error::Invalid(format!("`{field}` has {} entries; the limit is {MAX_SKILL_LABELS}", labels.len())));
        }
        let mut cleaned: Vec<String> = labels.iter().map(|label| label.trim().to_lowercase()).collect();
        if let Some(bad) = cleaned.iter().find(|label| !valid(label)) {
            return Err(Error::Invalid(format!("`{field}` holds `{}`, which is not one", bad.chars().take(40).collect::<String>())));
        }
        cleaned.sort();
        cleaned.dedup();
        Ok(cleaned)
    }
    for (field, value) in [("max_open_tickets", skills.max_open_tickets), ("max_chats", skills.max_chats)] {
        if !(0..=MAX_CAPACITY).contains(&value) {
            return Err(Error::Invalid(format!("`{field}` is {value}; it must be between 0 and {MAX_CAPACITY}")));
        }
    }
    Ok(RoutingSkills {
        intents: clean("intents", &skills.intents, |label| label.parse::<Intent>().is_ok())?,
        languages: clean("languages", &skills.languages, |label| label.len() == 2 && label.bytes().all(|byte| byte.is_ascii_lowercase()))?,
        channels: clean("channels", &skills.channels, |label| Channel::parse(label).is_some())?,
        safety: skills.safety,
        max_open_tickets: skills.max_open_tickets,
        max_chats: skills.max_chats,
    })
}

/// Whether an event may have made a ticket routable.
fn wakes_router(kind: &EventKind) -> bool {
    match kind {
        EventKind::TicketCreated { .. } => true,
        EventKind::TicketUpdated { status, queue, assignee_id, .. } => assignee_id.is_none() && matches!(queue.as_str(), "human" | "safety") && matches!(status.as_str(), "new" | "open"),
        _ => false,
    }
}

impl Service {
    fn routing_config(&self) -> &RoutingConfig {
        &self.config().routing
    }

    /// Asks the router task of this process for a round now.
    pub(crate) fn wake_router(&self) {
        self.inner.router_wake.notify_one();
    }

    /// One round: gives back the unstarted tickets of agents whose heartbeat expired, then
    /// routes the waiting tickets, and publishes each change.
    pub async fn route_round(&self) -> Result<RoutingRound> {
        let config = self.routing_config();
        let now = Utc::now();
        let expired = self.store().release_expired_agents(now, config.ttl()).await?;
        let released: Vec<i64> = expired.into_iter().flat_map(|agent| agent.ticket_ids).collect();
        let routed = self.store().route_tickets(now, config.ttl(), config.batch_size, decide_routes).await?;
        for ticket_id in released.iter().chain(routed.iter().map(|routed| &routed.ticket_id)) {
            let ticket = self.store().ticket(*ticket_id).await?;
            self.publish_ticket_updated(&ticket);
        }
        if !routed.is_empty() || !released.is_empty() {
            tracing::debug!(routed = routed.len(), released = released.len(), "routing round");
        }
        Ok(RoutingRound { routed, released })
    }

    /// The router task: a round every `[routing] interval`, and at once when this process sees
    /// a ticket arrive or come back to the queue, or an agent become present. Returns at
    /// shutdown, or at once when routing is disabled.
    pub async fn run_router(&self, mut shutdown: watch::Receiver<bool>) {
        if !self.routing_config().enabled {
            return;
        }
        let interval = self.routing_config().interval;
        let mut subscription = self.events().subscribe(None);
        // The hub lives as long as the service; should it close, the interval alone drives.
        let mut events_open = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(error) = self.route_round().await {
                tracing::warn!(error = %error, "routing round failed");
            }
            let sleep = tokio::time::sleep(interval);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    _ = shutdown.changed() => break,
                    _ = self.inner.router_wake.notified() => break,
                    event = subscription.receiver.recv(), if events_open => match event {
                        Ok(event) if wakes_router(&event.kind) => break,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => events_open = false,
                    },
                }
            }
        }
    }

    /// A user's routing profile, with presence as of now.
    pub async fn agent_routing(&self, user_id: i64) -> Result<AgentRouting> {
        Ok(self.store().agent_routing(user_id, Utc::now(), self.routing_config().ttl()).await?)
    }

    /// Every user who works tickets, with skills, capacity, presence and load.
    pub async fn list_agent_routing(&self) -> Result<Vec<AgentRouting>> {
        Ok(self.store().list_agent_routing(Utc::now(), self.routing_config().ttl()).await?)
    }

    /// Sets a user's skills and capacity (an admin's action, audited as `agent.routing_changed`).
    /// Only users who work tickets (agents, supervisors, admins) take routed work.
    pub async fn set_agent_skills(&self, user_id: i64, skills: &RoutingSkills, actor: &Actor) -> Result<AgentRouting> {
        let skills = validate_skills(skills)?;
        let user = self.store().user(user_id).await?;
        if !matches!(user.role, sb_store::Role::Agent | sb_store::Role::Supervisor | sb_store::Role::Admin) {
            return Err(Error::Invalid(format!("user {user_id} is a {} and does not work tickets", user.role.as_str())));
        }
        let audit = [sb_store::NewAuditEntry::new(&actor.audit_name, "agent.routing_changed", "user", user_id, serde_json::to_value(&skills)?)];
        self.store().set_agent_skills(user_id, &skills, &audit, Utc::now()).await?;
        self.wake_router();
        self.agent_routing(user_id).await
    }

    /// An agent's own presence: `available` or `away` (audited when it changes). Going away gives
    /// the agent's unstarted tickets back to the queue, where the router offers them to others.
    pub async fn set_presence(&self, user_id: i64, status: PresenceStatus, actor: &Actor) -> Result<AgentRouting> {
        let released = self.store().set_agent_presence(user_id, status, &actor.audit_name, Utc::now()).await?;
        for ticket_id in released {
            let ticket = self.store().ticket(ticket_id).await?;
            self.publish_ticket_updated(&ticket);
        }
        self.wake_router();
        self.agent_routing(user_id).await
    }

    /// The console is still open: renews the agent's heartbeat, and routes at once when that
    /// made the agent present again.
    pub async fn presence_heartbeat(&self, user_id: i64) -> Result<AgentRouting> {
        let before = self.agent_routing(user_id).await?;
        self.store().agent_heartbeat(user_id, Utc::now()).await?;
        let after = self.agent_routing(user_id).await?;
        if after.present && !before.present {
            self.wake_router();
        }
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use sb_domain::Channel;
    use sb_store::{Queue, RoutableAgent, RoutableTicket, RoutedTicket, RoutingSkills, RoutingSnapshot};

    use super::{decide_routes, validate_skills};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    /// `spec`: id, channel, queue, language, priority, minutes to the deadline.
    fn ticket(id: i64, channel: Channel, queue: Queue, language: &str, priority: i64, due_minutes: i64) -> RoutableTicket {
        RoutableTicket {
            id,
            channel,
            queue,
            category: None,
            intent: Some("track_order".into()),
            language: Some(language.into()),
            priority,
            due_at: Some(now() + Duration::minutes(due_minutes)),
            created_at: now(),
        }
    }

    fn agent(user_id: i64, safety: bool, languages: &[&str], max_open_tickets: i64, max_chats: i64, open_tickets: i64) -> RoutableAgent {
        let skills = RoutingSkills { safety, languages: languages.iter().map(|code| code.to_string()).collect(), max_open_tickets, max_chats, ..RoutingSkills::default() };
        RoutableAgent { user_id, skills, open_tickets, open_chats: 0 }
    }

    fn check(agents: Vec<RoutableAgent>, tickets: Vec<RoutableTicket>, expect: &[(i64, i64)]) {
        let routed = decide_routes(&RoutingSnapshot { now: now(), agents, tickets });
        let expect: Vec<RoutedTicket> = expect.iter().map(|&(ticket_id, user_id)| RoutedTicket { ticket_id, user_id }).collect();
        assert_eq!(routed, expect);
    }

    #[test]
    fn urgent_work_first_to_the_agent_with_most_room() {
        use Channel::*;
        use Queue::*;
        // Ticket 2 is the most urgent (priority 90), then 3 (due sooner than 1 in the same
        // band). Agent 10 holds 3 of 4, agent 11 none of 2: the emptier agent first, the rest to whoever has room.
        check(
            vec![agent(10, false, &[], 4, 3, 3), agent(11, false, &[], 2, 3, 0)],
            vec![ticket(1, Email, Human, "en", 40, 60), ticket(2, Email, Human, "en", 90, 60), ticket(3, Email, Human, "en", 40, 10)],
            &[(2, 11), (3, 11), (1, 10)],
        );
        // Safety only to the safety-skilled; languages respected; nobody able: stays waiting.
        check(
            vec![agent(10, true, &["en"], 4, 3, 3), agent(11, false, &["es", "en"], 4, 3, 0)],
            vec![ticket(1, Email, Safety, "en", 90, 5), ticket(2, Email, Safety, "en", 90, 6), ticket(3, Email, Human, "de", 40, 5), ticket(4, Email, Human, "es", 40, 5)],
            &[(1, 10), (4, 11)],
        );
        // Two chats, one chat slot each: the second chat goes to the other agent even though
        // the first agent has the most room overall.
        check(
            vec![agent(10, false, &[], 10, 1, 0), agent(11, false, &[], 10, 1, 5)],
            vec![ticket(1, Chat, Human, "en", 40, 5), ticket(2, Chat, Human, "en", 40, 6), ticket(3, Chat, Human, "en", 40, 7)],
            &[(1, 10), (2, 11)],
        );
    }

    #[test]
    fn skills_are_checked_and_normalised() {
        let skills = RoutingSkills { intents: vec!["track_order".into(), " Track_Order".into()], languages: vec!["es".into(), "EN".into()], channels: vec!["chat".into()], ..RoutingSkills::default() };
        let cleaned = validate_skills(&skills).unwrap();
        assert_eq!((cleaned.intents, cleaned.languages, cleaned.channels), (vec!["track_order".to_string()], vec!["en".to_string(), "es".to_string()], vec!["chat".to_string()]));
        for bad in [
            RoutingSkills { intents: vec!["world_peace".into()], ..RoutingSkills::default() },
            RoutingSkills { languages: vec!["english".into()], ..RoutingSkills::default() },
            RoutingSkills { channels: vec!["fax".into()], ..RoutingSkills::default() },
            RoutingSkills { max_open_tickets: -1, ..RoutingSkills::default() },
            RoutingSkills { max_chats: 1_001, ..RoutingSkills::default() },
            RoutingSkills { languages: vec!["en".into(); 65], ..RoutingSkills::default() },
        ] {
            assert!(validate_skills(&bad).is_err(), "{bad:?}");
        }
    }
}
