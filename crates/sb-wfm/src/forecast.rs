//! Forecasting (stub).
