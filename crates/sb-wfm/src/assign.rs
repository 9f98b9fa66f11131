//! Assignment (stub).
