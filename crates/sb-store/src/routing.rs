//! Live routing (migration 0010): each agent's skills, capacity and presence, and the
//! transaction in which the router hands unassigned human- and safety-queue tickets to present
//! agents.
//!
//! Hidden contracts:
//! - Presence lives in the database (`agent_routing.status` plus a heartbeat), never in a
//!   process's memory: several processes share one PostgreSQL database, and any of them may
//!   route. An agent is present while its status is `available`, its heartbeat is younger than
//!   the caller's TTL, and it is an active agent, supervisor or admin.
//! - [`Store::route_tickets`] reads the present agents and the waiting tickets, asks the
//!   caller's `decide` for the pairs, and writes them, all in one transaction. On PostgreSQL it
//!   takes the agents' and tickets' rows with `FOR UPDATE SKIP LOCKED`, so two processes routing
//!   at once work on disjoint agents and tickets: no ticket is assigned twice and no agent's
//!   capacity is counted by two routers. Whatever `decide` answers, the store writes only pairs
//!   that keep the rules ([`RoutableAgent::can_serve`], [`RoutableAgent::has_room_for`]):
//!   a safety ticket never reaches an agent without the safety skill, and nobody is filled past
//!   capacity by the router (a person may still assign by hand).
//! - Going away (an explicit `away`, or a heartbeat that expired) gives the agent's unstarted
//!   tickets back to the queue: open tickets assigned to the agent on which the agent wrote
//!   nothing (no reply, no note). An expiry is acted on once (`released_at`).
//! - Capacity counts open work: `max_open_tickets` bounds tickets in `new`, `open` or
//!   `pending`; `max_chats` bounds chat tickets in `new` or `open`.

use chrono::{DateTime, Duration, Utc};
use sb_domain::Channel;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::audit::append_audit;
use crate::records::{parse_channel, string_enum, DbRow};
use crate::{from_ms, from_ms_opt, on_reader, on_writer, to_ms, Backend, Error, NewAuditEntry, Queue, Result, Role, Store};

string_enum!(
    /// What an agent says about itself in the console.
    PresenceStatus {
        /// Ready for routed work (while the console keeps the heartbeat fresh).
        Available => "available",
        Away => "away",
    }
);

/// Default capacity of an agent nobody configured.
pub const DEFAULT_MAX_OPEN_TICKETS: i64 = 8;
pub const DEFAULT_MAX_CHATS: i64 = 3;
/// The most a capacity may be set to (the schema's check).
pub const MAX_CAPACITY: i64 = 1_000;

/// What an admin sets: skills and capacity. An empty list means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutingSkills {
    /// Intent labels the agent handles (`track_order`, …); empty: every intent.
    pub intents: Vec<String>,
    /// ISO 639-1 codes of the languages the agent answers in; empty: every language.
    pub languages: Vec<String>,
    /// Channels the agent works (`email`, `chat`, …); empty: every channel.
    pub channels: Vec<String>,
    /// May receive safety-queue tickets.
    pub safety: bool,
    /// Open tickets (`new`, `open`, `pending`) the router fills the agent up to.
    pub max_open_tickets: i64,
    /// Chats (`new` or `open` chat tickets) the router fills the agent up to.
    pub max_chats: i64,
}

impl Default for RoutingSkills {
    fn default() -> RoutingSkills {
        RoutingSkills { intents: Vec::new(), languages: Vec::new(), channels: Vec::new(), safety: false, max_open_tickets: DEFAULT_MAX_OPEN_TICKETS, max_chats: DEFAULT_MAX_CHATS }
    }
}

/// An agent's routing profile as stored, with its presence and load at the time of reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRouting {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub skills: RoutingSkills,
    pub status: PresenceStatus,
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// `available` with a fresh heartbeat, and a user who may work tickets: what the router
    /// routes to.
    pub present: bool,
    /// Tickets in `new`, `open` or `pending` assigned to the agent.
    pub open_tickets: i64,
    /// Chat tickets in `new` or `open` assigned to the agent.
    pub open_chats: i64,
    /// When the skills, capacity or status last changed (none: never configured).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A present agent as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutableAgent {
    pub user_id: i64,
    pub skills: RoutingSkills,
    pub open_tickets: i64,
    pub open_chats: i64,
}

