//! The `scim-gateway` binary: parse the command line, start logging, run the command.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = scim_gateway::cli::Cli::parse();
    scim_gateway::telemetry::init(cli.is_serve());
    match scim_gateway::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", scim_gateway::cli::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
