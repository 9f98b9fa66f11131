//! raw → enriched → triaged: receiving a message, processing it, and the retry worker.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use sb_domain::{Category, Channel, EntityValue, InboundMessage, Severity, TriageResult};
use sb_policy::decision::{decide, ArticleMatch, CustomerFlags, Decision, DecisionInput, Route, WorkflowOutcome};
use sb_policy::sla::SlaState;
use sb_policy::{prepare_action, OrderLookup};
use sb_store::{
    Direction, FinishTriage, Ingested, IngestedRows, IngestedWithTriage, MessageRow, NewAuditEntry, NewCustomer, NewInbound, NewOutbound, Queue, RecordedTriage, Ticket, TicketStatus,
    TicketTriageUpdate, TriageOutcome,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{Error, Result, Service};

/// A message as a channel hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingMessage {
    pub channel: Channel,
    /// The text to triage (plain text, or HTML when `body_is_html`).
    pub text: String,
    pub body_is_html: bool,
    pub subject: Option<String>,
    /// The channel's id of this delivery: retries with the same id never make a second ticket.
    pub external_id: Option<String>,
    /// Thread key: messages with the same key join the same open ticket.
    pub conversation_id: Option<String>,
    /// Join this ticket when it is still open (threading resolved by the channel).
    pub ticket_id: Option<i64>,
    pub customer: NewCustomer,
    pub metadata: Option<serde_json::Value>,
    /// The payload exactly as received, and its media type.
    pub raw_payload: Vec<u8>,
    pub content_type: String,
}

/// How far a message got within the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Stored, triaged and routed.
    Triaged,
    /// Stored; triage will be retried in the background.
    Received,
    /// This delivery was already stored: the answer describes the first one.
    Duplicate,
}

/// What `receive` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageReceipt {
    pub ingested: Ingested,
    pub status: ReceiptStatus,
    pub ticket: Ticket,
    pub triage: Option<TriageResult>,
    pub decision: Option<Decision>,
    /// The automatic reply sent, when the decision was to auto-reply.
    pub reply: Option<String>,
    /// Why triage did not finish within the request.
    pub pending_reason: Option<String>,
}

/// A message's triage and its workflow's result: what the decision needs beyond the stored
/// rows.
struct Analysed {
    triage: TriageResult,
    latency_us: i64,
    workflow: WorkflowOutcome,
    related_articles: Vec<ArticleMatch>,
    /// The reply template an answering article's automatic answer is written from, read before
    /// the write; it is filled once the customer is known (see `Service::write_article_answer`).
    answer_template: Option<sb_store::ReplyTemplate>,
    /// `triage` as JSON, made before the write: on SQLite the decision is built inside the
    /// group-commit writer, where every microsecond is serial (taken once, by the record).
    triage_json: Option<serde_json::Value>,
}

