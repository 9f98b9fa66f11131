//! Golden tests for language.
