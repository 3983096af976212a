//! The Spotify source end to end against the scripted Web API: a saved login, the player poll,
//! audio features (and their 403), playback pulses and the DAT's lists.
//!
//! Each scenario runs [`SpotifySource`] as the engine would (call, publish, sleep until the
//! `next_poll` it asked for) over real HTTP on loopback, with pacing shrunk ten-fold.

use crate::support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::fake_api::{FakeApi, Reply, Request};
use support::{fast_timing, ms_between};
use td_spotify::api::features::{UNAVAILABLE, UNAVAILABLE_WARNING};
use td_spotify::auth::secret::{AccessToken, RefreshToken};
use td_spotify::auth::store::{TokenRecord, TokenStore};
use td_spotify::config::SpotifyConfig;
use td_spotify::engine::snapshot::Snapshot;
use td_spotify::engine::source::{Source, Update};
use td_spotify::engine::spotify::{SpotifySource, NO_DEVICE, PREMIUM_NEEDED};
use td_spotify::engine::tempo::{BeatReading, LiveTempo, TempoSource};
use td_spotify::model::playback::Playback;
use td_spotify::model::Pulse;
use td_spotify::schema::{Channel, Row, CHANNEL_COUNT};

const CLIENT: &str = "spotify-source-test";
const TOKEN: &str = "good-token";
const QUEUE: &str = include_str!("fixtures/queue.json");
const RECENT: &str = include_str!("fixtures/recently_played.json");
const DEVICES: &str = include_str!("fixtures/devices.json");
const FORBIDDEN: &str = r#"{"error":{"status":403,"message":"Forbidden"}}"#;
const FEATURES: &str = r#"{"tempo":124.0,"energy":0.7,"valence":0.4,"danceability":0.8,"loudness":-6.0,
    "key":2,"mode":1,"time_signature":4,"id":"x","unexpected":[1]}"#;
const ANALYSIS: &str = r#"{"beats":[{"start":0.0},{"start":0.48},{"start":0.97}],"bars":[{"start":0.0}],
    "sections":[{"start":0.0}],"segments":[]}"#;

/// Track ids the scripted player plays, in order.
const IDS: [&str; 3] = ["4uLU6hMCjMI75M1A2tKUQC", "06AKEBrKUckW0KREUWRnvT", "11dFghVXANMlKmJXsNCbNl"];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A token directory holding a valid login for [`CLIENT`] with [`TOKEN`].
fn logged_in_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-spotify-source-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let record = TokenRecord {
        version: 1,
        client_id: CLIENT.into(),
        access_token: AccessToken::new(TOKEN),
        refresh_token: Some(RefreshToken::new("refresh-token")),
        expires_at: now + 3600,
        lifetime_s: 3600,
        scope: String::new(),
        user: Some("Test Artist".into()),
        saved_at: now,
    };
    TokenStore::new(Some(&dir), CLIENT).unwrap().save(&record).unwrap();
    dir
}

/// The playback body of track `i` (of [`IDS`]), playing.
fn playing(i: usize) -> Reply {
    let id = IDS[i % IDS.len()];
    Reply::json(format!(
        r#"{{"is_playing": true, "progress_ms": 1000, "currently_playing_type": "track",
            "device": {{"name": "Studio Mac", "type": "Computer", "volume_percent": 50}},
            "item": {{"type": "track", "id": "{id}", "uri": "spotify:track:{id}", "name": "Track {i}",
                      "duration_ms": 600000, "artists": [{{"name": "Ada Vector"}}]}}}}"#
    ))
}

/// A player that moves to the next track every `polls` requests.
fn changing_tracks(polls: usize) -> impl FnMut(&Request) -> Reply + Send {
    let count = AtomicUsize::new(0);
    move |_| playing(count.fetch_add(1, Ordering::SeqCst) / polls)
}

/// A fake API with the player and the three list endpoints.
fn api_with_lists(player: impl FnMut(&Request) -> Reply + Send + 'static) -> FakeApi {
    let api = FakeApi::new(player);
    api.route("GET", "/v1/me/player/queue", |_| Reply::json(QUEUE))
        .route("GET", "/v1/me/player/recently-played?limit=20", |_| Reply::json(RECENT))
        .route("GET", "/v1/me/player/devices", |_| Reply::json(DEVICES));
    api
}