/// What the part of `receive` inside the write hands back to the request.
enum Finished {
    /// The triage run was built and handed to the store to record with the message.
    Built { analysed: Analysed, decision: Decision, route_label: &'static str },
    /// Nothing recorded with the message: the decision needs a read of its own first.
    Deferred(Analysed),
    /// Building the triage run failed (e.g. no SLA policy matches): the worker retries.
    Failed(Error),
}

/// What processing one message produced.
struct Processed {
    triage: TriageResult,
    decision: Decision,
    /// The ticket after the decision was recorded.
    ticket: Ticket,
}

fn retry_delay(config: &crate::WorkerConfig, attempts: i64) -> std::time::Duration {
    let exponent = attempts.clamp(0, 20) as u32;
    config.base_backoff.saturating_mul(2_u32.saturating_pow(exponent)).min(config.max_backoff)
}

fn chrono_duration(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl Service {
    /// Stores the message durably, then triages and routes it. Returns after the durable write
    /// even when triage fails (status `received`: the worker retries). Duplicates (same channel
    /// and external id) return the first delivery's ticket and latest decision.
    ///
    /// Triage and the workflow depend on the message alone, so they run first, and the raw
    /// message, the triage result, the decision and the ticket's new state are written in one
    /// call of the store (one commit, one visit of the SQLite writer instead of two). The decision itself needs the
    /// stored ticket and customer, so it is made inside that write, from the rows the ingest
    /// returns. When triage fails, or the decision needs a read of its own (an automatic email
    /// answer checks the sender's hourly budget), the raw message is stored alone first, as
    /// before, and the rest follows.
    pub async fn receive(&self, incoming: IncomingMessage) -> Result<MessageReceipt> {
        let now = Utc::now();
        let lease_until = now + chrono_duration(self.config().worker.claim_lease);
        let analysed = self.analyse(incoming.channel, incoming.subject.clone(), incoming.text.clone(), incoming.body_is_html).await;
        let inbound = NewInbound {
            channel: incoming.channel,
            external_id: incoming.external_id.clone(),
            conversation_key: incoming.conversation_id.clone(),
            ticket_id: incoming.ticket_id,
            subject: incoming.subject.clone(),
            body: incoming.text.clone(),
            body_is_html: incoming.body_is_html,
            content_type: incoming.content_type.clone(),
            raw_payload: incoming.raw_payload,
            metadata: incoming.metadata.clone(),
            customer: incoming.customer.clone(),
            received_at: now,
            claim: Some((self.config().instance_id.clone(), lease_until)),
        };
        let analysed = match analysed {
            Ok(analysed) => analysed,
            Err(error) => {
                // The rows come back from the ingest's own transaction: no second read of them.
                let stored = self.store().ingest_with_rows(&inbound).await?;
                if !stored.ingested.created {
                    return self.describe_existing(stored.ingested, stored.ticket).await;
                }
                self.publish_ingested(&stored.ingested);
                return self.triage_failed_in_request(stored.ingested, error).await;
            }
        };

        let (finished_sender, mut finished_receiver) = tokio::sync::oneshot::channel();
        let service = self.clone();
        let finish: FinishTriage = Box::new(move |rows: &IngestedRows| service.finish_in_write(analysed, rows, finished_sender));
        let IngestedWithTriage { rows: stored, recorded } = self.store().ingest_and_record_triage(&inbound, finish).await?;
        let ingested = stored.ingested.clone();
        if !ingested.created {
            return self.describe_existing(ingested, stored.ticket).await;
        }
        self.publish_ingested(&ingested);
        // Sent synchronously inside the write, so it is there now (or the step panicked).
        let finished = finished_receiver.try_recv().unwrap_or_else(|_| Finished::Failed(Error::Internal("the triage decision did not finish".to_string())));
        let processed = match (recorded, finished) {
            (Some(Ok(recorded)), Finished::Built { analysed, decision, route_label }) => Ok(self.triage_recorded(&stored.message, analysed, decision, route_label, recorded)),
            (Some(Err(error)), _) => Err(error.into()),
            (None, Finished::Deferred(analysed)) => self.decide_and_record(analysed, &stored.message, stored.customer.as_ref(), &stored.ticket).await,
            (None, Finished::Failed(error)) => Err(error),
            (Some(Ok(_)), Finished::Deferred(_) | Finished::Failed(_)) | (None, Finished::Built { .. }) => {
                Err(Error::Internal("the triage record and the decision disagree".to_string()))
            }
        };
        match processed {
            Ok(processed) => {
                let reply = processed.decision.reply.clone();
                Ok(MessageReceipt {
                    ingested,
                    status: ReceiptStatus::Triaged,
                    ticket: processed.ticket,
                    triage: Some(processed.triage),
                    decision: Some(processed.decision),
                    reply,
                    pending_reason: None,
                })
            }
            Err(error) => self.triage_failed_in_request(ingested, error).await,
        }
    }

    /// Live events for a newly stored inbound message.
    fn publish_ingested(&self, ingested: &Ingested) {
        if ingested.new_ticket {
            self.events().publish(crate::EventKind::TicketCreated { ticket_id: ingested.ticket_id });
        }
        self.publish_message_added(ingested.ticket_id, ingested.message_id, Direction::Inbound);
    }

    /// The message is stored but triage did not finish within the request: the worker retries.
    async fn triage_failed_in_request(&self, ingested: Ingested, error: Error) -> Result<MessageReceipt> {
        let retry_at = Utc::now() + chrono_duration(retry_delay(&self.config().worker, 0));
        tracing::warn!(message_id = ingested.message_id, ticket_id = ingested.ticket_id, error = %error, "triage failed in the request; the worker will retry");
        self.metrics().record_triage_failure(crate::metrics::TriageSource::Request, true);
        self.store().record_triage_failure(ingested.message_id, &error.to_string(), Some(retry_at)).await?;
        let ticket = self.store().ticket(ingested.ticket_id).await?;
        Ok(MessageReceipt { ingested, status: ReceiptStatus::Received, ticket, triage: None, decision: None, reply: None, pending_reason: Some(error.to_string()) })
    }

    /// The part of `receive` that runs inside the ingest's write (on the SQLite writer's
    /// thread): decides from the stored rows and returns the triage run to record with the
    /// message. What the request needs afterwards goes back through `finished`. Synchronous
    /// and quick; anything that needs a read of its own is deferred to after the write.
    fn finish_in_write(&self, mut analysed: Analysed, rows: &IngestedRows, finished: tokio::sync::oneshot::Sender<Finished>) -> Option<TriageOutcome> {
        let now = Utc::now();
        self.write_article_answer(&mut analysed.workflow, analysed.answer_template.as_ref(), &rows.ticket, rows.customer.as_ref());
        let decision = self.decide_route(&analysed, rows.customer.as_ref(), &rows.ticket, now);
        if decision.route == Route::AutoReply && rows.message.channel == Channel::Email {
            // The email channel's loop protection reads the sender's recent answers.
            let _ = finished.send(Finished::Deferred(analysed));
            return None;
        }
        let triage_json = analysed.triage_json.take();
        match self.decided_outcome(&analysed, triage_json, &decision, &rows.message, rows.customer.as_ref(), &rows.ticket, now) {
            Ok((outcome, route_label)) => {
                let _ = finished.send(Finished::Built { analysed, decision, route_label });
                Some(outcome)
            }
            Err(error) => {
                let _ = finished.send(Finished::Failed(error));
                None
            }
        }
    }

    async fn describe_existing(&self, ingested: Ingested, ticket: Ticket) -> Result<MessageReceipt> {
        // One row, not the ticket's whole history: a retried delivery into a long email
        // thread read (and decoded) every decision of the thread.
        let latest = self.store().latest_message_decision(ingested.ticket_id, ingested.message_id).await?;
        let latest = latest.as_ref();
        let decision: Option<Decision> = latest.and_then(|row| serde_json::from_value(row.record["decision"].clone()).ok());
        let triage: Option<TriageResult> = latest.and_then(|row| serde_json::from_value(row.record["triage"].clone()).ok());
        let reply = decision.as_ref().and_then(|decision| decision.reply.clone());
        Ok(MessageReceipt { ingested, status: ReceiptStatus::Duplicate, ticket, triage, decision, reply, pending_reason: None })
    }

    /// Triage without storing anything (`/api/v1/classify`).
    pub async fn classify(&self, channel: Channel, text: &str) -> Result<TriageResult> {
        let engine = self.engine().cloned().ok_or(Error::ModelsNotLoaded)?;
        let message = InboundMessage { channel, subject: None, body: text.to_string(), body_is_html: false };
        let today = Utc::now().date_naive();
        triage_on_pool(engine, message, today).await
    }

    /// Triage, workflow, decision, SLA; written in one transaction. `customer` and `ticket` are
    /// the message's as they stand before this triage.
    async fn process(&self, message: &MessageRow, customer: Option<&sb_store::Customer>, ticket: &Ticket) -> Result<Processed> {
        let analysed = self.analyse(message.channel, message.subject.clone(), message.body.clone(), message.body_is_html).await?;
        self.decide_and_record(analysed, message, customer, ticket).await
    }

    /// Triage on the blocking pool, then the workflow of its category: everything the decision
    /// needs that depends on the message alone.
    async fn analyse(&self, channel: Channel, subject: Option<String>, body: String, body_is_html: bool) -> Result<Analysed> {
        let engine = self.engine().cloned().ok_or(Error::ModelsNotLoaded)?;
        let started = Instant::now();
        let today = Utc::now().date_naive();
        let inbound = InboundMessage { channel, subject, body, body_is_html };
        let triage = triage_on_pool(engine, inbound, today).await?;
        let latency_us = started.elapsed().as_micros() as i64;
        let (workflow, related_articles) = self.run_workflow(&triage, today).await?;
        let answer_template = match &workflow {
            WorkflowOutcome::Informational { article: Some(article) } if article.reaches_threshold() => self.answer_template(triage.intent, &triage.language.code).await?,
            WorkflowOutcome::Informational { .. } | WorkflowOutcome::ServiceAction { .. } | WorkflowOutcome::Safety { .. } => None,
        };
        let triage_json = Some(serde_json::to_value(&triage)?);
        Ok(Analysed { triage, latency_us, workflow, related_articles, answer_template, triage_json })
    }

    /// The decision for an analysed message, the email channel's loop protection applied, and
    /// its record written (a separate write after the ingest's).
    async fn decide_and_record(&self, mut analysed: Analysed, message: &MessageRow, customer: Option<&sb_store::Customer>, ticket: &Ticket) -> Result<Processed> {
        let now = Utc::now();
        self.write_article_answer(&mut analysed.workflow, analysed.answer_template.as_ref(), ticket, customer);
        let mut decision = self.decide_route(&analysed, customer, ticket, now);
        // The channel's loop protection comes after the policy: an email auto-reply, bounce or
        // list mail, or a sender past the hourly budget, gets the answer as a suggestion.
        if decision.route == Route::AutoReply {
            let recipient = reply_recipient(message.channel, customer);
            if let Some(refusal) = self.email_auto_answer_refusal(message, recipient.as_deref()).await? {
                crate::email::hold_for_human(&mut decision, &refusal);
            }
        }
        let triage_json = analysed.triage_json.take();
        let (outcome, route_label) = self.decided_outcome(&analysed, triage_json, &decision, message, customer, ticket, now)?;
        let recorded = self.store().record_triage(&outcome, Utc::now()).await?;
        Ok(self.triage_recorded(message, analysed, decision, route_label, recorded))
    }

    /// The decision policy's answer for the message, before any channel's loop protection.
    fn decide_route(&self, analysed: &Analysed, customer: Option<&sb_store::Customer>, ticket: &Ticket, now: DateTime<Utc>) -> Decision {
        let waiting = (now - ticket.created_at).max(TimeDelta::zero());
        let decision_input = DecisionInput {
            triage: &analysed.triage,
            customer: CustomerFlags { vip: customer.is_some_and(|customer| customer.vip), owns_referenced_order: owns_referenced_order(&analysed.workflow, customer) },
            workflow: &analysed.workflow,
            waiting,
            sla_state: SlaState::OnTrack,
        };
        decide(&decision_input, &self.policy().policy)
    }

    /// Everything one triage run writes (triage result, decision record, ticket state, SLA,
    /// compliance record, automatic reply, audit entry), and the route's label.
    #[allow(clippy::too_many_arguments)]
    fn decided_outcome(
        &self,
        analysed: &Analysed,
        triage_json: Option<serde_json::Value>,
        decision: &Decision,
        message: &MessageRow,
        customer: Option<&sb_store::Customer>,
        ticket: &Ticket,
        now: DateTime<Utc>,
    ) -> Result<(TriageOutcome, &'static str)> {
        let Analysed { triage, latency_us, workflow, related_articles, .. } = analysed;
        // Safety wins at the ticket level too: a follow-up message that is not about safety
        // never takes a ticket out of the safety queue.
        let keeps_safety = ticket.queue == Queue::Safety && decision.route != Route::SafetyQueue;
        let (queue, route_label) = match (decision.route, keeps_safety) {
            (_, true) => (Queue::Safety, "safety_queue"),
            (Route::AutoReply, false) => (Queue::Auto, "auto_reply"),
            (Route::HumanQueue, false) => (Queue::Human, "human_queue"),
            (Route::SafetyQueue, false) => (Queue::Safety, "safety_queue"),
        };
        let ticket_sla = crate::sla::start_or_keep(ticket, triage, decision.priority.score, &self.policy().sla_policies, now)?;
        let (first_response_due_at, resolution_due_at) = crate::sla::deadlines(&ticket_sla, now);
        let severity = if keeps_safety { ticket.severity.map(|severity| severity.as_str().to_string()) } else { decision.severity.map(|severity| severity.as_str().to_string()) };
        // A triaged message opens (or reopens) its ticket: waiting for a person, or answered
        // automatically and open to follow-ups (the auto queue needs nobody).
        let status = TicketStatus::Open;
        let reply = match (&decision.reply, keeps_safety) {
            (Some(text), false) => Some(NewOutbound {
                direction: Direction::Outbound,
                channel: message.channel,
                author_user_id: None,
                subject: message.subject.as_ref().map(|subject| format!("Re: {subject}")),
                body: text.clone(),
                recipient: reply_recipient(message.channel, customer),
                metadata: Some(automatic_reply_metadata(&decision, &workflow)),
            }),
            _ => None,
        };
        let compliance = (queue == Queue::Safety && decision.route == Route::SafetyQueue).then(|| {
            (
                triage.intent.as_str().to_string(),
                decision.severity.unwrap_or(Severity::High).as_str().to_string(),
                triage.redacted_text.clone(),
                serde_json::json!({
                    "category": triage.category,
                    "intent": triage.intent,
                    "confidence": triage.confidence,
                    "severity": decision.severity,
                    "safety_override": triage.safety_override,
                    "pii_kinds": triage.pii.iter().map(|span| span.kind).collect::<Vec<_>>(),
                    "model": triage.model,
                    "reason": decision.reason,
                    "channel": message.channel,
                }),
            )
        });
        let reason_code = serde_json::to_value(decision.reason_code)?.as_str().unwrap_or("unknown").to_string();
        // The triage result is stored once, beside the decision; reading the decision back adds
        // it to the record under "triage".
        let record = serde_json::json!({
            "decision": decision,
            "workflow": workflow,
            "related_articles": related_articles,
            "sla": ticket_sla,
            "route": route_label,
        });
        let audit = vec![NewAuditEntry::new(
            "system",
            "ai.decision",
            "ticket",
            message.ticket_id,
            serde_json::json!({
                "message_id": message.id,
                "route": route_label,
                "reason_code": reason_code,
                "intent": triage.intent,
                "confidence": triage.confidence,
                "model": format!("{}@{}", triage.model.name, triage.model.version),
            }),
        )];
        let outcome = TriageOutcome {
            message_id: message.id,
            ticket_id: message.ticket_id,
            model_name: triage.model.name.clone(),
            model_version: triage.model.version.clone(),
            result: match triage_json {
                Some(json) => json,
                None => serde_json::to_value(triage)?,
            },
            latency_us: *latency_us,
            route: route_label.to_string(),
            reason_code,
            priority: i64::from(decision.priority.score),
            decision: record,
            ticket: TicketTriageUpdate {
                status,
                queue,
                category: if keeps_safety { Category::SafetyCompliance.as_str().to_string() } else { triage.category.as_str().to_string() },
                intent: if keeps_safety { ticket.intent.map_or(triage.intent, |intent| intent).as_str().to_string() } else { triage.intent.as_str().to_string() },
                severity,
                confidence: f64::from(triage.confidence),
                sentiment: f64::from(triage.sentiment.score),
                priority: i64::from(decision.priority.score).max(if keeps_safety { ticket.priority } else { 0 }),
                route: route_label.to_string(),
                sla_policy: Some(ticket_sla.policy_name.clone()),
                sla: Some(serde_json::to_value(&ticket_sla)?),
                first_response_due_at: Some(first_response_due_at),
                resolution_due_at: Some(resolution_due_at),
            },
            compliance,
            reply,
            audit,
        };
        Ok((outcome, route_label))
    }

    /// After the triage record is committed: live events, the log line and the metrics.
    fn triage_recorded(&self, message: &MessageRow, analysed: Analysed, decision: Decision, route_label: &'static str, recorded: RecordedTriage) -> Processed {
        let Analysed { triage, latency_us, .. } = analysed;
        if let Some(reply_message_id) = recorded.reply_message_id {
            self.publish_message_added(message.ticket_id, reply_message_id, Direction::Outbound);
        }
        self.publish_ticket_updated(&recorded.ticket);
        tracing::info!(
            message_id = message.id,
            ticket_id = message.ticket_id,
            intent = triage.intent.as_str(),
            confidence = triage.confidence,
            route = route_label,
            latency_us,
            "message triaged"
        );
        self.metrics().record_triaged(triage.category, triage.confidence, route_label, message.channel, latency_us);
        Processed { triage, decision, ticket: recorded.ticket }
    }

    /// The workflow of the message's category (PRODUCT.md, "Workflows"), and the further
    /// knowledge-base articles found for an informational question (attached to the decision
    /// record for the agent).
    async fn run_workflow(&self, triage: &TriageResult, today: chrono::NaiveDate) -> Result<(WorkflowOutcome, Vec<ArticleMatch>)> {
        match triage.category {
            // The best article with the index's confidence; without a knowledge base (or a
            // match) nothing is found, the decision record says so, and a person answers.
            Category::Informational => match self.find_article(&triage.normalized_text).await {
                Some((best, related)) => Ok((WorkflowOutcome::Informational { article: Some(best) }, related)),
                None => Ok((WorkflowOutcome::Informational { article: None }, Vec::new())),
            },
            Category::SafetyCompliance => Ok((WorkflowOutcome::Safety { severity: triage.severity.unwrap_or(Severity::High) }, Vec::new())),
            Category::ServiceAction => {
                let lookup = self.look_up_order(triage).await;
                let order = lookup.order().cloned();
                let prepared = prepare_action(triage.intent, &lookup, today, &self.policy().policy)?;
                Ok((WorkflowOutcome::ServiceAction { order, prepared }, Vec::new()))
            }
        }
    }

    /// The first order number in the message that the order connector knows. A connector
    /// failure counts as "not found" (logged): the ticket still reaches a person.
    pub(crate) async fn look_up_order(&self, triage: &TriageResult) -> OrderLookup {
        let numbers: Vec<&str> = triage
            .entities
            .iter()
            .filter_map(|entity| match &entity.value {
                EntityValue::OrderNumber { number } => Some(number.as_str()),
                _ => None,
            })
            .collect();
        let Some(first_number) = numbers.first() else { return OrderLookup::NoReference };
        for number in &numbers {
            match self.orders().find_order(number).await {
                Ok(Some(order)) => return OrderLookup::Found { order },
                Ok(None) => {}
                Err(error) => tracing::warn!(connector = self.orders().name(), error = %error, "order lookup failed"),
            }
        }
        OrderLookup::NotFound { order_number: first_number.to_string() }
    }

    /// Triages messages whose in-request triage failed or whose process died, until `shutdown`
    /// turns true. Several workers (in several processes on one PostgreSQL) share the work
    /// without taking the same message twice.
    pub async fn run_worker(&self, mut shutdown: watch::Receiver<bool>) {
        let worker_name = format!("{}/worker", self.config().instance_id);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let handled = match self.run_worker_round(&worker_name).await {
                Ok(handled) => handled,
                Err(error) => {
                    tracing::warn!(error = %error, "pipeline worker round failed");
                    0
                }
            };
            if handled == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.config().worker.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// One round of the worker: claims a batch and processes it. Returns how many it handled.
    pub async fn run_worker_round(&self, worker_name: &str) -> Result<usize> {
        if self.engine().is_none() {
            return Ok(0);
        }
        let config = &self.config().worker;
        let now = Utc::now();
        let claimed = self.store().claim_pending(worker_name, now, now + chrono_duration(config.claim_lease), config.batch_size).await?;
        let handled = claimed.len();
        self.metrics().record_worker_claims(handled);
        for claimed_message in claimed {
            let message = &claimed_message.message;
            let customer = match claimed_message.ticket.customer_id {
                Some(id) => self.store().customer(id).await.map(Some),
                None => Ok(None),
            };
            let processed = match customer {
                Ok(customer) => self.process(message, customer.as_ref(), &claimed_message.ticket).await.map(drop),
                Err(error) => Err(error.into()),
            };
            if let Err(error) = processed {
                let attempts = message.attempts + 1;
                let retry_at: Option<DateTime<Utc>> = (attempts < config.max_attempts).then(|| Utc::now() + chrono_duration(retry_delay(config, attempts)));
                tracing::warn!(message_id = message.id, attempts, error = %error, gives_up = retry_at.is_none(), "background triage failed");
                self.metrics().record_triage_failure(crate::metrics::TriageSource::Worker, retry_at.is_some());
                self.store().record_triage_failure(message.id, &error.to_string(), retry_at).await?;
            }
        }
        Ok(handled)
    }
}

/// Triage on rayon's pool (one thread per core) instead of tokio's blocking pool. The engine's
/// regexes keep a lazy DFA cache per thread that uses them; spread over the dozens of blocking
/// threads a busy server has, those caches were rebuilt over and over (a profile of the ingest
/// benchmark spent as much time building DFA states as searching with them), and the extra threads
/// only took turns on the same cores. A panic in triage fails this message, not the process.
async fn triage_on_pool(engine: std::sync::Arc<sb_triage::TriageEngine>, message: InboundMessage, today: chrono::NaiveDate) -> Result<TriageResult> {
    let (answer, receiver) = tokio::sync::oneshot::channel();
    let job = EmbeddingJob { engine, message, today, answer };
    // The sentence encoder costs far more per call than per message: concurrent requests share
    // one encoder batch (see `embedding_batcher`). Without embeddings, or should the batcher be
    // gone, the message is triaged alone on rayon.
    let alone = if job.engine.uses_embeddings() { embedding_batcher().send(job).err().map(|std::sync::mpsc::SendError(job)| job) } else { Some(job) };
    if let Some(EmbeddingJob { engine, message, today, answer }) = alone {
        rayon::spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.triage(&message, today)));
            let _ = answer.send(outcome.map_err(|_| ()));
        });
    }
    match receiver.await {
        Ok(Ok(result)) => Ok(result?),
        Ok(Err(())) | Err(_) => Err(Error::Internal("triage panicked".to_string())),
    }
}

