//! Integration tests of sb-text: one binary, a module per analysis, inputs and expected
//! outputs kept as data under `tests/golden/`.

mod entities;
mod language;
mod normalize;
mod pii;
mod sentiment;