struct Rig {
    api: FakeApi,
    source: SpotifySource,
    dir: PathBuf,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn rig(test: &str, api: FakeApi, lists_every: Duration) -> Rig {
    let addr = api.serve_http().await;
    let dir = logged_in_dir(test);
    let config = SpotifyConfig {
        client_id: CLIENT.into(),
        cache_dir: Some(dir.clone()),
        accounts_url: "http://127.0.0.1:9".into(),
        api_url: format!("http://{addr}"),
        poll_interval: ms(100),
        ..SpotifyConfig::default()
    };
    let source = SpotifySource::with_timing(&config, fast_timing(), lists_every);
    Rig { api, source, dir }
}

/// One call as the engine makes it, and what it would publish.
struct Step {
    update: Update,
    snapshot: Snapshot,
}

impl Rig {
    /// Calls the source like the engine's loop until `done` says so (or 10 s pass).
    async fn run_until(&mut self, mut done: impl FnMut(&FakeApi, &[Step]) -> bool) -> Vec<Step> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut steps: Vec<Step> = Vec::new();
        let mut shown = Playback::idle(Instant::now());
        while !done(&self.api, &steps) {
            assert!(Instant::now() < deadline, "scenario did not finish: {:#?}", self.api.requests());
            let update = self.source.poll(Instant::now()).await;
            if let Some(p) = &update.playback {
                shown = p.clone();
            }
            let snapshot = Snapshot::build("spotify", shown.clone(), &update.state, 1, 1);
            let next = update.next_poll;
            steps.push(Step { update, snapshot });
            tokio::time::sleep_until(next.into()).await;
        }
        steps
    }

    fn player_requests(&self) -> usize {
        self.api.requests_to("/v1/me/player?").len()
    }
}

fn player_polls_at_least(n: usize) -> impl FnMut(&FakeApi, &[Step]) -> bool {
    move |api, _| api.requests_to("/v1/me/player?").len() >= n
}

#[tokio::test]
async fn a_403_on_audio_features_is_asked_once_and_tempo_falls_back() {
    let api = api_with_lists(changing_tracks(2));
    api.route("GET", "/v1/audio-features/*", |_| Reply::Answer {
        status: 403,
        headers: vec![("content-type".into(), "application/json".into())],
        body: FORBIDDEN.into(),
    })
    .route("GET", "/v1/audio-analysis/*", |_| Reply::status(403));
    let mut rig = rig("features403", api, Duration::from_secs(30)).await;
    let steps = rig.run_until(player_polls_at_least(7)).await;

    let names: Vec<&str> = steps.iter().map(|s| s.snapshot.row(Row::Name)).collect();
    assert!(names.contains(&"Track 0") && names.contains(&"Track 2"), "three tracks played: {names:?}");
    let features = rig.api.requests_to("/v1/audio-");
    assert_eq!(features.len(), 1, "one audio-features request for the whole app: {features:#?}");
    assert_eq!(features[0].target, format!("/v1/audio-features/{}", IDS[0]));
    assert_eq!(features[0].bearer.as_deref(), Some(TOKEN));

    let last = &steps.last().unwrap().snapshot;
    assert_eq!(last.row(Row::Features), UNAVAILABLE);
    assert!(steps
        .iter()
        .any(|s| s.snapshot.warning.as_deref().and_then(|w| w.to_str().ok()) == Some(UNAVAILABLE_WARNING)));
    let mut out = [0.0; CHANNEL_COUNT];
    last.channels(Instant::now(), &mut out);
    assert_eq!(out[Channel::FeaturesAvailable as usize], 0.0);
    assert_eq!(out[Channel::TempoSource as usize], TempoSource::None as u8 as f32);
    // With Bpm set, the manual clock drives tempo.
    let manual = LiveTempo {
        manual: Some(BeatReading { tempo: 100.0, point: Default::default(), key: 0 }),
        ..LiveTempo::default()
    };
    let frame = last.channels_with(Instant::now(), &manual, &mut out);
    assert_eq!(frame.source, TempoSource::Manual);
    assert_eq!(out[Channel::Tempo as usize], 100.0);
    // Every request, features included, is counted.
    assert_eq!(steps.last().unwrap().update.state.stats.requests, rig.api.requests().len() as u64);
}

