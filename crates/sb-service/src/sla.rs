//! Starting and keeping a ticket's SLA clocks (the maths lives in `sb_policy::sla`).
//!
//! A ticket gets its policy when its first message is triaged; later messages keep the clocks
//! already running, unless the ticket escalates to a stricter policy (a follow-up that turns
//! out to be urgent safety), in which case the clocks restart under that policy from the
//! ticket's creation, so the promise only ever gets tighter.

use chrono::{DateTime, Utc};
use sb_policy::sla::{select_policy, SlaPolicy, SlaSubject, TicketSla};
use sb_domain::TriageResult;
use sb_store::Ticket;

use crate::{Error, Result};

pub(crate) fn start_or_keep(ticket: &Ticket, triage: &TriageResult, priority: u8, sla_policies: &[SlaPolicy], now: DateTime<Utc>) -> Result<TicketSla> {
    let subject = SlaSubject { category: triage.category, intent: triage.intent, severity: triage.severity, priority };
    let policy = select_policy(sla_policies, &subject).ok_or_else(|| Error::Invalid(format!("no SLA policy matches {} (add a catch-all policy)", triage.intent.as_str())))?;
    let fresh = TicketSla::start(policy, ticket.created_at);
    let existing: Option<TicketSla> = ticket.sla.as_ref().and_then(|value| serde_json::from_value(value.clone()).ok());
    let Some(mut existing) = existing else { return Ok(fresh) };
    // A customer message ends a wait on the customer: the clocks run again from now.
    if existing.first_response.is_paused() || existing.resolution.is_paused() {
        existing.resume(now)?;
    }
    let (existing_due, _) = deadlines(&existing, now);
    let (fresh_due, _) = deadlines(&fresh, now);
    Ok(if fresh_due < existing_due { fresh } else { existing })
}

/// (first-response deadline, resolution deadline) as of `now`.
pub(crate) fn deadlines(ticket_sla: &TicketSla, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (ticket_sla.first_response.deadline(now, &ticket_sla.calendar), ticket_sla.resolution.deadline(now, &ticket_sla.calendar))
}
