//! What people do to tickets, customers, users and tokens after triage: assign, change status
//! (with the SLA clocks paused, resumed and completed to match), reply, add internal notes,
//! escalate, merge, flag VIPs, create users and log them in.
//!
//! Every change appends audit entries in the same transaction as the change itself. Ticket
//! changes are computed from the version of the ticket read here and written only if nobody
//! changed it meanwhile (`Store::apply_ticket_action`), so two agents acting at once get a
//! conflict rather than a lost SLA pause.
//!
//! Who may do what is the HTTP edge's business (roles and scopes); this module only knows who
//! did it, for the audit log.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, TimeDelta, Utc};
use sb_domain::{Category, Channel, Intent, Severity};
use sb_policy::sla::{select_policy, SlaClock, SlaSubject, TicketSla};
use sb_store::{ApiToken, Customer, Direction, NewAuditEntry, NewOutbound, NewUser, Page, Queue, Role, Ticket, TicketFilter, TicketStatus, TicketUpdate, User};

use crate::{new_secret, Error, Result, Service};

/// Who acts: how the audit log names them (`user:<id>`, `token:<id>`) and the user behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub audit_name: String,
    pub user_id: Option<i64>,
}

impl Actor {
    pub fn user(user_id: i64) -> Actor {
        Actor { audit_name: format!("user:{user_id}"), user_id: Some(user_id) }
    }

    pub fn token(token_id: i64) -> Actor {
        Actor { audit_name: format!("token:{token_id}"), user_id: None }
    }
}

/// A new web session: the secret goes into the cookie, the CSRF token to the page.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user: User,
    pub session_secret: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A customer and their tickets, newest first.
#[derive(Debug, Clone)]
pub struct CustomerHistory {
    pub customer: Customer,
    pub tickets: Vec<Ticket>,
    pub total_tickets: i64,
}

/// Longest reply, note or reason accepted (characters).
pub const MAX_ACTION_TEXT_CHARS: usize = 20_000;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How much an escalation raises the priority, and the floor it raises it to.
const ESCALATION_STEP: i64 = 20;
const ESCALATION_FLOOR: i64 = 75;

fn conflict(message: impl Into<String>) -> Error {
    Error::Store(sb_store::Error::Conflict(message.into()))
}

pub(crate) fn required_text(field: &str, text: &str, max_chars: usize) -> Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Invalid(format!("`{field}` is empty")));
    }
    let n_chars = trimmed.chars().count();
    if n_chars > max_chars {
        return Err(Error::Invalid(format!("`{field}` has {n_chars} characters; the limit is {max_chars}")));
    }
    Ok(trimmed.to_string())
}

fn ticket_sla(ticket: &Ticket) -> Option<TicketSla> {
    ticket.sla.as_ref().and_then(|value| serde_json::from_value(value.clone()).ok())
}

fn running_clocks(sla: &TicketSla) -> impl Iterator<Item = &SlaClock> {
    [&sla.first_response, &sla.resolution].into_iter().filter(|clock| !clock.is_completed())
}

/// Pauses the running clocks unless they already are (a ticket can reach `pending` with its
/// clocks paused when a customer message reopened it in between).
fn pause_clocks(sla: &mut TicketSla, now: DateTime<Utc>) -> Result<()> {
    if running_clocks(sla).any(SlaClock::is_paused) {
        return Ok(());
    }
    Ok(sla.pause(now)?)
}

fn resume_clocks(sla: &mut TicketSla, now: DateTime<Utc>) -> Result<()> {
    if !running_clocks(sla).any(SlaClock::is_paused) {
        return Ok(());
    }
    Ok(sla.resume(now)?)
}

/// Sets the stored deadlines and clocks from `sla` as of `now`.
fn put_sla(update: &mut TicketUpdate, sla: &TicketSla, now: DateTime<Utc>) -> Result<()> {
    update.first_response_due_at = Some(Some(sla.first_response.deadline(now, &sla.calendar)));
    update.resolution_due_at = Some(Some(sla.resolution.deadline(now, &sla.calendar)));
    update.sla = Some(Some(serde_json::to_value(sla)?));
    update.sla_policy = Some(Some(sla.policy_name.clone()));
    Ok(())
}

