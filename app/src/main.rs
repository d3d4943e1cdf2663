//! The `vasa` binary: with no subcommand it opens the viewer; subcommands are
//! the scriptable tools (`vasa info`, `vasa phantom`, ...).

use clap::Parser;
use vasa::cli;

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
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

/// `vasa info ... | head` should stop quietly like any Unix tool: Rust
/// ignores SIGPIPE, which turns a closed pipe into a panic in `println!`.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists;
    // setting a signal's disposition to its default is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
