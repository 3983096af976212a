//! The plugin as TouchDesigner uses it: a C++ host (`tests/host`) loads the built library with
//! dlopen, calls the six entry points and cooks a CHOP and a DAT frame by frame.
//!
//! This test only prepares what the host cannot know (the simulator's schedule, from
//! [`Timeline`]; the tables' headers; a scripted Spotify Web API and a saved login) and reports
//! the host's verdict; the checks themselves are in `tests/host` (a file per scenario).
#![cfg(target_os = "linux")]

use crate::build_host;
use crate::support;

use std::ffi::CStr;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use support::fake_api::FakeApi;
use support::truth::Truth;
use td_spotify::api::client::{now, PLAYER_PATH};
use td_spotify::auth::secret::{AccessToken, RefreshToken};
use td_spotify::auth::store::{unix, TokenRecord, TokenStore};
use td_spotify::config::{ACCOUNTS_URL_ENV, API_URL_ENV};
use td_spotify::engine::simulator::{SegmentKind, Timeline};
use td_spotify::operator::PULSE_NOTE_FOR;
use td_spotify::schema::{
    Status, DEVICE_COLUMNS, PALETTE_COLUMNS, QUEUE_COLUMNS, RECENT_COLUMNS, STATUS_FIELDS, VISITOR_COLUMNS,
};

const ENTRY_POINTS: [&str; 6] = [
    "FillCHOPPluginInfo",
    "CreateCHOPInstance",
    "DestroyCHOPInstance",
    "FillDATPluginInfo",
    "CreateDATInstance",
    "DestroyDATInstance",
];

/// Frames per phase: five seconds at 60 fps.
const FRAMES: u32 = 300;
/// Simulated seconds per second in the fast phase: tracks and a gap within 300 frames.
const FAST_SPEED: f64 = 60.0;

/// The hosts run one at a time, and apart from the other heavy tests: their timing checks assume
/// the machine is not also busy with another host.
fn one_host_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    support::isolation::serial()
}

/// The host, compiled once for all tests (a second compile would rewrite it under a running one).
fn host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| build_host::build_host("td-spotify-host", false))
}

#[test]
fn library_exports_the_touchdesigner_entry_points() {
    let plugin = build_host::plugin_path();
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&plugin)
        .output()
        .expect("run nm (binutils) on the plugin");
    assert!(output.status.success(), "nm failed: {}", String::from_utf8_lossy(&output.stderr));
    let symbols = String::from_utf8_lossy(&output.stdout);
    let exported: Vec<&str> = symbols.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    for name in ENTRY_POINTS {
        assert!(
            exported.contains(&name),
            "{} does not export {name}; it exports:\n{symbols}",
            plugin.display()
        );
    }
    // The shim's C++ stays private: only the C ABI and the entry points are visible.
    let cpp: Vec<&&str> =
        exported.iter().filter(|s| s.starts_with("_Z") || s.starts_with("tds_shim")).collect();
    assert!(cpp.is_empty(), "C++ symbols leak from the plugin: {cpp:?}");
}

/// The first seed (TouchDesigner's `Simseed` range) whose first track is short and followed by a
/// long gap, so the fast phase shows a track, a gap and the next track even on a loaded machine:
/// the next track starts by simulated second 200 of the phase's 300, so an engine that starts a
/// second late (60 simulated seconds at this speed) still shows it.
fn fast_seed() -> u64 {
    (1..=1000)
        .find(|&seed| {
            let mut t = Timeline::new(seed);
            t.extend_past(400.0);
            let s = t.segments();
            s[0].end_s() + s[1].len_s <= 200.0
                && matches!(s[1].kind, SegmentKind::Gap)
                && s[1].len_s >= 8.0
                && matches!(s[2].kind, SegmentKind::Play { track: 1, .. })
        })
        .expect("no simulator seed in 1..=1000 has a short first track followed by a gap")
}

