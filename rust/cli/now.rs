//! `td-spotify now`: what Spotify is playing, exactly as the plugin sees it.
//!
//! It runs the plugin's own engine and poller, and reads snapshots the way an operator does, so
//! the channel and row names and values are the plugin's (from `td_spotify::schema`).

use super::json::{FrameJson, Ordered};
use std::error::Error;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use td_spotify::api::{StaticToken, TokenProvider};
use td_spotify::auth::{Session, SessionConfig};
use td_spotify::config::SourceConfig;
use td_spotify::engine::poller::Poller;
use td_spotify::engine::snapshot::Snapshot;
use td_spotify::engine::source::{Source, Update};
use td_spotify::engine::Engine;
use td_spotify::model::BoxFuture;
use td_spotify::schema::{Channel, Param, Row, Status, CHANNELS, CHANNEL_COUNT, PARAMS, ROWS};

use crate::args::SpotifyArgs;

/// Environment variable holding an access token: overrides the saved login (scripts, tests).
pub const ACCESS_TOKEN_ENV: &str = "TD_SPOTIFY_ACCESS_TOKEN";

/// Options of `td-spotify now`.
#[derive(Debug, clap::Args)]
pub struct NowArgs {
    #[command(flatten)]
    pub spotify: SpotifyArgs,
    /// Keep following playback in a live view (Ctrl-C to stop).
    #[arg(long)]
    pub watch: bool,
    /// Print one JSON object per update, `{"channels":{…},"rows":{…}}`, with the plugin's names.
    #[arg(long)]
    pub json: bool,
    /// Fastest polling, in seconds (the plugin's Pollinterval; at least 0.5).
    #[arg(long, default_value_t = 1.0)]
    pub poll_interval: f64,
    /// Without --watch: how long to wait out network trouble before giving up, in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
}

/// Where the access token comes from.
enum Tokens {
    /// `TD_SPOTIFY_ACCESS_TOKEN`: used as is, never refreshed.
    Fixed(StaticToken),
    /// The login `td-spotify login` saved; refreshed as needed (and the refresh saved).
    Saved(SessionConfig),
}

impl Tokens {
    fn choose(args: &SpotifyArgs) -> Result<Tokens, Box<dyn Error>> {
        if let Ok(token) = std::env::var(ACCESS_TOKEN_ENV) {
            if !token.trim().is_empty() {
                return Ok(Tokens::Fixed(StaticToken::new(token.trim(), ACCESS_TOKEN_ENV)));
            }
        }
        let config = args.config(None);
        if config.client_id.trim().is_empty() {
            return Err(format!(
                "missing --client-id (or TD_SPOTIFY_CLIENT_ID): the client id of your Spotify app, whose \
                 saved login (`td-spotify login`) to use; or set {ACCESS_TOKEN_ENV} to an access token"
            )
            .into());
        }
        Ok(Tokens::Saved(SessionConfig { open_browser: false, ..SessionConfig::from_spotify(&config) }))
    }

    /// The provider; must be made on the engine's runtime (the session refreshes on it).
    fn provider(self) -> Arc<dyn TokenProvider> {
        match self {
            Tokens::Fixed(token) => Arc::new(token),
            Tokens::Saved(config) => Arc::new(Session::new(config, tokio::runtime::Handle::current())),
        }
    }
}

/// Polls with a token provider and no login flow.
struct CliSource {
    poller: Poller,
    tokens: Arc<dyn TokenProvider>,
}

impl Source for CliSource {
    fn name(&self) -> &'static str {
        "spotify"
    }

    fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
        Box::pin(async move { self.poller.poll(&*self.tokens, now).await })
    }
}

