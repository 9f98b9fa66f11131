//! Switchboard's decision policy and SLA logic: pure, synchronous functions of plain data.
//!
//! Given a triage result, the customer's flags and what a workflow found, this crate decides
//! where a message goes (auto-reply, human queue, safety queue) and why, prepares the service
//! action for an order, computes the ticket's priority and keeps its SLA clocks.
//!
//! Architecture invariant: no I/O, no async, no clock reads, no database. The service looks
//! orders up, reads the time and stores the results; this crate only computes, so every rule
//! of PRODUCT.md's decision policy is testable with plain values. The decision, priority and
//! SLA types live here rather than in `sb-domain` because only this crate defines their rules;
//! they are serialisable because the service stores them in the decision record.

pub mod actions;
pub mod config;
pub mod decision;
mod error;
pub mod priority;
pub mod sla;

pub use actions::{prepare_action, ActionOutcome, OrderLookup, PreparedAction};
pub use config::{ContactOptions, PolicyConfig};
pub use decision::{decide, ArticleMatch, CustomerFlags, Decision, DecisionInput, ReasonCode, Route, TemplatedReply, WorkflowOutcome};
pub use error::{Error, Result};
pub use priority::{compute_priority, Priority, PriorityFactor, PriorityFactorKind, PriorityInput, PriorityWeights};
