//! The `td-spotify` command line: a demo of the plugin, login, a live view of playback and the
//! Juke-V-Box.

mod args;
mod demo;
mod json;
mod jukebox;
mod login;
mod now;
#[cfg(all(unix, target_pointer_width = "64"))]
mod td_host;

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
    /// Logs in to Spotify in the browser (OAuth with PKCE, no client secret) and saves the login
    /// where the plugin finds it.
    Login(login::LoginArgs),
    /// Forgets the saved Spotify login.
    Logout(login::AccountArgs),
    /// Shows whether a Spotify login is saved and usable.
    Status(login::AccountArgs),
    /// Shows what Spotify is playing, once or live (--watch), as the plugin's channels and rows.
    Now(now::NowArgs),
    /// Juke-V-Box: visitors join a queue and take turns; a live page at http://127.0.0.1:PORT/
    /// shows what the active visitor plays.
    Jukebox(jukebox::JukeboxArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Login(args) => login::login(&args),
        Command::Logout(args) => login::logout(&args),
        Command::Status(args) => login::status(&args),
        Command::Now(args) => now::run(&args),
        Command::Jukebox(args) => jukebox::run(&args),
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
