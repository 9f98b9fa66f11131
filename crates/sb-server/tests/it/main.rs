//! The REST API driven without a socket (`tower::ServiceExt::oneshot` on `sb_server::app`),
//! over a real SQLite store in a temp folder and a service without models (enough for
//! everything but triage; ingest and classify answer as they do while models load).
//!
//! - `authz`: the authorisation matrix, every endpoint × every role and scope, as a table;
//! - `inbound_email`: raw mail pushed by webhook: refusals, raw storage, threading, loop signals;
//! - `actions`: ticket actions, sessions and CSRF, PII masking, rate limits;
//! - `observability`: `/metrics`, request ids, and what the logs hold (and never hold);
//! - `openapi`: the OpenAPI document against the router and the real answers;
//! - `reports`: the report endpoints (parameter errors, JSON, CSV, personal data);
//! - `routing`: agents' skills and presence, and the satisfaction survey's public page;
//! - `sla`: the SLA policies endpoint;
//! - `live`: the `/ws` event stream over a real socket (the one test here with a listener);
//! - `transfer`: handing a ticket to another agent or queue, and the agents list;
//! - `chat`: the chat widget's public API (conversation secrets, limits, origins) and a
//!   customer's `/ws`.

mod actions;
mod authz;
mod chat;
mod inbound_email;
mod live;
mod observability;
mod openapi;
mod policy;
mod reports;
mod routing;
mod sla;
mod support;
mod transfer;
