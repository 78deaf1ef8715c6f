//! Logging: lines on stderr, human-readable or JSON (`--log-format`), filtered by `RUST_LOG`.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log shippers; a request's lines carry its span (method,
    /// path, request id).
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// `serve` logs requests at info; the other commands only warnings, so their stdout stays clean
/// for scripts (logs go to stderr anyway).
pub fn init(serving: bool, format: LogFormat) {
    let default = if serving {
        "info,sqlx=warn,tower_http=info"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    FORMAT.set(format).ok();
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colours only on a terminal: escape codes would litter log files and collectors, and
        // styling every field of every request span is a measurable share of a lookup.
        LogFormat::Text => lines
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // The innermost span (a request's) with its fields, not the whole list: one place for
        // the request id, which is what a log search filters on.
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Whether log lines are JSON: then everything written to stderr must be a log line.
pub fn json_lines() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}
