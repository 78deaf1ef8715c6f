//! Logging: human-readable lines on stderr, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// `serve` logs requests at info; the other commands only warnings, so their stdout stays clean
/// for scripts (logs go to stderr anyway).
pub fn init(serving: bool) {
    let default = if serving {
        "info,sqlx=warn,tower_http=info"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: escape codes would litter log files and collectors, and
    // styling every field of every request span is a measurable share of a lookup.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
