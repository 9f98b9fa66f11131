//! SLA policies and clocks: which targets apply to a ticket, when its deadlines fall on a
//! business calendar, how pauses move them, and whether they are on track, at risk or broken.
//!
//! Everything here is a function of its arguments: the current instant is always passed in as
//! `now`, never read from the system clock, so the service decides what "now" is and tests
//! can replay any moment.

mod calendar;
mod clock;
mod duration_text;
mod policy;

pub use calendar::{business_time_between, deadline, BusinessCalendar, BusinessCalendarSpec, Calendar, OpeningHours, WeeklyHours};
pub use clock::{detect_breaches, sla_state, Breach, ClockPause, DeadlineKind, SlaClock, SlaClockStatus, SlaState, TicketSla, TicketSlaStatus};
pub use duration_text::{format_duration, parse_duration, serde_duration};
pub use policy::{default_business_calendar, default_sla_policies, select_policy, validate_sla_policies, PriorityRange, SlaMatch, SlaPolicy, SlaSubject};
