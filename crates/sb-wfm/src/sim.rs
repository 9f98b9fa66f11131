//! Simulation (stub).
