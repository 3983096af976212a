//! The `td-spotify` command line: a demo of the plugin, login, and a live view of playback.

mod args;
mod demo;
mod now;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// td-spotify: Spotify playback as TouchDesigner channels and rows.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plays the built-in simulator through the plugin's entry points and shows what TouchDesigner
    /// would receive (no Spotify account needed).
    Demo(demo::DemoArgs),
    /// Shows what Spotify is playing, once or live (--watch), as the plugin's channels and rows.
    Now(now::NowArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Now(args) => now::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes once.
            eprintln!("td-spotify: {e:#}");
            ExitCode::FAILURE
        }
    }
}
