//! The `scim-gateway` binary: parse the command line, start logging, run the command.

use std::process::ExitCode;

use clap::Parser;

// A request allocates a few hundred small objects (the parsed filter, the JSON document, the
// response). With mimalloc a lookup costs a tenth less CPU than with glibc's allocator (README,
// Performance). `.cargo/config.toml` builds it to commit memory on demand, which keeps its
// resident memory at glibc's level.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = scim_gateway::cli::Cli::parse();
    scim_gateway::telemetry::init(cli.is_serve(), cli.log_format);
    match scim_gateway::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", scim_gateway::cli::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
