//! The `vasa` binary: with no subcommand it opens the viewer; subcommands are
//! the scriptable tools (`vasa info`, `vasa phantom`, ...).

mod cli;
mod gui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("VASA_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // One clear line: the error and its causes, joined.
            eprintln!("vasa: {}", cli::error_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