/// A seed whose first track plays for over a minute, so transport pulses, not the schedule,
/// change what plays while the host presses them.
fn transport_seed(taken: &[u64]) -> u64 {
    (2..=1000)
        .find(|&seed| {
            let mut t = Timeline::new(seed);
            t.extend_past(120.0);
            let s = t.segments();
            !taken.contains(&seed)
                && matches!(s[0].kind, SegmentKind::Play { track: 0, from_ms: 0 })
                && s[0].len_s >= 60.0
        })
        .expect("no simulator seed in 2..=1000 starts with a track of over a minute")
}

/// One seed's playlist and schedule, up to `until_s` of simulated time and at least `tracks`
/// tracks.
fn write_schedule(out: &mut String, seed: u64, until_s: f64, tracks: usize) {
    let mut t = Timeline::new(seed);
    t.extend_past(until_s);
    let mut horizon = until_s;
    while t.tracks().len() < tracks {
        horizon += 600.0;
        t.extend_past(horizon);
    }
    for (i, track) in t.tracks().iter().enumerate() {
        let tempo = track.features.map_or(0.0, |f| f.tempo);
        writeln!(
            out,
            "track\t{seed}\t{i}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{tempo}",
            track.id.as_deref().unwrap_or(""),
            track.uri,
            track.name,
            track.artists.join(", "),
            track.album,
            track.album_art_url.as_deref().unwrap_or(""),
            track.duration_ms,
        )
        .unwrap();
    }
    for seg in t.segments() {
        let (kind, track) = match seg.kind {
            SegmentKind::Play { track, .. } => ("play", track as i64),
            SegmentKind::Pause { track, .. } => ("pause", track as i64),
            SegmentKind::Gap => ("gap", -1),
        };
        writeln!(out, "segment\t{seed}\t{}\t{}\t{kind}\t{track}", seg.start_s, seg.len_s).unwrap();
    }
}

fn names(cells: &[&CStr]) -> String {
    cells.iter().map(|c| c.to_str().expect("UTF-8 header")).collect::<Vec<_>>().join("\t")
}

/// The file the host reads: status codes, table headers, timings, phases, and each seed's
/// playlist and schedule.
fn expectations(phases: &[(&str, u64, f64)], transport: u64) -> String {
    let mut out = String::new();
    for s in Status::all() {
        writeln!(out, "status\t{s:?}\t{}\t{}", s as u8, s.text()).unwrap();
    }
    // The headers of the DAT's modes are not in the C ABI (kept small): the schema says them.
    writeln!(out, "columns\tqueue\t{}", names(QUEUE_COLUMNS)).unwrap();
    writeln!(out, "columns\trecent\t{}", names(RECENT_COLUMNS)).unwrap();
    writeln!(out, "columns\tdevices\t{}", names(DEVICE_COLUMNS)).unwrap();
    writeln!(out, "columns\tstatus\t{}", names(STATUS_FIELDS)).unwrap();
    writeln!(out, "columns\tpalette\t{}", names(PALETTE_COLUMNS)).unwrap();
    writeln!(out, "columns\tvisitors\t{}", names(VISITOR_COLUMNS)).unwrap();
    writeln!(out, "pulse_note_ms\t{}", PULSE_NOTE_FOR.as_millis()).unwrap();
    for &(name, seed, speed) in phases {
        writeln!(out, "phase\t{name}\t{seed}\t{speed}\t{FRAMES}").unwrap();
        // Everything the phase can reach, with room for a slow start.
        write_schedule(&mut out, seed, speed * f64::from(FRAMES) / 60.0 * 2.0 + 30.0, 0);
    }
    writeln!(out, "transport\t{transport}").unwrap();
    // Next and the queue reach a few tracks past the first.
    write_schedule(&mut out, transport, 120.0, 10);
    out
}

fn run_host(host: &Path, args: &[&std::ffi::OsStr], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(host);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the test host")
}

