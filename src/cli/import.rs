//! `import`: users from an onboarding CSV, with a progress bar on a terminal (plain progress
//! lines otherwise), a per-row report as CSV or JSON, and a non-zero exit when a row was
//! rejected.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::InvitationArgs;
use crate::clock::now_micros;
use crate::scim::schema::Registry;
use crate::store::Store;
use crate::tenant::import::{
    DEFAULT_IMPORT_CONNECTION, ImportRequest, ImportSummary, REPORT_COLUMNS, ReportRow, RowOutcome,
    check_file, import_users,
};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant the users are imported into.
    #[arg(long)]
    tenant: String,
    /// The directory connection the import is recorded under (created if missing).
    #[arg(long, default_value = DEFAULT_IMPORT_CONNECTION)]
    connection: String,
    /// Report what the import would do, and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the per-row report here: JSON when the name ends in `.json`, CSV otherwise.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The CSV file: a header row naming the columns (userName required), then one user a row.
    file: PathBuf,
    #[command(flatten)]
    invitations: InvitationArgs,
}

pub async fn run(store: &Store, args: ImportArgs, as_json: bool) -> anyhow::Result<()> {
    let open = || File::open(&args.file).with_context(|| format!("{}", args.file.display()));
    let check = check_file(open()?).with_context(|| format!("{}", args.file.display()))?;
    let total = check.rows;
    let registry = Arc::new(Registry::load()?);
    let mut report = match &args.report {
        Some(path) => Some(ReportFile::create(path)?),
        None => None,
    };
    let mut progress = Progress::new(total);
    let mut write_failure = None;
    let request = ImportRequest {
        tenant_slug: &args.tenant,
        connection_name: &args.connection,
        actor: "cli",
        dry_run: args.dry_run,
        invitations: args.invitations.policy(),
        job: None,
    };
    let summary = import_users(
        store,
        registry,
        &request,
        check,
        open()?,
        now_micros,
        |row| {
            progress.row();
            match &mut report {
                Some(file) => {
                    if let Err(err) = file.write(row)
                        && write_failure.is_none()
                    {
                        write_failure = Some(err);
                    }
                }
                None if row.outcome == RowOutcome::Rejected => progress.println(&format!(
                    "line {} ({}): {}",
                    row.line,
                    row.user_name,
                    row.reason.as_deref().unwrap_or_default()
                )),
                None => {}
            }
        },
    )
    .await;
    progress.finish();
    if let Some(file) = report {
        file.finish()?;
    }
    if let Some(err) = write_failure {
        return Err(err.context("writing the report"));
    }
    let summary = summary?;
    print_summary(&summary, args.dry_run, as_json);
    if summary.rejected > 0 {
        anyhow::bail!(
            "{} of {} rows were rejected",
            summary.rejected,
            summary.rows
        );
    }
    Ok(())
}

fn print_summary(summary: &ImportSummary, dry_run: bool, as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::json!({"dryRun": dry_run, "summary": summary})
        );
        return;
    }
    let would = if dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!(
        "{} rows: {} created, {} updated, {} unchanged, {} rejected{would}",
        summary.rows, summary.created, summary.updated, summary.unchanged, summary.rejected
    );
}

/// The per-row report file, written as rows are decided.
enum ReportFile {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Json { out: BufWriter<File>, rows: u64 },
}

impl ReportFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        let out = BufWriter::new(file);
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            return Ok(ReportFile::Json { out, rows: 0 });
        }
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(REPORT_COLUMNS)?;
        Ok(ReportFile::Csv(Box::new(writer)))
    }

    fn write(&mut self, row: &ReportRow) -> anyhow::Result<()> {
        match self {
            ReportFile::Csv(writer) => writer.write_record([
                row.line.to_string().as_str(),
                &row.user_name,
                row.outcome.as_str(),
                row.reason.as_deref().unwrap_or_default(),
            ])?,
            ReportFile::Json { out, rows } => {
                out.write_all(if *rows == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, row)?;
                *rows += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            ReportFile::Csv(mut writer) => writer.flush()?,
            ReportFile::Json { mut out, rows } => {
                out.write_all(if rows == 0 { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// Rows done so far: a bar with rows/s and the time left on a terminal, a line every few
/// seconds otherwise (logs, CI).
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

/// How often a plain progress line is written.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  {eta} left")
            {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            total,
            done: 0,
            started: now,
            last_line: now,
        }
    }

    fn row(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            self.plain_line();
        }
    }

    fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn plain_line(&self) {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        eprintln!(
            "import: {}/{} rows, {:.0} rows/s",
            self.done,
            self.total,
            self.done as f64 / seconds
        );
    }

    fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => self.plain_line(),
        }
    }
}
