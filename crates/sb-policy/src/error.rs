//! The one error type of `sb-policy`.
//!
//! Validation errors carry every problem found, not just the first, so an admin fixes a config
//! file in one pass.

use sb_domain::Intent;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid policy config: {}", .problems.join("; "))]
    InvalidConfig { problems: Vec<String> },
    #[error("invalid business calendar: {}", .problems.join("; "))]
    InvalidCalendar { problems: Vec<String> },
    #[error("invalid sla policies: {}", .problems.join("; "))]
    InvalidSlaPolicies { problems: Vec<String> },
    #[error("invalid opening hours `{text}`: {why}")]
    InvalidOpeningHours { text: String, why: &'static str },
    #[error("invalid duration `{text}`: {why}")]
    InvalidDuration { text: String, why: &'static str },
    #[error("intent `{intent}` has no service action")]
    NotAServiceActionIntent { intent: Intent },
    #[error("sla clock is already paused")]
    ClockAlreadyPaused,
    #[error("sla clock is not paused")]
    ClockNotPaused,
    #[error("sla clock event at {at} is earlier than the clock's last event at {last}")]
    ClockEventOutOfOrder { at: chrono::DateTime<chrono::Utc>, last: chrono::DateTime<chrono::Utc> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
