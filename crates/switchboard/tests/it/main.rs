//! End-to-end tests of the `switchboard` binary, started the way a user starts it.

mod cli;
mod console;
mod console_ticket;
mod dashboard;
mod kb;
mod policy;
mod email;
mod replicas;
mod report;
mod serve;
mod wfm;
mod widget;
