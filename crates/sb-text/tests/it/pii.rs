//! Golden tests for pii.