/// Ends a pause in the ticket's columns: clears `sla_paused_at` and adds the paused time.
fn end_pause(update: &mut TicketUpdate, ticket: &Ticket, now: DateTime<Utc>) {
    if let Some(paused_at) = ticket.sla_paused_at {
        update.sla_paused_at = Some(None);
        update.sla_paused_ms = Some(ticket.sla_paused_ms + (now - paused_at).max(TimeDelta::zero()).num_milliseconds());
    }
}

/// An internal note by `actor` on `ticket` (never sent, no effect on the SLA).
pub(crate) fn internal_note(ticket: &Ticket, body: &str, actor: &Actor, metadata: Option<serde_json::Value>) -> NewOutbound {
    NewOutbound { direction: Direction::Note, channel: ticket.channel, author_user_id: actor.user_id, subject: None, body: body.to_string(), recipient: None, metadata }
}

fn reply_recipient(channel: Channel, customer: Option<&Customer>) -> Option<String> {
    let customer = customer?;
    match channel {
        Channel::Email => customer.email.clone(),
        Channel::Sms | Channel::Voice => customer.phone.clone(),
        Channel::Chat | Channel::Api => None,
    }
}

/// Whether an escalation reason asks for the safety queue.
pub fn reason_says_safety(reason: &str) -> bool {
    let lowered = reason.to_lowercase();
    // Whole words (by prefix), so that "pharmacy" does not say "harm".
    lowered.split(|character: char| !character.is_alphanumeric()).any(|word| ["safety", "hazard", "adverse", "injur", "harm"].iter().any(|stem| word.starts_with(stem)))
}

fn argon2_hash(password: &str) -> Result<String> {
    let mut salt_bytes = [0_u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| Error::Internal(format!("salt: {error}")))?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|error| Error::Internal(format!("argon2: {error}")))?;
    Ok(hash.to_string())
}

fn argon2_verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Hashes a password with argon2id (on the blocking pool: it takes tens of milliseconds by
/// design).
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || argon2_hash(&password)).await.map_err(|error| Error::Internal(error.to_string()))?
}

/// A hash of a random password: verified against when the email is unknown, so a login
/// answers in the same time whether or not the account exists.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| argon2_hash("switchboard-no-such-user").unwrap_or_default())
}

impl Service {
    /// Reads the ticket a change is computed from; merged tickets take no more actions.
    pub(crate) async fn ticket_for_action(&self, ticket_id: i64) -> Result<Ticket> {
        let ticket = self.store().ticket(ticket_id).await?;
        if ticket.status == TicketStatus::Merged {
            let into = ticket.merged_into.map_or_else(String::new, |id| format!(" into ticket {id}"));
            return Err(conflict(format!("ticket {ticket_id} is merged{into}; act on that ticket instead")));
        }
        Ok(ticket)
    }

