//! Integration tests of the service that need no triage models: the SLA watcher.

mod sla_watch;