#[tokio::test]
async fn features_arrive_after_the_new_track_is_published_and_stay_on_it() {
    let api = api_with_lists(changing_tracks(4));
    api.route("GET", "/v1/audio-features/*", |_| Reply::json(FEATURES)).route(
        "GET",
        "/v1/audio-analysis/*",
        |_| Reply::json(ANALYSIS),
    );
    let mut rig = rig("features200", api, Duration::from_secs(30)).await;
    let steps = rig.run_until(player_polls_at_least(10)).await;

    // The first snapshot of each track comes from the player poll alone…
    let first_of = |name: &str| steps.iter().position(|s| s.snapshot.row(Row::Name) == name).unwrap();
    for (i, name) in ["Track 0", "Track 1"].iter().enumerate() {
        let at = first_of(name);
        let playback = steps[at].update.playback.as_ref().unwrap();
        assert_eq!(playback.item.as_ref().unwrap().features, None, "{name} waited for its features");
        // … and asks for the next call at once, which fetches them.
        assert!(steps[at].update.next_poll <= Instant::now());
        let with = steps[at..].iter().position(|s| s.snapshot.row(Row::Features) == "available").unwrap();
        assert!(with <= 2, "{name}: features took {with} calls");
        let fetched = rig.api.requests_to(&format!("/v1/audio-features/{}", IDS[i]));
        assert_eq!(fetched.len(), 1, "{name} features asked once");
    }
    // Each track: its features, then its analysis; nothing asked twice.
    let features = rig.api.requests_to("/v1/audio-features/");
    assert_eq!(rig.api.requests_to("/v1/audio-analysis/").len(), features.len());
    let mut ids: Vec<&str> = features.iter().map(|r| r.target.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), features.len());
    // Every later playback of a track with features carries them.
    let mut seen_features = false;
    for step in &steps {
        let Some(item) = step.update.playback.as_ref().and_then(|p| p.item.as_ref()) else { continue };
        if step.snapshot.row(Row::Features) == "available" {
            seen_features = true;
        }
        if seen_features && item.name == "Track 0" {
            assert_eq!(item.features.map(|f| f.tempo), Some(124.0));
        }
        if item.name != "Track 0" {
            seen_features = false;
        }
    }
    let with = steps.iter().rev().find(|s| s.snapshot.row(Row::Features) == "available").unwrap();
    let mut out = [0.0; CHANNEL_COUNT];
    with.snapshot.channels(Instant::now(), &mut out);
    assert_eq!(out[Channel::TempoSource as usize], TempoSource::Api as u8 as f32);
    assert_eq!(out[Channel::FeaturesAvailable as usize], 1.0);
    assert_eq!(out[Channel::Tempo as usize], 124.0);
    assert_eq!(with.snapshot.row(Row::Key), "D");
}

#[tokio::test]
async fn pulses_send_player_commands_and_poll_at_once() {
    let api = api_with_lists(|_| playing(0));
    for (method, path) in [
        ("PUT", "/v1/me/player/pause"),
        ("PUT", "/v1/me/player/play"),
        ("POST", "/v1/me/player/next"),
        ("POST", "/v1/me/player/previous"),
    ] {
        let status = if method == "PUT" { 202 } else { 204 };
        api.route(method, path, move |_| Reply::status(status));
    }
    let mut rig = rig("pulses", api, Duration::from_secs(30)).await;
    rig.run_until(player_polls_at_least(1)).await;
    rig.run_until(|_, steps| steps.len() >= 3).await;

    let commands = |api: &FakeApi| -> Vec<(String, String, Option<String>)> {
        api.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .map(|r| (r.method, r.target, r.bearer))
            .collect()
    };
    assert_eq!(rig.source.pulse(Pulse::PlayPause).await, None, "playing: Playpause pauses");
    assert_eq!(rig.source.pulse(Pulse::PlayPause).await, None, "then plays again");
    assert_eq!(rig.source.pulse(Pulse::Next).await, None);
    let before = rig.player_requests();
    let pulsed = Instant::now();
    assert_eq!(rig.source.pulse(Pulse::Previous).await, None);
    let token = Some(TOKEN.to_owned());
    assert_eq!(
        commands(&rig.api),
        vec![
            ("PUT".into(), "/v1/me/player/pause".into(), token.clone()),
            ("PUT".into(), "/v1/me/player/play".into(), token.clone()),
            ("POST".into(), "/v1/me/player/next".into(), token.clone()),
            ("POST".into(), "/v1/me/player/previous".into(), token),
        ]
    );
    // The change shows at once: the next player poll comes within the rate bound.
    rig.run_until(move |api, _| api.requests_to("/v1/me/player?").len() > before).await;
    let poll = rig.api.requests_to("/v1/me/player?").pop().unwrap();
    assert!(
        ms_between(pulsed, poll.at) < 200.0,
        "poll {:.0} ms after the pulse",
        ms_between(pulsed, poll.at)
    );
    let steps = rig.run_until(|_, steps| !steps.is_empty()).await;
    assert_eq!(steps[0].update.state.stats.requests, rig.api.requests().len() as u64);
}