pub fn run(args: &NowArgs) -> Result<(), Box<dyn Error>> {
    let tokens = Tokens::choose(&args.spotify)?;
    let mut config = args.spotify.config(None);
    let min = PARAMS[Param::Pollinterval as usize].min;
    let interval = if args.poll_interval.is_finite() { args.poll_interval.max(min) } else { 1.0 };
    config.poll_interval = Duration::from_secs_f64(interval);
    let poller = Poller::new(&config).map_err(|e| e.user_message())?;
    let engine = Engine::start_with(SourceConfig::Spotify(config), move |_| {
        Box::new(CliSource { poller, tokens: tokens.provider() })
    })?;

    let live_view = args.watch && !args.json && std::io::stdout().is_terminal();
    let deadline = Instant::now() + Duration::from_secs_f64(args.timeout.max(0.1));
    let mut reader = Reader::default();
    let mut stdout = std::io::stdout().lock();
    loop {
        let snapshot = engine.snapshot();
        let now = Instant::now();
        let update =
            snapshot.status != Status::Connecting && reader.last_published != Some(snapshot.published_at);
        if update {
            reader.read(&snapshot, now);
            // Once mode waits out network trouble (until --timeout) and prints only the answer.
            let transient = !args.watch && snapshot.status == Status::Offline && now <= deadline;
            if transient {
            } else if args.json {
                writeln!(stdout, "{}", json(&snapshot, &reader.channels))?;
            } else if !live_view {
                writeln!(stdout, "{}", view(&snapshot, &reader.channels))?;
            }
            if !args.watch && (snapshot.status != Status::Offline || now > deadline) {
                return outcome(&snapshot);
            }
        } else if !args.watch && now > deadline {
            return match reader.last_published {
                Some(_) => outcome(&snapshot),
                None => Err(format!("Spotify did not answer within {} s", args.timeout).into()),
            };
        }
        if live_view && reader.last_published.is_some() {
            // Between updates the position is extrapolated, as in TouchDesigner.
            reader.channels_at(&snapshot, now);
            write!(stdout, "\x1b[H\x1b[2J{}", view(&snapshot, &reader.channels))?;
        }
        stdout.flush()?;
        std::thread::sleep(Duration::from_millis(if live_view { 100 } else { 20 }));
    }
}

/// A reader's view of successive snapshots, like one operator's.
struct Reader {
    last_published: Option<Instant>,
    last_track_seq: Option<u64>,
    channels: [f32; CHANNEL_COUNT],
}

impl Default for Reader {
    fn default() -> Self {
        Reader { last_published: None, last_track_seq: None, channels: [0.0; CHANNEL_COUNT] }
    }
}

impl Reader {
    fn read(&mut self, snapshot: &Snapshot, now: Instant) {
        self.last_published = Some(snapshot.published_at);
        self.channels_at(snapshot, now);
        let changed = self.last_track_seq.is_some_and(|seq| seq != snapshot.track_seq);
        self.last_track_seq = Some(snapshot.track_seq);
        self.channels[Channel::TrackChanged as usize] = f32::from(u8::from(changed));
    }

    fn channels_at(&mut self, snapshot: &Snapshot, now: Instant) {
        let changed = self.channels[Channel::TrackChanged as usize];
        snapshot.channels(now, &mut self.channels);
        self.channels[Channel::TrackChanged as usize] = changed;
    }
}

/// Once mode fails (exit code 1) when the answer is a problem rather than playback.
fn outcome(snapshot: &Snapshot) -> Result<(), Box<dyn Error>> {
    match snapshot.status {
        Status::LoginRequired | Status::Error | Status::Offline => {
            let text = snapshot.error.as_ref().or(snapshot.warning.as_ref()).and_then(|c| c.to_str().ok());
            let mut text = text.unwrap_or(snapshot.row(Row::Status)).to_owned();
            if snapshot.status == Status::LoginRequired {
                text.push_str(" (on the command line: `td-spotify login`)");
            }
            Err(text.into())
        }
        _ => Ok(()),
    }
}

