//! Golden tests for entities.
