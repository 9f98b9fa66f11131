//! The SLA watcher: turns deadlines into recorded events. Every round it looks at open tickets
//! whose first-response or resolution deadline falls within the look-ahead window, computes
//! their clocks with `sb_policy::sla` (business calendars, pauses), and records `at_risk` and
//! `*_breached` events — once per ticket, kind and deadline, whichever process sees it first
//! (the store's unique index makes a second recording a no-op) — with an audit entry for each
//! breach.

use chrono::{DateTime, TimeDelta, Utc};
use sb_policy::sla::{DeadlineKind, SlaState, TicketSla};
use sb_store::{NewAuditEntry, Ticket};
use serde::Serialize;
use tokio::sync::watch;

use crate::{Result, Service};

/// How far ahead a round looks for deadlines (at-risk needs to be seen before the breach).
const LOOK_AHEAD: TimeDelta = TimeDelta::hours(24);

/// What one round recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlaRound {
    pub tickets_checked: usize,
    pub at_risk: usize,
    pub breached: usize,
}

/// The ticket's clocks as of now, with the first response and resolution the ticket row
/// already records applied (a reply completes the first-response clock even if the clock JSON
/// was written before it).
fn current_clocks(ticket: &Ticket) -> Option<TicketSla> {
    let mut ticket_sla: TicketSla = serde_json::from_value(ticket.sla.clone()?).ok()?;
    if let Some(responded_at) = ticket.first_responded_at {
        if ticket_sla.first_response.completed_at().is_none() {
            let _ = ticket_sla.record_first_response(responded_at);
        }
    }
    if let Some(resolved_at) = ticket.resolved_at {
        if ticket_sla.resolution.completed_at().is_none() {
            let _ = ticket_sla.record_resolution(resolved_at);
        }
    }
    Some(ticket_sla)
}

fn kind_label(deadline: DeadlineKind) -> &'static str {
    match deadline {
        DeadlineKind::FirstResponse => "first_response_breached",
        DeadlineKind::Resolution => "resolution_breached",
    }
}

impl Service {
    /// One pass of the watcher at `now`.
    pub async fn check_slas(&self, now: DateTime<Utc>) -> Result<SlaRound> {
        let at_risk_fraction = self.policy().policy.sla_at_risk_fraction;
        let tickets = self.store().tickets_with_sla_due(now + LOOK_AHEAD, 1_000).await?;
        let mut round = SlaRound { tickets_checked: tickets.len(), ..SlaRound::default() };
        for ticket in tickets {
            let Some(ticket_sla) = current_clocks(&ticket) else { continue };
            for breach in ticket_sla.breaches(now) {
                if breach.completed_at.is_some() {
                    continue;
                }
                let kind = kind_label(breach.deadline);
                if self.store().record_sla_event(ticket.id, kind, breach.due_at, now).await? {
                    round.breached += 1;
                    self.events().publish(crate::EventKind::Sla { ticket_id: ticket.id, state: kind.to_string() });
                    self.metrics().record_sla_breach(breach.deadline);
                    tracing::warn!(ticket_id = ticket.id, kind, policy = %breach.policy_name, "sla breached");
                    let details = serde_json::json!({"kind": kind, "policy": breach.policy_name, "due_at": breach.due_at});
                    self.store().append_audit(&[NewAuditEntry::new("system", "sla.breached", "ticket", ticket.id, details)], now).await?;
                }
            }
            let status = ticket_sla.status(now, at_risk_fraction);
            if status.state == SlaState::AtRisk {
                let due_at = [&status.first_response, &status.resolution]
                    .into_iter()
                    .filter(|clock| clock.completed_at.is_none() && clock.state == SlaState::AtRisk)
                    .map(|clock| clock.due_at)
                    .min();
                if let Some(due_at) = due_at {
                    if self.store().record_sla_event(ticket.id, "at_risk", due_at, now).await? {
                        round.at_risk += 1;
                        self.events().publish(crate::EventKind::Sla { ticket_id: ticket.id, state: "at_risk".to_string() });
                    }
                }
            }
        }
        Ok(round)
    }

    /// Runs [`Service::check_slas`] every `interval` until `shutdown` turns true.
    pub async fn run_sla_watcher(&self, interval: std::time::Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(error) = self.check_slas(Utc::now()).await {
                tracing::warn!(error = %error, "sla watcher round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