    /// Assigns the ticket to an active user, or unassigns it (`None`).
    pub async fn assign_ticket(&self, ticket_id: i64, assignee_id: Option<i64>, actor: &Actor) -> Result<Ticket> {
        let ticket = self.ticket_for_action(ticket_id).await?;
        if let Some(user_id) = assignee_id {
            let user = self.store().user(user_id).await?;
            if !user.active {
                return Err(Error::Invalid(format!("user {user_id} is not active")));
            }
            if user.role == Role::Viewer {
                return Err(Error::Invalid(format!("user {user_id} is a viewer and cannot work tickets")));
            }
        }
        if ticket.assignee_id == assignee_id {
            return Ok(ticket);
        }
        let update = TicketUpdate { assignee_id: Some(assignee_id), ..TicketUpdate::default() };
        let audit = [NewAuditEntry::new(&actor.audit_name, "ticket.assigned", "ticket", ticket_id, serde_json::json!({"from": ticket.assignee_id, "to": assignee_id}))];
        let (ticket, _) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &update, None, &audit, Utc::now()).await?;
        self.publish_ticket_updated(&ticket);
        Ok(ticket)
    }

    /// Moves a ticket to `open`, `pending`, `resolved` or `closed`:
    /// - `pending` (waiting on the customer) pauses the SLA clocks; leaving it resumes them;
    /// - `resolved` records the resolution on the clocks; `closed` too when not yet resolved;
    /// - `open` from `resolved` or `closed` reopens the ticket with a fresh resolution clock;
    /// - `pending` and `resolved` need an open ticket: reopen a closed one first.
    ///
    /// Setting the status a ticket already has changes nothing.
    pub async fn set_ticket_status(&self, ticket_id: i64, status: TicketStatus, actor: &Actor) -> Result<Ticket> {
        if matches!(status, TicketStatus::New | TicketStatus::Merged) {
            return Err(Error::Invalid(format!("status `{}` cannot be set: use open, pending, resolved or closed (merge with the merge action)", status.as_str())));
        }
        let ticket = self.ticket_for_action(ticket_id).await?;
        let from = ticket.status;
        if from == status {
            return Ok(ticket);
        }
        let now = Utc::now();
        let mut sla = ticket_sla(&ticket);
        let mut update = TicketUpdate { status: Some(status), ..TicketUpdate::default() };
        let was_done = matches!(from, TicketStatus::Resolved | TicketStatus::Closed);
        match status {
            TicketStatus::Pending => {
                if was_done {
                    return Err(conflict(format!("ticket {ticket_id} is {}; reopen it before setting it pending", from.as_str())));
                }
                if let Some(sla) = sla.as_mut() {
                    pause_clocks(sla, now)?;
                }
                update.sla_paused_at = Some(Some(now));
            }
            TicketStatus::Open if was_done => {
                // Reopened: the first response stays answered; the resolution promise starts
                // again from now with the policy's target.
                if let Some(sla) = sla.as_mut() {
                    sla.resolution = SlaClock::start(now, sla.resolution.target());
                }
                update.resolved_at = Some(None);
                update.resolution_breached = Some(false);
            }
            TicketStatus::Open => {
                if let Some(sla) = sla.as_mut() {
                    resume_clocks(sla, now)?;
                }
                end_pause(&mut update, &ticket, now);
            }
            TicketStatus::Resolved | TicketStatus::Closed => {
                if from == TicketStatus::Closed {
                    return Err(conflict(format!("ticket {ticket_id} is closed; reopen it first")));
                }
                if from != TicketStatus::Resolved {
                    if let Some(sla) = sla.as_mut() {
                        sla.record_resolution(now)?;
                    }
                    end_pause(&mut update, &ticket, now);
                    update.resolved_at = Some(Some(now));
                }
            }
            TicketStatus::New | TicketStatus::Merged => unreachable!("refused above"),
        }
        if let Some(sla) = &sla {
            put_sla(&mut update, sla, now)?;
        }
        let action = match (was_done, status) {
            (true, TicketStatus::Open) => "ticket.reopened",
            _ => "ticket.status_changed",
        };
        let audit = [NewAuditEntry::new(&actor.audit_name, action, "ticket", ticket_id, serde_json::json!({"from": from.as_str(), "to": status.as_str()}))];
        let (ticket, _) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &update, None, &audit, now).await?;
        self.publish_ticket_updated(&ticket);
        if matches!(status, TicketStatus::Resolved | TicketStatus::Closed) && !was_done {
            self.after_resolution(ticket_id).await;
            // A person resolved it: an email customer is asked to rate it (once per ticket). The
            // resolution stands whether or not the survey could be queued.
            if actor.user_id.is_some() {
                if let Err(error) = self.send_csat_survey(&ticket).await {
                    tracing::warn!(ticket_id, error = %error, "cannot queue the satisfaction survey");
                }
            }
        }
        Ok(ticket)
    }

    /// Sends a reply to the customer (through the outbox) and records the first response on
    /// the SLA clock. Returns the new message id and the ticket after it.
    pub async fn reply_to_ticket(&self, ticket_id: i64, body: &str, actor: &Actor) -> Result<(i64, Ticket)> {
        let body = required_text("body", body, MAX_ACTION_TEXT_CHARS)?;
        let ticket = self.ticket_for_action(ticket_id).await?;
        let now = Utc::now();
        let customer = match ticket.customer_id {
            Some(customer_id) => Some(self.store().customer(customer_id).await?),
            None => None,
        };
        let mut update = TicketUpdate::default();
        if let Some(mut sla) = ticket_sla(&ticket) {
            sla.record_first_response(now)?;
            put_sla(&mut update, &sla, now)?;
        }
        let outbound = NewOutbound {
            direction: Direction::Outbound,
            channel: ticket.channel,
            author_user_id: actor.user_id,
            subject: ticket.subject.as_ref().map(|subject| if subject.starts_with("Re: ") { subject.clone() } else { format!("Re: {subject}") }),
            body: body.clone(),
            recipient: reply_recipient(ticket.channel, customer.as_ref()),
            metadata: Some(serde_json::json!({"automatic": false})),
        };
        let audit = [NewAuditEntry::new(&actor.audit_name, "ticket.replied", "ticket", ticket_id, serde_json::json!({"chars": body.chars().count(), "first_response": ticket.first_responded_at.is_none()}))];
        let (ticket, message_id) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &update, Some(&outbound), &audit, now).await?;
        let message_id = message_id.ok_or_else(|| Error::Internal("the reply was not stored".into()))?;
        self.publish_message_added(ticket_id, message_id, Direction::Outbound);
        self.publish_ticket_updated(&ticket);
        Ok((message_id, ticket))
    }

    /// Adds an internal note (never sent, no effect on the SLA). Returns the message id.
    pub async fn add_ticket_note(&self, ticket_id: i64, body: &str, actor: &Actor) -> Result<i64> {
        let body = required_text("body", body, MAX_ACTION_TEXT_CHARS)?;
        let ticket = self.ticket_for_action(ticket_id).await?;
        let outbound = internal_note(&ticket, &body, actor, None);
        let audit = [NewAuditEntry::new(&actor.audit_name, "ticket.note_added", "ticket", ticket_id, serde_json::json!({"chars": body.chars().count()}))];
        let (_, message_id) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &TicketUpdate::default(), Some(&outbound), &audit, Utc::now()).await?;
        let message_id = message_id.ok_or_else(|| Error::Internal("the note was not stored".into()))?;
        self.publish_message_added(ticket_id, message_id, Direction::Note);
        Ok(message_id)
    }

    /// Raises the priority (by a step, to at least the escalation floor) and, when the reason
    /// is about safety, moves the ticket to the safety queue (severity `high` unless it has
    /// one). A closed or resolved ticket is reopened: escalating means someone must act.
    pub async fn escalate_ticket(&self, ticket_id: i64, reason: &str, actor: &Actor) -> Result<Ticket> {
        let reason = required_text("reason", reason, 1_000)?;
        let ticket = self.ticket_for_action(ticket_id).await?;
        let priority = (ticket.priority + ESCALATION_STEP).clamp(ESCALATION_FLOOR, 100);
        let to_safety = reason_says_safety(&reason);
        let mut update = TicketUpdate { priority: Some(priority), ..TicketUpdate::default() };
        let now = Utc::now();
        if to_safety {
            self.move_to_safety_queue(&ticket, "escalation", &reason, actor, &mut update, now).await?;
        } else if ticket.queue == Queue::Auto || ticket.queue == Queue::Triage {
            update.queue = Some(Queue::Human);
        }
        if matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Closed) {
            update.status = Some(TicketStatus::Open);
            update.resolved_at = Some(None);
        }
        let queue = update.queue.unwrap_or(ticket.queue);
        let audit = [NewAuditEntry::new(
            &actor.audit_name,
            "ticket.escalated",
            "ticket",
            ticket_id,
            serde_json::json!({"reason": reason, "from_priority": ticket.priority, "to_priority": priority, "from_queue": ticket.queue.as_str(), "to_queue": queue.as_str()}),
        )];
        let (ticket, _) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &update, None, &audit, now).await?;
        self.publish_ticket_updated(&ticket);
        Ok(ticket)
    }

    /// What a person's move of a ticket into the safety queue changes (an escalation about
    /// safety, a transfer): the queue, the category, severity `high` unless it has one, a
    /// compliance record about its latest customer message (`source` and `reason` kept in
    /// it), and the severity SLA when that is tighter.
    /// The SLA is chosen with the priority `update` sets, else the ticket's.
    pub(crate) async fn move_to_safety_queue(&self, ticket: &Ticket, source: &str, reason: &str, actor: &Actor, update: &mut TicketUpdate, now: DateTime<Utc>) -> Result<()> {
        let priority = update.priority.unwrap_or(ticket.priority);
        update.queue = Some(Queue::Safety);
        update.category = Some(Some(Category::SafetyCompliance.as_str().to_string()));
        if ticket.severity.is_none() {
            update.severity = Some(Some("high".to_string()));
        }
        update.compliance = self.escalation_record(ticket, source, reason, actor).await?;
        self.tighten_sla_for_safety(ticket, priority, update, now)
    }

    /// The compliance record of a person's escalation to the safety queue (PRODUCT.md: every
    /// safety case has one): about the ticket's latest customer message, in its redacted form.
    /// `None` only for a ticket without any customer message.
    async fn escalation_record(&self, ticket: &Ticket, source: &str, reason: &str, actor: &Actor) -> Result<Option<sb_store::NewComplianceRecord>> {
        let messages = self.store().ticket_messages(ticket.id).await?;
        let Some(message) = messages.iter().rev().find(|message| message.direction == Direction::Inbound) else { return Ok(None) };
        // The triage of that message holds its redacted copy; one that was never triaged is
        // redacted here.
        let triages = self.store().ticket_triage_results(ticket.id).await?;
        let redacted_text = triages
            .iter()
            .rev()
            .find(|row| row.message_id == message.id)
            .and_then(|row| row.result.get("redacted_text").and_then(|text| text.as_str()).map(str::to_string))
            .or_else(|| self.engine().map(|engine| engine.redact(&message.body).redacted_text))
            .unwrap_or_else(|| "[not triaged yet and no models loaded: see the message itself]".to_string());
        let intent = ticket.intent.filter(|intent| intent.is_safety()).map_or("escalated", |intent| intent.as_str());
        let severity = ticket.severity.map_or("high", |severity| severity.as_str());
        Ok(Some(sb_store::NewComplianceRecord {
            message_id: message.id,
            intent: intent.to_string(),
            severity: severity.to_string(),
            redacted_text,
            record: serde_json::json!({
                "source": source,
                "escalated_by": actor.audit_name,
                "reason": reason,
                "from_queue": ticket.queue.as_str(),
                "category_before": ticket.category,
                "intent_before": ticket.intent,
                "channel": message.channel,
            }),
        }))
    }

    /// A ticket moved to the safety queue gets the severity SLA when that promises an
    /// earlier first response than the clocks it has (the promise only ever gets tighter, as
    /// in `sla::start_or_keep`). The clocks restart from the ticket's creation; a response
    /// already sent still counts. Paused clocks are left alone: the ticket waits on the
    /// customer, and resuming will show the deadline.
    fn tighten_sla_for_safety(&self, ticket: &Ticket, priority: i64, update: &mut TicketUpdate, now: DateTime<Utc>) -> Result<()> {
        let existing = ticket_sla(ticket);
        if existing.as_ref().is_some_and(|sla| running_clocks(sla).any(SlaClock::is_paused)) {
            return Ok(());
        }
        let intent = ticket.intent.filter(|intent| intent.category() == Category::SafetyCompliance).unwrap_or(Intent::ProductHazard);
        let subject = SlaSubject { category: Category::SafetyCompliance, intent, severity: Some(ticket.severity.unwrap_or(Severity::High)), priority: priority.clamp(0, 100) as u8 };
        let effective_policy = self.policy();
        let Some(policy) = select_policy(&effective_policy.sla_policies, &subject) else { return Ok(()) };
        let mut fresh = TicketSla::start(policy, ticket.created_at);
        if let Some(responded_at) = ticket.first_responded_at {
            fresh.record_first_response(responded_at)?;
        }
        let tighter = match &existing {
            None => true,
            Some(existing) => fresh.first_response.deadline(now, &fresh.calendar) < existing.first_response.deadline(now, &existing.calendar),
        };
        if tighter {
            put_sla(update, &fresh, now)?;
        }
        Ok(())
    }

    /// Folds `source` into `target` (its messages move; it becomes `merged`). Returns the
    /// target after the merge.
    pub async fn merge_tickets(&self, source: i64, target: i64, actor: &Actor) -> Result<Ticket> {
        let audit = [
            NewAuditEntry::new(&actor.audit_name, "ticket.merged", "ticket", source, serde_json::json!({"into": target})),
            NewAuditEntry::new(&actor.audit_name, "ticket.merge_received", "ticket", target, serde_json::json!({"from": source})),
        ];
        let merged = self.store().merge_tickets(source, target, &audit, Utc::now()).await?;
        // The merge returns the target only; the source's event needs its row as committed.
        if let Ok(source_ticket) = self.store().ticket(source).await {
            self.publish_ticket_updated(&source_ticket);
        }
        self.publish_ticket_updated(&merged);
        Ok(merged)
    }

    /// A customer with their latest tickets (up to `limit`).
    pub async fn customer_history(&self, customer_id: i64, limit: i64) -> Result<CustomerHistory> {
        let customer = self.store().customer(customer_id).await?;
        let filter = TicketFilter { customer_id: Some(customer_id), ..TicketFilter::default() };
        let (mut tickets, total_tickets) = self.store().list_tickets(&filter, Page { limit: limit.clamp(1, 500), offset: 0 }, Utc::now()).await?;
        tickets.sort_by(|left, right| right.created_at.cmp(&left.created_at).then(right.id.cmp(&left.id)));
        Ok(CustomerHistory { customer, tickets, total_tickets })
    }

    /// Records that someone saw a customer's personal data (PRODUCT.md: PII access is audited).
    pub async fn record_pii_access(&self, entity_type: &str, entity_id: i64, actor: &Actor) -> Result<()> {
        let audit = [NewAuditEntry::new(&actor.audit_name, "pii.viewed", entity_type, entity_id, serde_json::json!({}))];
        Ok(self.store().append_audit(&audit, Utc::now()).await?)
    }

    pub async fn set_customer_vip(&self, customer_id: i64, vip: bool, actor: &Actor) -> Result<Customer> {
        let audit = [NewAuditEntry::new(&actor.audit_name, "customer.vip_changed", "customer", customer_id, serde_json::json!({"vip": vip}))];
        self.store().set_customer_vip(customer_id, vip, &audit, Utc::now()).await?;
        Ok(self.store().customer(customer_id).await?)
    }

    /// Creates a user with an argon2id password hash.
    pub async fn create_user(&self, email: &str, name: &str, role: Role, password: &str, actor: &Actor) -> Result<User> {
        let email = email.trim().to_lowercase();
        if email.len() > 320 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
            return Err(Error::Invalid("`email` is not an email address".into()));
        }
        let name = required_text("name", name, 200)?;
        let n_chars = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=1_024).contains(&n_chars) {
            return Err(Error::Invalid(format!("a password must be {MIN_PASSWORD_CHARS} to 1024 characters")));
        }
        let password_hash = hash_password(password).await?;
        let new_user = NewUser { email: email.clone(), name, role, password_hash };
        let audit = [NewAuditEntry::new(&actor.audit_name, "user.created", "user", &email, serde_json::json!({"role": role.as_str()}))];
        Ok(self.store().create_user(&new_user, &audit, Utc::now()).await?)
    }

    /// Changes a user's role and/or deactivates or reactivates them. Nobody changes their own
    /// role or access (an admin cannot lock the last admin out by mistake); deactivating ends
    /// the user's sessions at once.
    pub async fn update_user(&self, user_id: i64, role: Option<Role>, active: Option<bool>, actor: &Actor) -> Result<User> {
        if role.is_none() && active.is_none() {
            return Err(Error::Invalid("give `role`, `active` or both".into()));
        }
        if actor.user_id == Some(user_id) {
            return Err(Error::Invalid("you cannot change your own role or access: ask another admin".into()));
        }
        let before = self.store().user(user_id).await?;
        let mut details = serde_json::Map::new();
        if let Some(role) = role.filter(|role| *role != before.role) {
            details.insert("role".into(), serde_json::json!({"from": before.role.as_str(), "to": role.as_str()}));
        }
        if let Some(active) = active.filter(|active| *active != before.active) {
            details.insert("active".into(), serde_json::json!({"from": before.active, "to": active}));
        }
        if details.is_empty() {
            return Ok(before);
        }
        let action = match (details.contains_key("role"), active) {
            (true, _) => "user.role_changed",
            (false, Some(false)) => "user.deactivated",
            (false, _) => "user.reactivated",
        };
        let audit = [NewAuditEntry::new(&actor.audit_name, action, "user", user_id, serde_json::Value::Object(details))];
        Ok(self.store().update_user(user_id, role, active, &audit, Utc::now()).await?)
    }

    /// Checks an email and password; `None` for an unknown email, a wrong password or an
    /// inactive user (the caller must not say which).
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<Option<User>> {
        let user = self.store().find_user_by_email(email).await?;
        let phc = user.as_ref().map_or_else(|| dummy_hash().to_string(), |user| user.password_hash.clone());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || argon2_verify(&password, &phc)).await.map_err(|error| Error::Internal(error.to_string()))?;
        Ok(user.filter(|user| matches && user.active))
    }

    /// Logs a user in: a new session lasting `ttl`, stored under the hash of its secret.
    pub async fn log_in(&self, email: &str, password: &str, ttl: TimeDelta) -> Result<Option<NewSession>> {
        let Some(user) = self.authenticate(email, password).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let session_secret = new_secret("sbs_")?;
        let csrf_token = new_secret("csrf_")?;
        let expires_at = now + ttl;
        self.store().create_session(user.id, &session_secret, &csrf_token, expires_at, now).await?;
        let audit = [NewAuditEntry::new(format!("user:{}", user.id), "user.logged_in", "user", user.id, serde_json::json!({}))];
        self.store().append_audit(&audit, now).await?;
        Ok(Some(NewSession { user, session_secret, csrf_token, expires_at }))
    }

    pub async fn log_out(&self, session_secret: &str, actor: &Actor) -> Result<()> {
        self.store().delete_session(session_secret).await?;
        if let Some(user_id) = actor.user_id {
            let audit = [NewAuditEntry::new(&actor.audit_name, "user.logged_out", "user", user_id, serde_json::json!({}))];
            self.store().append_audit(&audit, Utc::now()).await?;
        }
        Ok(())
    }

    pub async fn revoke_api_token(&self, token_id: i64, actor: &Actor) -> Result<()> {
        let audit = [NewAuditEntry::new(&actor.audit_name, "token.revoked", "api_token", token_id, serde_json::json!({}))];
        Ok(self.store().revoke_api_token(token_id, &audit, Utc::now()).await?)
    }

    /// Every token, revoked ones included (secrets are never stored, so never shown).
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        Ok(self.store().list_api_tokens().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let phc = argon2_hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(argon2_verify("correct horse battery", &phc));
        assert!(!argon2_verify("correct horse battery!", &phc));
        assert!(!argon2_verify("anything", "not a phc string"));
        assert_ne!(phc, argon2_hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn safety_reasons_are_recognised() {
        for (reason, expected) in [("customer reports a rash: safety", true), ("Product HAZARD, sparks", true), ("VIP waiting too long", false), ("angry customer", false), ("pharmacy pickup delayed", false), ("the child was harmed", true)] {
            assert_eq!(reason_says_safety(reason), expected, "{reason}");
        }
    }
}
