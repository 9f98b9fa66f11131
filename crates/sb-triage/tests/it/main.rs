//! Integration tests of the triage engine: a small taxonomy model trained, saved and loaded
//! the way the CLI does it, then driven message by message.

mod gates;