/// Most messages one encoder batch takes.
const MAX_EMBEDDING_BATCH: usize = 32;

/// A message waiting for triage, and where its result goes.
struct EmbeddingJob {
    engine: std::sync::Arc<sb_triage::TriageEngine>,
    message: InboundMessage,
    today: chrono::NaiveDate,
    answer: tokio::sync::oneshot::Sender<std::result::Result<sb_triage::Result<TriageResult>, ()>>,
}

/// The queue of the process's embedding batcher: one thread that takes every message waiting
/// (up to [`MAX_EMBEDDING_BATCH`]) and triages them with `TriageEngine::triage_batch`, whose
/// encoder runs the batch at once and whose other steps run on rayon. There is no timer: a lone
/// message is triaged at once, and messages arriving during a batch form the next one. Measured
/// on a 2-core AVX2 machine (docs/benchmarks.md): the same ingest throughput as one message per
/// call (the encoder is the limit either way), but a fair queue, p99 1.7 s → 0.21 s at 32
/// clients; where batches encode faster than single messages it should add throughput too
/// (not measured). A thread, not a task: it serves every runtime of the process (tests start many).
/// The queue is unbounded so that sending never blocks an async worker; the requests in flight
/// bound it.
fn embedding_batcher() -> &'static std::sync::mpsc::Sender<EmbeddingJob> {
    static BATCHER: std::sync::OnceLock<std::sync::mpsc::Sender<EmbeddingJob>> = std::sync::OnceLock::new();
    BATCHER.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<EmbeddingJob>();
        std::thread::Builder::new()
            .name("triage-embedding-batcher".to_string())
            .spawn(move || {
                while let Ok(first) = receiver.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_EMBEDDING_BATCH {
                        match receiver.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    run_embedding_batch(jobs);
                }
            })
            .expect("the embedding batcher thread starts");
        sender
    })
}