#[tokio::test]
async fn premium_required_and_no_device_become_warnings() {
    let api = api_with_lists(|_| playing(0));
    api.route("POST", "/v1/me/player/next", |_| {
        Reply::fixture(include_str!("fixtures/player_403_premium_required.http"))
    })
    .route("POST", "/v1/me/player/previous", |_| Reply::Answer {
        status: 404,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"error":{"status":404,"message":"Player command failed: No active device found","reason":"NO_ACTIVE_DEVICE"}}"#.into(),
    })
    .route("PUT", "/v1/me/player/pause", |_| Reply::Answer {
        status: 429,
        headers: vec![("Retry-After".into(), "1".into())],
        body: String::new(),
    });
    let mut rig = rig("refusals", api, Duration::from_secs(30)).await;
    rig.run_until(player_polls_at_least(1)).await;

    let note = rig.source.pulse(Pulse::Next).await.expect("a warning, not a silent no-op");
    assert!(note.starts_with(PREMIUM_NEEDED), "{note}");
    let steps = rig.run_until(|_, steps| !steps.is_empty()).await;
    let warning = steps[0].snapshot.warning.as_deref().unwrap().to_str().unwrap().to_owned();
    assert!(warning.starts_with(PREMIUM_NEEDED), "{warning}");

    assert_eq!(rig.source.pulse(Pulse::Previous).await.as_deref(), Some(NO_DEVICE));

    // A 429 is honoured: nothing (player or command) goes out before Retry-After.
    let note = rig.source.pulse(Pulse::PlayPause).await.unwrap();
    let limited_at = Instant::now();
    assert!(note.contains("429") && note.contains("1 s"), "{note}");
    let again = rig.source.pulse(Pulse::PlayPause).await.unwrap();
    assert!(again.contains("not sent"), "{again}");
    let pauses = rig.api.requests_to("/v1/me/player/pause");
    assert_eq!(pauses.len(), 1, "no command during Retry-After");
    let before = rig.api.requests().len();
    rig.run_until(move |api, _| api.requests().len() > before).await;
    let next = rig.api.requests()[before].clone();
    assert!(
        ms_between(limited_at, next.at) >= 990.0,
        "asked {:.0} ms after a 429 of 1 s",
        ms_between(limited_at, next.at)
    );
}

#[tokio::test]
async fn lists_fill_from_the_web_api_and_tolerate_odd_entries() {
    let api = api_with_lists(|_| playing(0));
    let mut rig = rig("lists", api, Duration::from_secs(30)).await;
    let steps = rig.run_until(|_, steps| steps.iter().any(|s| !s.snapshot.lists.devices.is_empty())).await;
    let lists = Arc::clone(&steps.last().unwrap().snapshot.lists);
    let cells = |table: &Vec<Vec<std::ffi::CString>>| -> Vec<Vec<String>> {
        table.iter().map(|r| r.iter().map(|c| c.to_str().unwrap().to_owned()).collect()).collect()
    };
    let queue = cells(&lists.queue);
    assert_eq!(queue.len(), 4, "null dropped, the rest kept: {queue:#?}");
    assert_eq!(
        queue[0],
        [
            "1",
            "Tape Hiss",
            "Ada Vector, Loopback Choir",
            "Signals at Dusk",
            "181000",
            "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
            "4uLU6hMCjMI75M1A2tKUQC",
            "track"
        ]
    );
    assert_eq!((queue[1][2].as_str(), queue[1][7].as_str()), ("Signal Path Radio", "episode"));
    assert_eq!(
        (queue[2][1].as_str(), queue[2][4].as_str(), queue[2][7].as_str()),
        ("Chapter 1", "0", "unknown")
    );
    assert_eq!((queue[3][6].as_str(), queue[3][0].as_str()), ("", "4"));
    let recent = cells(&lists.recent);
    assert_eq!(recent.len(), 2, "{recent:#?}");
    assert_eq!(recent[0][0], "2026-11-25T21:58:01.123Z");
    assert_eq!(recent[0][7], "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M");
    assert_eq!((recent[1][1].as_str(), recent[1][7].as_str()), ("No Context", ""));
    let devices = cells(&lists.devices);
    assert_eq!(
        devices,
        [
            ["Studio Mac", "Computer", "1", "65", "5fbb3ba6aa454b5534c4ba43a8c7e8e45a63ad0e"],
            ["Kitchen", "Speaker", "0", "", ""]
        ]
    );
    // Nothing changed since: the same tables are shared, not rebuilt.
    let later = rig.run_until(player_polls_at_least(rig.player_requests() + 2)).await;
    assert!(Arc::ptr_eq(&later.last().unwrap().snapshot.lists, &lists));
}

