//! The process's log output: human-readable text (the default) or one JSON object per line
//! (`LOG_FORMAT=json`) for log collectors. The filter is `RUST_LOG`, else `info`.
//!
//! Each JSON line carries the event's fields at the top level and the request's span
//! (`"span": {"name": "request", "request_id": …}`) when the event happened inside one.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,memory_serve=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
