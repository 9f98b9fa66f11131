//! End-to-end tests of the `switchboard` binary, started the way a user starts it.

mod cli;
mod kb;
mod email;
mod serve;
mod wfm;
