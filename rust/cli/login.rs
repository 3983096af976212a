//! `td-spotify login`, `logout` and `status`: the plugin's Spotify login, from a terminal.
//!
//! They use the same session and token store as the plugin, so a login made here is the
//! plugin's login too (same client id and token folder).

use std::error::Error;
use std::io::Write;
use std::time::{Duration, SystemTime};

use td_spotify::auth::{AuthState, LoginOutcome, Session, SessionConfig};
use td_spotify::config::DEFAULT_PORT;

use crate::args::SpotifyArgs;

/// Options of `td-spotify login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub spotify: SpotifyArgs,
    /// Port of the login callback. 0 (the default) picks a free port: register
    /// http://127.0.0.1/callback, without a port, as a Redirect URI in your Spotify app. Any other
    /// port needs http://127.0.0.1:PORT/callback registered.
    #[arg(long, env = "TD_SPOTIFY_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Do not open a browser: print the authorize URL, alone on its line, on standard output.
    #[arg(long)]
    pub no_browser: bool,
}

/// Options of `td-spotify logout` and `td-spotify status`.
#[derive(Debug, clap::Args)]
pub struct AccountArgs {
    #[command(flatten)]
    pub spotify: SpotifyArgs,
}

/// Runs the login in the browser and waits for it (up to 10 minutes).
pub fn login(args: &LoginArgs) -> Result<(), Box<dyn Error>> {
    let config =
        SessionConfig { open_browser: !args.no_browser, ..session_config(&args.spotify, args.port)? };
    runtime()?.block_on(async {
        let session = Session::new(config, tokio::runtime::Handle::current());
        let start = session.start_login().map_err(|e| e.user_message())?;
        eprintln!(
            "Redirect URI (register this in your Spotify app): {} (this login uses {})",
            start.register_uri, start.redirect_uri
        );
        if args.no_browser {
            // Alone on its line on stdout, so scripts (and the tests) can take it.
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", start.authorize_url.secret())?;
            out.flush()?;
            eprintln!("Open the URL above in a browser on this computer (or open {}).", start.login_url);
        } else {
            eprintln!(
                "Opening your browser; if it does not open, visit {} on this computer.",
                start.login_url
            );
        }
        eprintln!("Waiting for Spotify (up to 10 minutes; Ctrl-C to give up)…");
        let view = loop {
            session.tick();
            let view = session.view();
            if view.last_login.is_some() {
                break view;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match (&view.last_login, &view.state) {
            (Some(LoginOutcome::Succeeded), AuthState::LoggedIn { user }) => {
                let who = user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
                eprintln!("Logged in to Spotify{who}.");
                if let Some(path) = session.store_path() {
                    eprintln!("Saved to {}.", path.display());
                }
                if let Some(problem) = &view.problem {
                    eprintln!("Warning: {problem}");
                }
                Ok(())
            }
            _ => Err(view.problem.unwrap_or_else(|| "the login did not finish".into()).into()),
        }
    })
}

/// Forgets the saved login.
pub fn logout(args: &AccountArgs) -> Result<(), Box<dyn Error>> {
    let config = SessionConfig { open_browser: false, ..session_config(&args.spotify, DEFAULT_PORT)? };
    runtime()?.block_on(async {
        let session = Session::new(config, tokio::runtime::Handle::current());
        let was = session.state();
        session.logout().await.map_err(|e| e.user_message())?;
        match (was, session.store_path()) {
            (AuthState::LoggedIn { .. }, Some(path)) => eprintln!("Logged out: deleted {}.", path.display()),
            _ => eprintln!("Logged out (there was no saved login)."),
        }
        eprintln!("To revoke td-spotify's access entirely, remove the app at spotify.com/account/apps.");
        Ok(())
    })
}

/// Prints the saved login's state; fails when there is no usable login.
pub fn status(args: &AccountArgs) -> Result<(), Box<dyn Error>> {
    let config = SessionConfig { open_browser: false, ..session_config(&args.spotify, DEFAULT_PORT)? };
    runtime()?.block_on(async {
        let session = Session::new(config, tokio::runtime::Handle::current());
        let view = session.view();
        let path = session.store_path().map(|p| p.display().to_string()).unwrap_or_default();
        match &view.state {
            AuthState::LoggedIn { user } => {
                println!("logged in{}", user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default());
                if let Some(expires_at) = session.expires_at().await {
                    let now = td_spotify::auth::store::unix(SystemTime::now());
                    if expires_at > now {
                        println!("access token valid for {} more minutes", (expires_at - now).div_ceil(60));
                    } else {
                        println!("access token expired; it is refreshed on next use");
                    }
                }
                println!("token file: {path}");
                Ok(())
            }
            state => {
                println!("{}", state.label());
                println!("token file: {path}");
                Err(view.problem.unwrap_or_else(|| "not logged in: run `td-spotify login`".into()).into())
            }
        }
    })
}

fn session_config(args: &SpotifyArgs, port: u16) -> Result<SessionConfig, Box<dyn Error>> {
    let config = args.config(Some(port));
    if config.client_id.trim().is_empty() {
        return Err(
            "missing --client-id (or TD_SPOTIFY_CLIENT_ID): the client id of your Spotify app, from \
                    the Spotify developer dashboard → your app → Settings"
                .into(),
        );
    }
    Ok(SessionConfig::from_spotify(&config))
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