/// `{"channels":{…},"rows":{…}}` in schema order; `warning` and `error` when there are any.
fn json(snapshot: &Snapshot, channels: &[f32; CHANNEL_COUNT]) -> String {
    let text = |t: &Option<std::ffi::CString>| t.as_ref().map(|t| t.to_string_lossy().into_owned());
    FrameJson {
        channels: Ordered(CHANNELS.iter().map(|spec| spec.name).zip(channels)),
        rows: Ordered(
            ROWS.iter().map(|spec| spec.name).zip(snapshot.rows.iter().map(|r| r.to_string_lossy())),
        ),
        warning: text(&snapshot.warning),
        error: text(&snapshot.error),
    }
    .line()
}

/// The human view.
fn view(snapshot: &Snapshot, channels: &[f32; CHANNEL_COUNT]) -> String {
    let row = |r: Row| snapshot.row(r);
    let channel = |c: Channel| f64::from(channels[c as usize]);
    let mut lines = vec![format!("status    {}", row(Row::Status))];
    if !row(Row::Name).is_empty() {
        lines.push(format!("name      {}", row(Row::Name)));
        lines.push(format!("artists   {}", row(Row::Artists)));
        if !row(Row::Album).is_empty() {
            lines.push(format!("album     {}", row(Row::Album)));
        }
        let (position, duration) = (channel(Channel::Position), channel(Channel::Duration));
        let filled = (channel(Channel::Progress) * 30.0).round().clamp(0.0, 30.0) as usize;
        lines.push(format!(
            "position  {} / {}  [{}{}] {:.0} %",
            clock(position),
            clock(duration),
            "#".repeat(filled),
            "-".repeat(30 - filled),
            channel(Channel::Progress) * 100.0
        ));
        lines.push(format!("type      {}", row(Row::CurrentlyPlayingType)));
    }
    if !row(Row::Device).is_empty() {
        lines.push(format!(
            "device    {} ({}) · volume {:.0} % · shuffle {} · repeat {}",
            row(Row::Device),
            row(Row::DeviceType),
            channel(Channel::Volume) * 100.0,
            if channel(Channel::Shuffle) > 0.5 { "on" } else { "off" },
            ["off", "context", "track"][(channel(Channel::Repeat) as usize).min(2)]
        ));
    }
    for (label, r) in [("context", Row::ContextUri), ("uri", Row::Uri), ("art", Row::AlbumArtUrl)] {
        if !row(r).is_empty() {
            lines.push(format!("{label:<9} {}", row(r)));
        }
    }
    for (label, text) in [("warning", &snapshot.warning), ("error", &snapshot.error)] {
        if let Some(text) = text {
            lines.push(format!("{label:<9} {}", text.to_string_lossy()));
        }
    }
    lines.join("\n") + "\n"
}

/// `m:ss.s`
fn clock(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    format!("{}:{:04.1}", (seconds / 60.0).floor() as u64, seconds % 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use td_spotify::engine::snapshot::EngineState;
    use td_spotify::model::playback::{Item, Playback};

    #[test]
    fn json_uses_the_plugin_names_in_order() {
        let playback = Playback {
            item: Some(Item {
                uri: "spotify:track:1".into(),
                name: "Say \"hi\"".into(),
                duration_ms: 1000,
                ..Item::default()
            }),
            is_playing: true,
            ..Playback::idle(Instant::now())
        };
        let snapshot = Snapshot::build("spotify", playback, &EngineState::default(), 1, 1);
        let mut channels = [0.0; CHANNEL_COUNT];
        snapshot.channels(Instant::now(), &mut channels);
        let text = json(&snapshot, &channels);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["rows"]["name"], "Say \"hi\"");
        assert_eq!(value["channels"]["playing"], 1.0);
        assert_eq!(value["channels"].as_object().unwrap().len(), CHANNEL_COUNT);
        assert_eq!(value["rows"].as_object().unwrap().len(), ROWS.len());
        assert!(value.get("warning").is_none());
        // Schema order is kept in the text.
        assert!(text.find("\"connected\"").unwrap() < text.find("\"is_episode\"").unwrap());
    }

    #[test]
    fn clock_reads_naturally() {
        assert_eq!(clock(215.893), "3:35.9");
        assert_eq!(clock(4.0), "0:04.0");
    }
}
