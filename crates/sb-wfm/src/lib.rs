//! Workforce management maths for Switchboard: forecasting contact arrivals per interval,
//! staffing with Erlang C and Erlang A, a discrete-event queue simulation that checks (and goes
//! beyond) the formulas, and batch assignment of a ticket backlog to agents.
//!
//! Everything here is synchronous, deterministic (simulations take a seed) and free of I/O except
//! [`forecast::Series::from_csv_reader`], which reads from any `std::io::Read` the caller opens.

pub mod assign;
pub mod erlang;
pub mod forecast;
pub mod sim;

/// Errors of the workforce management crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CSV line could not be used; `line` is 1-based and counts the header.
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    /// The series as a whole cannot be used (too short, irregular, empty).
    #[error("series: {0}")]
    Series(String),
    /// A parameter is out of its domain (negative rate, target above 1, ...).
    #[error("invalid {name}: {message}")]
    InvalidParameter { name: &'static str, message: String },
    /// A staffing target cannot be met within the search limit.
    #[error("no staffing up to {max_agents} agents meets the target")]
    Unreachable { max_agents: u32 },
    /// The MSTL decomposition or its trend model failed.
    #[error("forecast model {model}: {message}")]
    Model { model: &'static str, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidParameter { name, message: message.into() }
}
