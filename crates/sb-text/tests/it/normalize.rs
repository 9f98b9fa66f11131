//! Golden tests for normalize.
