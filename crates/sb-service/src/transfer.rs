//! Transferring a ticket: to another agent, to another queue, or both, with an optional
//! internal note for whoever picks it up — one action, one transaction, one audit entry.
//!
//! "Queue" means the places people work from: the human queue and the safety queue (`auto`
//! and `triage` are the system's own and take no transfers). A transfer to a queue alone puts
//! the ticket back in that queue unassigned; a transfer to an agent alone keeps the queue
//! (a ticket of the automatic or triage queue moves to the human queue, as an escalation
//! does). Moving a ticket into the safety queue is what a safety escalation does (category,
//! severity, compliance record, the severity SLA when tighter). Safety wins: nothing moves a
//! ticket out of the safety queue; it can change hands within it (the store enforces the
//! same rule in its UPDATE, for changes that race).
//!
//! Who may transfer is the HTTP edge's business; the target agent must be an active user who
//! works tickets (not a viewer).

use chrono::Utc;
use sb_store::{Direction, NewAuditEntry, Queue, Role, Ticket, TicketUpdate};

use crate::actions::{internal_note, required_text, Actor, MAX_ACTION_TEXT_CHARS};
use crate::{Result, Service};

/// Where a ticket goes. At least one of `assignee_id` and `queue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfer {
    pub assignee_id: Option<i64>,
    pub queue: Option<Queue>,
    /// Added as an internal note in the same transaction; blank means none.
    pub note: Option<String>,
}

/// Why a transfer was refused; each has a stable code at the HTTP edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferRefusal {
    #[error("say where the ticket goes: an agent (`assignee_id`), a queue (`queue`) or both")]
    NoTarget,
    #[error("there is no user {0}")]
    UnknownAgent(i64),
    #[error("user {0} cannot take tickets: {1}")]
    AgentUnavailable(i64, &'static str),
    #[error("tickets are transferred to the human or the safety queue, not `{}`", .0.as_str())]
    QueueNotTransferable(Queue),
    #[error("ticket {0} is in the safety queue and stays there (safety wins); transfer it to another agent instead")]
    SafetyStays(i64),
    #[error("ticket {0} is already there")]
    AlreadyThere(i64),
}

impl Service {
    /// Moves the ticket as `transfer` says. Returns the ticket after the move.
    pub async fn transfer_ticket(&self, ticket_id: i64, transfer: &Transfer, actor: &Actor) -> Result<Ticket> {
        if transfer.assignee_id.is_none() && transfer.queue.is_none() {
            return Err(TransferRefusal::NoTarget.into());
        }
        if let Some(queue @ (Queue::Auto | Queue::Triage)) = transfer.queue {
            return Err(TransferRefusal::QueueNotTransferable(queue).into());
        }
        let note = match transfer.note.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(required_text("note", text, MAX_ACTION_TEXT_CHARS)?),
            _ => None,
        };
        if let Some(user_id) = transfer.assignee_id {
            let user = match self.store().user(user_id).await {
                Ok(user) => user,
                Err(sb_store::Error::NotFound { .. }) => return Err(TransferRefusal::UnknownAgent(user_id).into()),
                Err(error) => return Err(error.into()),
            };
            if !user.active {
                return Err(TransferRefusal::AgentUnavailable(user_id, "the account is deactivated").into());
            }
            if user.role == Role::Viewer {
                return Err(TransferRefusal::AgentUnavailable(user_id, "viewers read tickets, they do not work them").into());
            }
        }
        let ticket = self.ticket_for_action(ticket_id).await?;
        let to_queue = match transfer.queue {
            Some(queue) => queue,
            None if matches!(ticket.queue, Queue::Auto | Queue::Triage) => Queue::Human,
            None => ticket.queue,
        };
        if ticket.queue == Queue::Safety && to_queue != Queue::Safety {
            return Err(TransferRefusal::SafetyStays(ticket_id).into());
        }
        // A queue without an agent means "back to the queue": nobody holds it.
        let to_assignee = transfer.assignee_id;
        if to_queue == ticket.queue && to_assignee == ticket.assignee_id {
            return Err(TransferRefusal::AlreadyThere(ticket_id).into());
        }

        let now = Utc::now();
        let mut update = TicketUpdate { assignee_id: Some(to_assignee), ..TicketUpdate::default() };
        if to_queue == Queue::Safety && ticket.queue != Queue::Safety {
            let reason = note.clone().unwrap_or_else(|| "transferred to the safety queue".to_string());
            self.move_to_safety_queue(&ticket, "transfer", &reason, actor, &mut update, now).await?;
        } else if to_queue != ticket.queue {
            update.queue = Some(to_queue);
        }
        let outbound = note.as_deref().map(|body| internal_note(&ticket, body, actor, Some(serde_json::json!({"transfer": {"to_queue": to_queue.as_str(), "to_assignee": to_assignee}}))));
        let audit = [NewAuditEntry::new(
            &actor.audit_name,
            "ticket.transferred",
            "ticket",
            ticket_id,
            serde_json::json!({
                "from_queue": ticket.queue.as_str(),
                "to_queue": to_queue.as_str(),
                "from_assignee": ticket.assignee_id,
                "to_assignee": to_assignee,
                "note_chars": note.as_ref().map(|body| body.chars().count()),
            }),
        )];
        let (ticket, note_id) = self.store().apply_ticket_action(ticket_id, ticket.updated_at, &update, outbound.as_ref(), &audit, now).await?;
        if let Some(note_id) = note_id {
            self.publish_message_added(ticket_id, note_id, Direction::Note);
        }
        self.publish_ticket_updated(&ticket);
        Ok(ticket)
    }
}