#[tokio::test]
async fn list_requests_stay_bounded() {
    // Tracks change every 4 polls (about a second); lists refresh every 1.5 s otherwise.
    let api = api_with_lists(changing_tracks(4));
    let mut rig = rig("bounded", api, ms(1500)).await;
    let start = Instant::now();
    rig.run_until(|_, _| start.elapsed() >= Duration::from_secs(4)).await;
    let player = rig.player_requests();
    let changes = player.div_ceil(4);
    let queue = rig.api.requests_to("/v1/me/player/queue");
    let recent = rig.api.requests_to("/v1/me/player/recently-played");
    let devices = rig.api.requests_to("/v1/me/player/devices");
    assert_eq!(queue.len(), recent.len());
    // One per track change, plus the 1.5 s refreshes in between (at most 4 s / 1.5 s of them).
    assert!(queue.len() <= changes + 3, "{} queue requests for {changes} tracks", queue.len());
    assert!(queue.len() >= changes.min(3), "queue follows track changes");
    assert!((2..=4).contains(&devices.len()), "{} device requests in 4 s at 1.5 s", devices.len());
    for pair in queue.windows(2) {
        assert!(ms_between(pair[0].at, pair[1].at) >= 95.0, "queue asked faster than the poll interval");
    }
    assert_eq!(rig.api.overruns(), 0);
}

#[tokio::test]
async fn a_429_on_a_list_pauses_every_request() {
    let api = FakeApi::new(|_| playing(0));
    let queue_calls = AtomicUsize::new(0);
    api.route("GET", "/v1/me/player/queue", move |_| {
        if queue_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::fixture(include_str!("fixtures/player_429_retry_after.http"))
        } else {
            Reply::json(QUEUE)
        }
    })
    .route("GET", "/v1/me/player/recently-played?limit=20", |_| Reply::json(RECENT))
    .route("GET", "/v1/me/player/devices", |_| Reply::json(DEVICES));
    let mut rig = rig("listlimit", api, Duration::from_secs(30)).await;
    let steps = rig.run_until(|api, _| api.requests_to("/v1/me/player/queue").len() >= 2).await;
    let requests = rig.api.requests();
    let limited = requests.iter().position(|r| r.outcome == "429").unwrap();
    let next = &requests[limited + 1];
    let waited = ms_between(requests[limited].at, next.at);
    assert!(waited >= 2990.0, "next request {waited:.0} ms after Retry-After: 3 ({requests:#?})");
    assert!(steps.last().unwrap().update.state.stats.rate_limited >= 1);
}

/// Audio features and lists that hang never hold up the player: they only fill the gaps between
/// player requests, and a track change still shows at the player's own pace.
#[tokio::test]
async fn hanging_extras_do_not_delay_the_player() {
    let api = FakeApi::new(changing_tracks(3));
    api.route("GET", "/v1/audio-features/*", |_| Reply::Hang(Duration::from_secs(30)))
        .route("GET", "/v1/me/player/queue", |_| Reply::Hang(Duration::from_secs(30)))
        .route("GET", "/v1/me/player/devices", |_| Reply::Hang(Duration::from_secs(30)));
    let mut rig = rig("hangingextras", api, ms(200)).await;
    let steps = rig.run_until(player_polls_at_least(8)).await;
    let polls: Vec<Instant> = rig.api.requests_to("/v1/me/player?").iter().map(|r| r.at).collect();
    let worst = polls.windows(2).map(|w| w[1].duration_since(w[0])).max().unwrap();
    // Far below the 30 s hang, with room for a busy CI machine.
    assert!(worst < Duration::from_secs(5), "a player request waited {worst:?} behind a hanging extra");
    assert!(!rig.api.requests_to("/v1/audio-features/").is_empty(), "features were asked");
    let names: Vec<&str> = steps.iter().map(|s| s.snapshot.row(Row::Name)).collect();
    assert!(names.contains(&"Track 2"), "tracks kept changing: {names:?}");
}

