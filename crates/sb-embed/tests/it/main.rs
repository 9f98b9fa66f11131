//! Integration tests of sb-embed, one binary (links candle once). `support` builds a tiny random
//! BERT on disk so the real loading code is exercised without the downloaded model;
//! `real_model` checks all-MiniLM-L6-v2 itself when `scripts/fetch-model.sh` has been run (and
//! fails instead of skipping when `SWITCHBOARD_REQUIRE_MODEL=1`, for CI).

mod load_errors;
mod real_model;
mod support;
mod tiny_model;
