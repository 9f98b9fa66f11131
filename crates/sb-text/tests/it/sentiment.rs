//! Golden tests for sentiment.