/// Sends `head` (a request without a body) to `addr` and returns the status code of the answer.
async fn raw_status(addr: std::net::SocketAddr, head: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {answer:?}"))
}

#[tokio::test]
async fn the_fake_refuses_what_spotify_refuses_and_the_client_sends_what_it_accepts() {
    use td_spotify::api::client::{ApiClient, ClientOptions, Method};
    use td_spotify::api::{ApiError, StaticToken};
    let api = FakeApi::new(|_| playing(0));
    api.route("POST", "/v1/me/player/next", |_| Reply::no_content());
    let addr = api.serve_http().await;
    let auth = format!("Host: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n");
    // No Content-Length on a bodiless POST: Spotify's front end answers 411.
    assert_eq!(raw_status(addr, &format!("POST /v1/me/player/next HTTP/1.1\r\n{auth}\r\n")).await, 411);
    // PUT to `next` (it takes POST): 405, whatever the length.
    let put = format!("PUT /v1/me/player/next HTTP/1.1\r\n{auth}Content-Length: 0\r\n\r\n");
    assert_eq!(raw_status(addr, &put).await, 405);
    assert_eq!(raw_status(addr, &format!("GET /v1/me/player/pause HTTP/1.1\r\n{auth}\r\n")).await, 405);
    let post = format!("POST /v1/me/player/next HTTP/1.1\r\n{auth}Content-Length: 0\r\n\r\n");
    assert_eq!(raw_status(addr, &post).await, 204);

    // The plugin's client sends `Content-Length: 0`, so the strict fake lets its commands through;
    // a wrong method is reported as our bug, not as the artist's.
    let options = ClientOptions {
        api_url: format!("http://{addr}"),
        ..ClientOptions::from_config(&SpotifyConfig::default())
    };
    let client = ApiClient::new(options).unwrap();
    let tokens = StaticToken::new(TOKEN, "test");
    let next = client.url("/v1/me/player/next", None).unwrap();
    let done = client.command(Method::Post, &next, &tokens).await;
    assert!(done.result.is_ok(), "{:?}", done.result);
    let wrong = client.command(Method::Put, &next, &tokens).await.result.unwrap_err();
    assert!(matches!(wrong, ApiError::Http { status: 405 }), "{wrong:?}");
    assert!(wrong.user_message().contains("bug"), "{}", wrong.user_message());
    let outcomes: Vec<_> = api.requests().into_iter().map(|r| (r.method, r.outcome)).collect();
    assert_eq!(outcomes[outcomes.len() - 2..], [("POST".into(), "204".into()), ("PUT".into(), "405".into())]);
}

#[tokio::test]
async fn every_refusal_of_a_pulse_tells_the_artist_what_to_do() {
    let api = api_with_lists(|_| playing(0));
    let refusals = std::sync::Mutex::new(
        vec![Reply::premium_required(), Reply::no_active_device(), Reply::development_mode()].into_iter(),
    );
    api.route("POST", "/v1/me/player/next", move |_| refusals.lock().unwrap().next().unwrap());
    let mut rig = rig("refusal-messages", api, Duration::from_secs(30)).await;
    rig.run_until(player_polls_at_least(1)).await;

    let premium = rig.source.pulse(Pulse::Next).await.unwrap();
    assert_eq!(premium, "Spotify Premium is required for playback control");
    assert_eq!(premium, PREMIUM_NEEDED);
    let steps = rig.run_until(|_, steps| !steps.is_empty()).await;
    let shown = steps[0].snapshot.warning.as_deref().unwrap().to_str().unwrap().to_owned();
    assert_eq!(shown, PREMIUM_NEEDED, "the warning the operator shows");

    let no_device = rig.source.pulse(Pulse::Next).await.unwrap();
    assert_eq!(no_device, "No active Spotify device: start playback on a device first");
    assert_eq!(no_device, NO_DEVICE);

    let dev_mode = rig.source.pulse(Pulse::Next).await.unwrap();
    for needed in ["403", "Development Mode", "allowlist", "at most 5 users", "owner has Spotify Premium"] {
        assert!(dev_mode.contains(needed), "{needed:?} missing from {dev_mode:?}");
    }
    let steps = rig.run_until(|_, steps| !steps.is_empty()).await;
    let shown = steps[0].snapshot.warning.as_deref().unwrap().to_str().unwrap().to_owned();
    assert!(shown.contains("allowlist"), "{shown}");
    assert_eq!(rig.api.requests_to("/v1/me/player/next").len(), 3);
}
