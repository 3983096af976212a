//! `td-spotify jukebox`: the Juke-V-Box queue and its live page, without TouchDesigner.

use std::error::Error;
use std::io::Write as _;

use td_spotify::model::SimConfig;

use crate::args::SpotifyArgs;
use td_spotify::jukebox::backend::RedisConfig;
use td_spotify::jukebox::queue::{Rules, TurnMode};
use td_spotify::jukebox::server::Bind;
use td_spotify::jukebox::{Jukebox, JukeboxConfig};

/// Where visitors' playback comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    /// Each visitor who joins from the page gets a simulated player (no account needed).
    Simulator,
    /// Each visitor logs in with their own Spotify account (on this computer's browser: the
    /// login redirects to 127.0.0.1); needs --client-id.
    Spotify,
}

/// Options of `td-spotify jukebox`.
#[derive(Debug, clap::Args)]
pub struct JukeboxArgs {
    #[arg(long, value_enum, default_value = "simulator")]
    pub source: SourceArg,
    /// Base seed of the simulated visitors (visitor N plays seed + N).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Port of the page (0 picks a free one).
    #[arg(long, default_value_t = 8890)]
    pub port: u16,
    /// Spotify app, accounts and API URLs, and the token store folder (where the queue and the
    /// visitors' logins are saved too).
    #[command(flatten)]
    pub spotify: SpotifyArgs,
    /// Seconds a turn lasts (`Turnlength`, with --turn-mode time).
    #[arg(long, default_value_t = 120.0)]
    pub turn_length: f64,
    /// How a turn ends (`Turnmode`): after --turn-length seconds (time) or one track (track).
    #[arg(long, default_value = "time")]
    pub turn_mode: TurnMode,
    /// Seconds a visitor may play nothing before losing the turn (`Idletimeout`).
    #[arg(long, default_value_t = 30.0)]
    pub idle_timeout: f64,
    /// Who can open the page (`Pagebind`): loopback (this machine) or lan (phones on the network).
    #[arg(long, default_value = "loopback")]
    pub bind: Bind,
    /// Share one queue with other machines through this Redis (`Redisurl`), e.g.
    /// redis://192.168.1.10:6379/ ; default: the queue file beside the token store.
    #[arg(long, env = "TD_SPOTIFY_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Seconds the turn lease outlives a machine that stopped renewing it (with --redis-url).
    #[arg(long, default_value_t = 5.0)]
    pub lease: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
}

pub fn run(args: &JukeboxArgs) -> Result<(), Box<dyn Error>> {
    if args.source == SourceArg::Spotify && args.spotify.client_id.trim().is_empty() {
        return Err("--source spotify needs the Client ID of your Spotify app: pass --client-id (or set \
                    TD_SPOTIFY_CLIENT_ID); --source simulator needs no account"
            .into());
    }
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !(positive(args.speed) && args.speed <= 1000.0) {
        return Err("--speed must be above 0 and at most 1000".into());
    }
    if !positive(args.turn_length) || !positive(args.idle_timeout) {
        return Err("--turn-length and --idle-timeout must be positive numbers of seconds".into());
    }
    if !(positive(args.lease) && args.lease <= 600.0) {
        return Err("--lease must be above 0 and at most 600 seconds".into());
    }
    let redis = args.redis_url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(|url| RedisConfig {
        lease: std::time::Duration::from_secs_f64(args.lease),
        ..RedisConfig::new(url)
    });
    let jukebox = Jukebox::start(JukeboxConfig {
        rules: Rules {
            turn_length_s: args.turn_length,
            turn_mode: args.turn_mode,
            idle_timeout_s: args.idle_timeout,
        },
        bind: args.bind,
        port: args.port,
        store_dir: args.spotify.cache.clone(),
        sim: SimConfig { seed: args.seed, speed: args.speed },
        redis,
        spotify: (args.source == SourceArg::Spotify).then(|| args.spotify.config(None)),
    })?;
    println!("Juke-V-Box: open {}", jukebox.url());
    if let Some(redis) = &jukebox.config().redis {
        // Host and port only: the URL may carry a password.
        let server = url::Url::parse(&redis.url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(6379))))
            .unwrap_or_else(|| "Redis".into());
        // Not `println!`: a reader that took only the URL line has closed the pipe, and a
        // failed write must not end the jukebox.
        let _ = writeln!(
            std::io::stdout(),
            "The queue is shared through {server}: other machines with the same --redis-url show it too."
        );
    }
    if args.bind == Bind::Lan {
        let _ = writeln!(
            std::io::stdout(),
            "The page is open to this network too (port {}); Join works from any browser.",
            args.port
        );
    }
    // Line-buffered consumers (tests) see the URL at once.
    let _ = std::io::stdout().flush();
    match args.seconds {
        Some(s) => std::thread::sleep(std::time::Duration::from_secs_f64(s.max(0.0))),
        None => loop {
            std::thread::park();
        },
    }
    jukebox.stop();
    Ok(())
}