/// Triages `jobs` in groups of one engine and one day (a model reload or midnight between two
/// requests splits the batch) and answers each.
fn run_embedding_batch(mut jobs: Vec<EmbeddingJob>) {
    while !jobs.is_empty() {
        let (engine, today) = (jobs[0].engine.clone(), jobs[0].today);
        let (group, rest): (Vec<EmbeddingJob>, Vec<EmbeddingJob>) = jobs.into_iter().partition(|job| std::sync::Arc::ptr_eq(&job.engine, &engine) && job.today == today);
        jobs = rest;
        let messages: Vec<InboundMessage> = group.iter().map(|job| job.message.clone()).collect();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.triage_batch(&messages, today))) {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.answer.send(Ok(result));
                }
            }
            Err(_) => {
                for job in group {
                    let _ = job.answer.send(Err(()));
                }
            }
        }
    }
}

/// What an automatic reply's message carries beside its text: that it was automatic, why, and
/// the article it answers from (title and link), so a channel can show the citation (the chat
/// widget draws it as a card).
fn automatic_reply_metadata(decision: &Decision, workflow: &WorkflowOutcome) -> serde_json::Value {
    let mut metadata = serde_json::json!({"automatic": true, "reason_code": decision.reason_code});
    if let WorkflowOutcome::Informational { article: Some(article) } = workflow {
        if let Some(url) = &article.url {
            metadata["article"] = serde_json::json!({"id": article.article_id, "version": article.version, "title": article.title, "url": url});
        }
    }
    metadata
}

fn reply_recipient(channel: Channel, customer: Option<&sb_store::Customer>) -> Option<String> {
    let customer = customer?;
    match channel {
        Channel::Email => customer.email.clone(),
        Channel::Sms | Channel::Voice => customer.phone.clone(),
        Channel::Chat | Channel::Api => None,
    }
}

/// Whether the sender is the customer of the order the workflow found: the same address,
/// compared without case. No order, or no address on either side, is not ownership.
fn owns_referenced_order(workflow: &WorkflowOutcome, customer: Option<&sb_store::Customer>) -> bool {
    let WorkflowOutcome::ServiceAction { order: Some(order), .. } = workflow else { return false };
    match (order.customer_email.as_deref(), customer.and_then(|customer| customer.email.as_deref())) {
        (Some(order_email), Some(sender_email)) => order_email.trim().eq_ignore_ascii_case(sender_email.trim()),
        _ => false,
    }
}