/// A waiting ticket as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutableTicket {
    pub id: i64,
    pub channel: Channel,
    pub queue: Queue,
    pub category: Option<String>,
    pub intent: Option<String>,
    /// The language of its latest triage (ISO 639-1), when known.
    pub language: Option<String>,
    pub priority: i64,
    /// The next SLA deadline: the first response's while unanswered, else the resolution's.
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl RoutableTicket {
    /// Safety work: the safety queue, or anything classified as safety.
    pub fn needs_safety(&self) -> bool {
        self.queue == Queue::Safety || self.category.as_deref() == Some("safety_compliance")
    }
}

impl RoutableAgent {
    /// Whether the agent's skills cover the ticket (capacity aside). An unknown intent or
    /// language is served by agents who list none, so a ticket triage could not label still
    /// finds somebody.
    pub fn can_serve(&self, ticket: &RoutableTicket) -> bool {
        let covers = |skills: &[String], value: Option<&str>| skills.is_empty() || value.is_some_and(|value| skills.iter().any(|skill| skill == value));
        (!ticket.needs_safety() || self.skills.safety)
            && covers(&self.skills.intents, ticket.intent.as_deref())
            && covers(&self.skills.languages, ticket.language.as_deref())
            && covers(&self.skills.channels, Some(ticket.channel.as_str()))
    }

    /// Whether one more ticket like this keeps the agent within capacity.
    pub fn has_room_for(&self, ticket: &RoutableTicket) -> bool {
        self.open_tickets < self.skills.max_open_tickets && (ticket.channel != Channel::Chat || self.open_chats < self.skills.max_chats)
    }
}

/// What the router decides from.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSnapshot {
    pub now: DateTime<Utc>,
    /// Present agents, by user id.
    pub agents: Vec<RoutableAgent>,
    /// Unassigned open tickets of the human and safety queues, highest priority then oldest.
    pub tickets: Vec<RoutableTicket>,
}

/// A ticket the router assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutedTicket {
    pub ticket_id: i64,
    pub user_id: i64,
}

/// Tickets given back to the queue because their agent went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedTickets {
    pub user_id: i64,
    pub ticket_ids: Vec<i64>,
}

/// Roles that work tickets (the others cannot act on them).
const WORKING_ROLES: &str = "('agent', 'supervisor', 'admin')";

const ROUTING_COLUMNS: &str = "r.user_id, r.intents, r.languages, r.channels, r.safety, r.max_open_tickets, r.max_chats, r.status, r.heartbeat_at, r.updated_at";

fn labels(row: &impl DbRow, column: &'static str) -> Result<Vec<String>> {
    let text = row.string(column)?;
    serde_json::from_str(&text).map_err(|source| Error::Json { what: "routing skills", source })
}

fn skills_from_row(row: &impl DbRow) -> Result<RoutingSkills> {
    Ok(RoutingSkills {
        intents: labels(row, "intents")?,
        languages: labels(row, "languages")?,
        channels: labels(row, "channels")?,
        safety: row.bool("safety")?,
        max_open_tickets: row.i64("max_open_tickets")?,
        max_chats: row.i64("max_chats")?,
    })
}

fn status_from_row(row: &impl DbRow) -> Result<PresenceStatus> {
    let label = row.string("status")?;
    PresenceStatus::parse(&label).ok_or_else(|| Error::Invalid(format!("unknown presence `{label}` in the database")))
}

fn json_labels(labels: &[String]) -> Result<String> {
    serde_json::to_string(labels).map_err(|source| Error::Json { what: "routing skills", source })
}

/// Comma-separated ids for an `IN (…)` list: integers this module read from the database.
fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
}

