//! Where the logs go: standard error, as JSON lines (the default of `serve`, for log
//! collectors) or as text (every other command, and `serve` with `[log] format = "text"`).
//! The SWITCHBOARD_LOG environment variable (a level or filter directives), when set, wins over
//! the configured level.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process's log subscriber; a second call changes nothing.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    let installed = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // Only a subscriber installed earlier in this process makes this fail; it keeps logging.
    drop(installed);
}
