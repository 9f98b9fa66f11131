//! Triage engine (to be written).
