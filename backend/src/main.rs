//! The `twostep` binary: parse the command line, then serve or run a CLI command.

use clap::Parser;
use twostep::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    twostep::logging::init(cli.common.log_format);
    let result = match cli.command.unwrap_or_default() {
        Command::Serve(args) => twostep::app::serve(&cli.common, args).await,
        Command::User(command) => twostep::cli::run(&cli.common, command).await,
        Command::Backup { file } => twostep::storage::backup::backup(&cli.common, &file).await,
        Command::Restore { file } => twostep::storage::backup::restore(&cli.common, &file).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("twostep: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