/// Gives the agent's unstarted tickets back to the queue inside the caller's transaction;
/// evaluates to their ids.
macro_rules! release_unstarted {
    ($tx:expr, $user_id:expr, $now_ms:expr) => {{
        let rows = sqlx::query(
            "UPDATE tickets SET assignee_id = NULL, updated_at = CASE WHEN $1 > updated_at THEN $1 ELSE updated_at + 1 END \
             WHERE assignee_id = $2 AND status IN ('new', 'open') \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = tickets.id AND m.author_user_id = $3) RETURNING id",
        )
        .bind($now_ms)
        .bind($user_id)
        .bind($user_id)
        .fetch_all(&mut *$tx)
        .await?;
        let mut ids = rows.iter().map(|row| row.i64("id")).collect::<Result<Vec<i64>>>()?;
        ids.sort_unstable();
        ids
    }};
}

fn release_audit(actor: &str, user_id: i64, ticket_ids: &[i64], reason: &str) -> Vec<NewAuditEntry> {
    ticket_ids.iter().map(|ticket_id| NewAuditEntry::new(actor, "ticket.assigned", "ticket", ticket_id, serde_json::json!({"from": user_id, "to": null, "by": "router", "reason": reason}))).collect()
}

impl Store {
    /// Sets an agent's skills and capacity (creating the profile, away, when it has none),
    /// with the audit entries, in one transaction. The caller validates the labels; the schema
    /// refuses a capacity outside 0–[`MAX_CAPACITY`].
    pub async fn set_agent_skills(&self, user_id: i64, skills: &RoutingSkills, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let (intents, languages, channels) = (json_labels(&skills.intents)?, json_labels(&skills.languages)?, json_labels(&skills.channels)?);
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(Error::not_found("user", user_id));
            }
            sqlx::query(
                "INSERT INTO agent_routing (user_id, intents, languages, channels, safety, max_open_tickets, max_chats, status, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'away', $8) ON CONFLICT (user_id) DO UPDATE SET intents = excluded.intents, languages = excluded.languages, \
                 channels = excluded.channels, safety = excluded.safety, max_open_tickets = excluded.max_open_tickets, max_chats = excluded.max_chats, updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(&intents)
            .bind(&languages)
            .bind(&channels)
            .bind(skills.safety)
            .bind(skills.max_open_tickets)
            .bind(skills.max_chats)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets an agent's presence and renews its heartbeat (creating a default profile when it
    /// has none). A change of status is audited as `agent.presence_changed` by `actor`; going
    /// away gives the agent's unstarted tickets back to the queue in the same transaction
    /// (audited as `ticket.assigned` to nobody). Returns the released tickets' ids.
    pub async fn set_agent_presence(&self, user_id: i64, status: PresenceStatus, actor: &str, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let now_ms = to_ms(now);
        let lock = if self.backend() == Backend::Postgres { "FOR UPDATE" } else { "" };
        let released = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(Error::not_found("user", user_id));
            }
            let before: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT status FROM agent_routing WHERE user_id = $1 {lock}"))).bind(user_id).fetch_optional(&mut *tx).await?;
            let before = before.as_deref().and_then(PresenceStatus::parse).unwrap_or(PresenceStatus::Away);
            sqlx::query(
                "INSERT INTO agent_routing (user_id, max_open_tickets, max_chats, status, heartbeat_at, released_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, heartbeat_at = excluded.heartbeat_at, \
                 released_at = COALESCE(excluded.released_at, agent_routing.released_at), \
                 updated_at = CASE WHEN agent_routing.status = excluded.status THEN agent_routing.updated_at ELSE excluded.updated_at END",
            )
            .bind(user_id)
            .bind(DEFAULT_MAX_OPEN_TICKETS)
            .bind(DEFAULT_MAX_CHATS)
            .bind(status.as_str())
            .bind(now_ms)
            .bind((status == PresenceStatus::Away).then_some(now_ms))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            let released = if status == PresenceStatus::Away { release_unstarted!(tx, user_id, now_ms) } else { Vec::new() };
            let mut audit = Vec::new();
            if before != status {
                audit.push(NewAuditEntry::new(actor, "agent.presence_changed", "user", user_id, serde_json::json!({"from": before.as_str(), "to": status.as_str()})));
            }
            audit.extend(release_audit(actor, user_id, &released, "agent_away"));
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            released
        });
        Ok(released)
    }

    /// Renews the heartbeat of an agent's console (creating a default profile, away, when it
    /// has none). Not audited: it only says the console is still open.
    pub async fn agent_heartbeat(&self, user_id: i64, now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(pool).await?;
            if exists.is_none() {
                return Err(Error::not_found("user", user_id));
            }
            sqlx::query(
                "INSERT INTO agent_routing (user_id, max_open_tickets, max_chats, status, heartbeat_at, updated_at) VALUES ($1, $2, $3, 'away', $4, $5) \
                 ON CONFLICT (user_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            )
            .bind(user_id)
            .bind(DEFAULT_MAX_OPEN_TICKETS)
            .bind(DEFAULT_MAX_CHATS)
            .bind(now_ms)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The routing profiles of every user who may work tickets (defaults for those never
    /// configured), with presence as of `now` and their open work, by user id.
    pub async fn list_agent_routing(&self, now: DateTime<Utc>, presence_ttl: Duration) -> Result<Vec<AgentRouting>> {
        self.agent_routing_where("u.role IN ".to_string() + WORKING_ROLES, now, presence_ttl).await
    }

    /// One user's routing profile (defaults when never configured).
    pub async fn agent_routing(&self, user_id: i64, now: DateTime<Utc>, presence_ttl: Duration) -> Result<AgentRouting> {
        let mut rows = self.agent_routing_where(format!("u.id = {user_id}"), now, presence_ttl).await?;
        rows.pop().ok_or_else(|| Error::not_found("user", user_id))
    }

    /// `condition` is SQL of this module over `u` (users) with integers it was given.
    async fn agent_routing_where(&self, condition: String, now: DateTime<Utc>, presence_ttl: Duration) -> Result<Vec<AgentRouting>> {
        let fresh_after_ms = to_ms(now - presence_ttl);
        let sql = format!(
            "SELECT u.id AS id, u.name AS name, u.role AS role, u.active AS active, {ROUTING_COLUMNS}, \
             (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id AND t.status IN ('new', 'open', 'pending')) AS open_tickets, \
             (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id AND t.status IN ('new', 'open') AND t.channel = 'chat') AS open_chats \
             FROM users u LEFT JOIN agent_routing r ON r.user_id = u.id WHERE {condition} ORDER BY u.id"
        );
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
            let mut profiles = Vec::with_capacity(rows.len());
            for row in &rows {
                let role_label = row.string("role")?;
                let role = Role::parse(&role_label).ok_or_else(|| Error::Invalid(format!("unknown role `{role_label}` in the database")))?;
                let configured = row.opt_i64("user_id")?.is_some();
                let (skills, status, heartbeat_at, updated_at) = if configured {
                    (skills_from_row(row)?, status_from_row(row)?, from_ms_opt(row.opt_i64("heartbeat_at")?), from_ms_opt(row.opt_i64("updated_at")?))
                } else {
                    (RoutingSkills::default(), PresenceStatus::Away, None, None)
                };
                let active = row.bool("active")?;
                let works_tickets = matches!(role, Role::Agent | Role::Supervisor | Role::Admin);
                let present = active && works_tickets && status == PresenceStatus::Available && heartbeat_at.is_some_and(|heartbeat_at| to_ms(heartbeat_at) >= fresh_after_ms);
                profiles.push(AgentRouting {
                    user_id: row.i64("id")?,
                    name: row.string("name")?,
                    role,
                    active,
                    skills,
                    status,
                    heartbeat_at,
                    present,
                    open_tickets: row.i64("open_tickets")?,
                    open_chats: row.i64("open_chats")?,
                    updated_at,
                });
            }
            profiles
        });
        Ok(rows)
    }

    /// Gives back the unstarted tickets of agents still marked available whose heartbeat is
    /// older than `presence_ttl` (their console closed or lost its connection), once per
    /// expiry, audited by `system`. Agents another process is handling are skipped.
    pub async fn release_expired_agents(&self, now: DateTime<Utc>, presence_ttl: Duration) -> Result<Vec<ReleasedTickets>> {
        let now_ms = to_ms(now);
        let stale_before_ms = to_ms(now - presence_ttl);
        let lock = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let released = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let user_ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT user_id FROM agent_routing WHERE status = 'available' AND heartbeat_at < $1 AND (released_at IS NULL OR released_at < heartbeat_at) ORDER BY user_id {lock}"
            )))
            .bind(stale_before_ms)
            .fetch_all(&mut *tx)
            .await?;
            let mut released = Vec::new();
            let mut audit = Vec::new();
            for user_id in user_ids {
                let ticket_ids = release_unstarted!(tx, user_id, now_ms);
                sqlx::query("UPDATE agent_routing SET released_at = $1 WHERE user_id = $2").bind(now_ms).bind(user_id).execute(&mut *tx).await?;
                audit.extend(release_audit("system", user_id, &ticket_ids, "heartbeat_expired"));
                released.push(ReleasedTickets { user_id, ticket_ids });
            }
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            released
        });
        Ok(released)
    }

    /// One routing round in one transaction: reads the present agents (heartbeat within
    /// `presence_ttl`) and up to `limit` waiting tickets, asks `decide` which agent takes which
    /// ticket, and assigns the pairs that keep the rules (see the module's contracts), each
    /// audited as `ticket.assigned` by `system`. Returns what was assigned, in `decide`'s order.
    pub async fn route_tickets<F>(&self, now: DateTime<Utc>, presence_ttl: Duration, limit: i64, decide: F) -> Result<Vec<RoutedTicket>>
    where
        F: FnOnce(&RoutingSnapshot) -> Vec<RoutedTicket> + Send,
    {
        let now_ms = to_ms(now);
        let fresh_after_ms = to_ms(now - presence_ttl);
        let (agent_lock, ticket_lock) = match self.backend() {
            Backend::Postgres => ("FOR UPDATE OF r SKIP LOCKED", "FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => ("", ""),
        };
        let routed = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let agent_rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {ROUTING_COLUMNS} FROM agent_routing r JOIN users u ON u.id = r.user_id \
                 WHERE r.status = 'available' AND r.heartbeat_at >= $1 AND u.active AND u.role IN {WORKING_ROLES} ORDER BY r.user_id {agent_lock}"
            )))
            .bind(fresh_after_ms)
            .fetch_all(&mut *tx)
            .await?;
            let mut agents = Vec::with_capacity(agent_rows.len());
            for row in &agent_rows {
                agents.push(RoutableAgent { user_id: row.i64("user_id")?, skills: skills_from_row(row)?, open_tickets: 0, open_chats: 0 });
            }
            if agents.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let ticket_rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT id, channel, queue, category, intent, priority, first_response_due_at, first_responded_at, resolution_due_at, created_at FROM tickets \
                 WHERE assignee_id IS NULL AND queue IN ('human', 'safety') AND status IN ('new', 'open') ORDER BY priority DESC, created_at, id LIMIT $1 {ticket_lock}"
            )))
            .bind(limit.max(1))
            .fetch_all(&mut *tx)
            .await?;
            if ticket_rows.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let mut tickets = Vec::with_capacity(ticket_rows.len());
            for row in &ticket_rows {
                let queue_label = row.string("queue")?;
                let due_at = match row.opt_i64("first_responded_at")? {
                    None => row.opt_i64("first_response_due_at")?.or(row.opt_i64("resolution_due_at")?),
                    Some(_) => row.opt_i64("resolution_due_at")?,
                };
                tickets.push(RoutableTicket {
                    id: row.i64("id")?,
                    channel: parse_channel(&row.string("channel")?)?,
                    queue: Queue::parse(&queue_label).ok_or_else(|| Error::Invalid(format!("unknown queue `{queue_label}` in the database")))?,
                    category: row.opt_string("category")?,
                    intent: row.opt_string("intent")?,
                    language: None,
                    priority: row.i64("priority")?,
                    due_at: from_ms_opt(due_at),
                    created_at: from_ms(row.i64("created_at")?),
                });
            }
            // The language of each ticket's latest triage, through the messages (indexed by
            // ticket) rather than a scan of triage_results.
            let language_rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT m.ticket_id AS ticket_id, tr.result AS result FROM messages m JOIN triage_results tr ON tr.message_id = m.id \
                 WHERE m.ticket_id IN ({}) ORDER BY tr.id",
                id_list(tickets.iter().map(|ticket| ticket.id))
            )))
            .fetch_all(&mut *tx)
            .await?;
            for row in &language_rows {
                let ticket_id = row.i64("ticket_id")?;
                let result: serde_json::Value = serde_json::from_str(&row.string("result")?).map_err(|source| Error::Json { what: "triage result", source })?;
                let code = result.get("language").and_then(|language| language.get("code")).and_then(|code| code.as_str()).filter(|code| !code.is_empty() && *code != "und");
                if let Some(ticket) = tickets.iter_mut().find(|ticket| ticket.id == ticket_id) {
                    ticket.language = code.map(str::to_string);
                }
            }
            let load_rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT assignee_id, COUNT(*) AS open_tickets, SUM(CASE WHEN channel = 'chat' AND status IN ('new', 'open') THEN 1 ELSE 0 END) AS open_chats \
                 FROM tickets WHERE assignee_id IN ({}) AND status IN ('new', 'open', 'pending') GROUP BY assignee_id",
                id_list(agents.iter().map(|agent| agent.user_id))
            )))
            .fetch_all(&mut *tx)
            .await?;
            for row in &load_rows {
                let user_id = row.i64("assignee_id")?;
                if let Some(agent) = agents.iter_mut().find(|agent| agent.user_id == user_id) {
                    agent.open_tickets = row.i64("open_tickets")?;
                    agent.open_chats = row.opt_i64("open_chats")?.unwrap_or(0);
                }
            }
            let mut snapshot = RoutingSnapshot { now, agents, tickets };
            let decisions = decide(&snapshot);
            let mut routed = Vec::new();
            let mut audit = Vec::new();
            for decision in decisions {
                let Some(ticket_idx) = snapshot.tickets.iter().position(|ticket| ticket.id == decision.ticket_id) else { continue };
                let Some(agent_idx) = snapshot.agents.iter().position(|agent| agent.user_id == decision.user_id) else { continue };
                let ticket = &snapshot.tickets[ticket_idx];
                let agent = &snapshot.agents[agent_idx];
                if routed.iter().any(|done: &RoutedTicket| done.ticket_id == ticket.id) || !agent.can_serve(ticket) || !agent.has_room_for(ticket) {
                    continue;
                }
                let updated = sqlx::query(
                    "UPDATE tickets SET assignee_id = $1, updated_at = CASE WHEN $2 > updated_at THEN $2 ELSE updated_at + 1 END \
                     WHERE id = $3 AND assignee_id IS NULL AND status IN ('new', 'open')",
                )
                .bind(agent.user_id)
                .bind(now_ms)
                .bind(ticket.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    continue;
                }
                let is_chat = ticket.channel == Channel::Chat;
                audit.push(NewAuditEntry::new("system", "ticket.assigned", "ticket", ticket.id, serde_json::json!({"from": null, "to": agent.user_id, "by": "router"})));
                routed.push(RoutedTicket { ticket_id: ticket.id, user_id: agent.user_id });
                let agent = &mut snapshot.agents[agent_idx];
                agent.open_tickets += 1;
                agent.open_chats += i64::from(is_chat);
            }
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            routed
        });
        Ok(routed)
    }
}
