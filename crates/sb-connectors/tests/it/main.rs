//! The integration tests of `sb-connectors`: one binary, a module per connector (STYLE.md: the
//! suite links once).

mod shopify;
