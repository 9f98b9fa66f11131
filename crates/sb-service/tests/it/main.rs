//! Integration tests of the service that need no triage models: the SLA watcher and today's
//! forecast.

mod forecast_today;
mod sla_watch;