fn report(what: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the test host failed {what} ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

#[test]
fn host_cooks_the_plugin_like_touchdesigner() {
    // The wording artists see in a gap is part of the spec, not just of the engine.
    assert_eq!(Status::Waiting.text(), "Waiting for signal…");
    let plugin = build_host::plugin_path();
    let host = host();
    let _serial = one_host_at_a_time();
    let seed = fast_seed();
    let transport = transport_seed(&[1, seed]);
    let path = build_host::profile_dir().join(format!("td-spotify-host-{}.tsv", std::process::id()));
    std::fs::write(&path, expectations(&[("realtime", 1, 1.0), ("fast", seed, FAST_SPEED)], transport))
        .expect("write the expectations file");

    let output = run_host(host, &["check".as_ref(), plugin.as_ref(), path.as_ref()], &[]);
    let _ = std::fs::remove_file(&path);
    report("its check", &output);
}

/// The client id of the saved login the Spotify operators use.
const CLIENT_ID: &str = "hosttestclient";
/// The display name saved with the login.
const USER: &str = "Host Tester";
/// The one token the scripted Web API accepts.
const TOKEN: &str = "good-token";
/// Seconds each Spotify run cooks its operators.
const SPOTIFY_SECONDS: f64 = 3.5;

/// The scripted Web API on its own thread, on a loopback port.
struct ApiServer {
    api: FakeApi,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    fn start(api: FakeApi) -> ApiServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = api.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                addr_tx.send(served.serve_http().await).expect("send the address");
                let _ = stopped.await;
            });
        });
        let addr = addr_rx.recv().expect("the fake API did not start");
        ApiServer { api, addr, stop: Some(stop), thread: Some(thread) }
    }

    /// Player requests answered so far.
    fn player_requests(&self) -> usize {
        self.api.requests().iter().filter(|r| r.target.starts_with(PLAYER_PATH)).count()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Saves a login for [`CLIENT_ID`] in `dir` the way `td-spotify login` would.
fn save_login(dir: &Path) {
    let now = unix(SystemTime::now());
    let record = TokenRecord {
        version: 1,
        client_id: CLIENT_ID.to_owned(),
        access_token: AccessToken::new(TOKEN),
        refresh_token: Some(RefreshToken::new("host-test-refresh")),
        expires_at: now + 3600,
        lifetime_s: 3600,
        scope: "user-read-playback-state user-read-currently-playing".to_owned(),
        user: Some(USER.to_owned()),
        saved_at: now,
    };
    let store = TokenStore::new(Some(dir), CLIENT_ID).expect("token store");
    store.save(&record).expect("save the login");
    let loaded = store.load(CLIENT_ID).expect("read the login back");
    assert_eq!(loaded.map(|r| r.access_token), Some(AccessToken::new(TOKEN)));
}

/// A temporary folder under `target/`, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = build_host::profile_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ten CHOPs and a DAT following one Spotify account make the requests of one operator: the
/// host runs one CHOP, then eleven operators, each for [`SPOTIFY_SECONDS`], against the same
/// scripted Web API, and the API counts.
#[test]
fn operators_of_one_account_share_one_engine() {
    let plugin = build_host::plugin_path();
    let host = host();
    let _serial = one_host_at_a_time();

    let truth = Truth::new().track("Host Test Song", 600_000).play_to_end(0, 0);
    let track = truth.tracks[0].clone();
    let server = ApiServer::start(FakeApi::new(Arc::new(truth).responder(now(), 1)));
    server.api.accept_tokens(&[TOKEN]);
    let tokens = TempDir::new("td-spotify-host-tokens");
    save_login(&tokens.0);

    let path = build_host::profile_dir().join(format!("td-spotify-host-spotify-{}.tsv", std::process::id()));
    let mut exp = String::new();
    for s in Status::all() {
        writeln!(exp, "status\t{s:?}\t{}\t{}", s as u8, s.text()).unwrap();
    }
    writeln!(
        exp,
        "spotify\t{CLIENT_ID}\t{}\t{}\t{}\t{USER}\t{}\t{SPOTIFY_SECONDS}",
        tokens.0.display(),
        track.name,
        track.uri(),
        track.duration_ms
    )
    .unwrap();
    std::fs::write(&path, exp).expect("write the expectations file");
    let url = format!("http://{}", server.addr);
    // The accounts service is never asked (the saved token is fresh); it points here all the
    // same, so nothing could reach the internet.
    let env =
        [(API_URL_ENV, url.clone()), (ACCOUNTS_URL_ENV, url), ("TD_SPOTIFY_NO_BROWSER", "1".to_owned())];

    let mut runs = Vec::new();
    for operators in ["1", "10"] {
        let before = server.player_requests();
        let output =
            run_host(host, &["spotify".as_ref(), plugin.as_ref(), path.as_ref(), operators.as_ref()], &env);
        runs.push((operators, output, server.player_requests() - before));
    }
    let _ = std::fs::remove_file(&path);
    let (one, eleven) = (runs[0].2, runs[1].2);
    // Printed first: the counts tell the story even when a host failed.
    println!("player requests in {SPOTIFY_SECONDS} s: {one} for one CHOP, {eleven} for ten CHOPs and a DAT");
    for (operators, output, _) in &runs {
        report(&format!("with {operators} Spotify CHOP(s)"), output);
    }
    assert!(one >= 2, "one CHOP made only {one} player request(s): the comparison would say nothing");
    assert!(
        eleven <= one + 2,
        "ten CHOPs and a DAT made {eleven} player requests where one CHOP made {one}: they do not share one poll loop"
    );
    assert_eq!(server.api.overruns(), 0);
    // Every player request succeeds; the source's extras (queue, devices, audio features) have no
    // route here and get 404s, but none may be refused for its token.
    let refused = server
        .api
        .requests()
        .into_iter()
        .filter(|r| {
            matches!(r.outcome.as_str(), "401" | "403")
                || (r.target.starts_with("/v1/me/player?") && r.outcome != "200")
        })
        .count();
    assert_eq!(refused, 0, "requests refused: {:#?}", server.api.requests());
}

/// Issue 9: TouchDesigner's thread never waits on the network. A logged-in CHOP whose Web API
/// never answers gets ten Next pulses, then is destroyed (also: Active off, a new Client ID, a
/// login under way): each call returns in under 5 ms, no thread or fd is left, and the library
/// is unmapped by dlclose.
#[test]
fn destroy_never_waits_on_a_hanging_network() {
    let plugin = build_host::plugin_path();
    let host = host();
    let _serial = one_host_at_a_time();

    let server = ApiServer::start(FakeApi::new(|_| {
        support::fake_api::Reply::Hang(std::time::Duration::from_secs(120))
    }));
    server.api.accept_tokens(&[TOKEN]);
    let tokens = TempDir::new("td-spotify-host-lifecycle");
    save_login(&tokens.0);

    let path =
        build_host::profile_dir().join(format!("td-spotify-host-lifecycle-{}.tsv", std::process::id()));
    let mut exp = String::new();
    for s in Status::all() {
        writeln!(exp, "status\t{s:?}\t{}\t{}", s as u8, s.text()).unwrap();
    }
    writeln!(exp, "spotify\t{CLIENT_ID}\t{}\tnone\tnone\t{USER}\t1\t1", tokens.0.display()).unwrap();
    std::fs::write(&path, exp).expect("write the expectations file");
    let url = format!("http://{}", server.addr);
    let env =
        [(API_URL_ENV, url.clone()), (ACCOUNTS_URL_ENV, url), ("TD_SPOTIFY_NO_BROWSER", "1".to_owned())];
    // A free loopback port for the login server.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let port = port.to_string();
    let output = run_host(host, &["lifecycle".as_ref(), plugin.as_ref(), path.as_ref(), port.as_ref()], &env);
    let _ = std::fs::remove_file(&path);
    report("its lifecycle check", &output);
    assert!(server.player_requests() >= 1, "no player request was in flight: {:#?}", server.api.requests());
}
