//! Soak: a show's worth of frames at 60 fps against a Web API that misbehaves on a schedule.
//!
//! A Spotify CHOP and a status DAT, driven through the C ABI each cook as the shim drives them
//! (parameters, then cook, then the channels or the table; the parameters are set one at a time
//! here, outside the timed part, where the shim lets the library read them), follow the
//! scripted fake Web API (`tests/support/fake_api.rs`, real HTTP on loopback) while it injects,
//! every minute: requests that hang past the client's timeout, 429s with `Retry-After`, 500/502/
//! 503s and connection resets. The access token lasts 20 s, so the login refreshes about every
//! 15 s against a local token endpoint that rotates the refresh token each time (the old one is
//! refused afterwards, as Spotify's PKCE refresh may), and answers 503 to every fifth refresh.
//! `Next` is pressed every 7 s, hangs included, so pulses queue up behind them.
//!
//! Printed every 30 s: the `execute` time (cook + channels) median, p99 and max, RSS, threads and
//! open fds. Asserted: no growth of threads, fds or memory from the first window to the last,
//! the login never lost (no "login required", every rotation taken), playback shown again after
//! each fault, and no error on either operator. The p99 is printed against the 5 µs target
//! but not asserted, and the median only under a generous 50 µs: on a shared machine a
//! preempted frame says nothing about the plugin (`cargo bench --bench cook` has the figures
//! of an idle machine).
//!
//! Length: `TD_SPOTIFY_SOAK_SECS` (default 300, what CI runs); the long form is an hour:
//! `TD_SPOTIFY_SOAK_SECS=3600 cargo test --release --test it -- attack_soak --nocapture`.

use crate::support;

use std::ffi::{c_char, CStr, CString};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use support::fake_api::{FakeApi, Reply};
use support::param_index;
use support::truth::Truth;
use td_spotify::api::client::now;
use td_spotify::auth::secret::{AccessToken, RefreshToken};
use td_spotify::auth::store::{unix, TokenRecord, TokenStore};
use td_spotify::ffi::*;

const CLIENT_ID: &str = "soakclient";
const LIFETIME_S: u64 = 20;
const FPS: u64 = 60;
const WINDOW: Duration = Duration::from_secs(30);

/// Pages the machine baseline touches: about what a cook's code and data span.
const COLD_PAGES: usize = 64;

/// What the machine charges for memory gone cold between frames, whatever the plugin does: a
/// virtual machine on a shared host loses its caches and TLB entries within milliseconds, and a
/// cook at 60 fps starts cold every time. Reads a byte of each of [`COLD_PAGES`] pages after
/// sleeping one frame, 200 times; returns the median and p99 in nanoseconds.
fn cold_pages_after_a_frame(frame: Duration) -> (u64, u64) {
    let buffer = vec![1u8; COLD_PAGES * 4096 * 7];
    let mut times: Vec<u64> = (0..200)
        .map(|_| {
            std::thread::sleep(frame);
            let t0 = Instant::now();
            let sum: u32 =
                (0..COLD_PAGES).map(|p| u32::from(std::hint::black_box(&buffer)[p * 4096 * 7])).sum();
            std::hint::black_box(sum);
            t0.elapsed().as_nanos() as u64
        })
        .collect();
    times.sort_unstable();
    (times[100], times[197])
}

fn soak_secs() -> u64 {
    std::env::var("TD_SPOTIFY_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map_or(0, Iterator::count)
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 4
}

/// What the fake API does at `t` seconds into the soak: a fault schedule repeating every minute.
fn fault(t: f64) -> Option<Reply> {
    let s = t % 60.0;
    match s as u32 {
        10..=12 => Some(Reply::Hang(Duration::from_secs(12))),
        20..=21 => Some(Reply::Answer {
            status: 429,
            headers: vec![("retry-after".into(), "2".into())],
            body: String::new(),
        }),
        30..=32 => Some(Reply::status([500, 502, 503][(t as usize) % 3])),
        40..=41 => Some(Reply::Close),
        _ => None,
    }
}

/// A token endpoint that rotates the refresh token on every refresh and refuses the old one.
struct Accounts {
    addr: SocketAddr,
    refreshes: Arc<AtomicU32>,
    refused: Arc<AtomicU32>,
}

fn start_accounts() -> Accounts {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("token endpoint");
    let addr = server.server_addr().to_ip().expect("ip address");
    let refreshes = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    let (done, wrong) = (Arc::clone(&refreshes), Arc::clone(&refused));
    std::thread::spawn(move || {
        let mut current = "soak-refresh-0".to_owned();
        let mut asked = 0u32;
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let form: Vec<(String, String)> =
                url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            asked += 1;
            let json = tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
            let (status, answer) = if request.url() != "/api/token" {
                (404, "{}".to_owned())
            } else if asked % 5 == 0 {
                (503, "{}".to_owned())
            } else if field("refresh_token").as_deref() != Some(&current)
                || field("grant_type").as_deref() != Some("refresh_token")
            {
                wrong.fetch_add(1, Ordering::SeqCst);
                (400, r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#.to_owned())
            } else {
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                current = format!("soak-refresh-{n}");
                let answer = format!(
                    r#"{{"access_token":"soak-access-{n}","token_type":"Bearer","expires_in":{LIFETIME_S},"refresh_token":"{current}","scope":"user-read-playback-state user-modify-playback-state"}}"#
                );
                (200, answer)
            };
            let _ = request
                .respond(tiny_http::Response::from_string(answer).with_status_code(status).with_header(json));
        }
    });
    Accounts { addr, refreshes, refused }
}

/// The fake Web API on a thread of its own.
fn start_api(api: &FakeApi) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let served = api.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            tx.send(served.serve_http().await).expect("send the address");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the fake API did not start")
}

fn save_login(dir: &std::path::Path) {
    let now = unix(SystemTime::now());
    let record = TokenRecord {
        version: 1,
        client_id: CLIENT_ID.to_owned(),
        access_token: AccessToken::new("soak-access-0"),
        refresh_token: Some(RefreshToken::new("soak-refresh-0")),
        expires_at: now + LIFETIME_S,
        lifetime_s: LIFETIME_S,
        scope: "user-read-playback-state user-modify-playback-state".to_owned(),
        user: Some("Soak".to_owned()),
        saved_at: now,
    };
    TokenStore::new(Some(dir), CLIENT_ID).unwrap().save(&record).unwrap();
}

/// An operator as the shim sees it: its parameter values, set in full before every cook.
struct Op {
    inst: *mut TdsInstance,
    numbers: Vec<(u32, f64)>,
    strings: Vec<(u32, CString)>,
}

impl Op {
    fn new(family: u32, strings: &[(&str, &str)]) -> Op {
        let inst = td_spotify_instance_new(family);
        assert!(!inst.is_null());
        Op {
            inst,
            numbers: vec![(param_index("Active"), 1.0), (param_index("Pollinterval"), 1.0)],
            strings: strings.iter().map(|(n, v)| (param_index(n), CString::new(*v).unwrap())).collect(),
        }
    }

    fn set_all(&self) {
        // SAFETY: `inst` is live until drop; the strings are NUL-terminated.
        unsafe {
            for (i, v) in &self.numbers {
                td_spotify_set_param_number(self.inst, *i, *v);
            }
            for (i, v) in &self.strings {
                td_spotify_set_param_string(self.inst, *i, v.as_ptr());
            }
        }
    }

    fn message(&self, f: unsafe extern "C" fn(*mut TdsInstance, *mut c_char, usize) -> usize) -> String {
        let mut buf = [0 as c_char; 512];
        // SAFETY: live instance, buffer of the size given.
        unsafe {
            f(self.inst, buf.as_mut_ptr(), buf.len());
            CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
        }
    }

    /// The `value` of row `field` of a `field | value` table.
    fn row(&self, field: &str) -> String {
        let (mut rows, mut cols) = (0u32, 0u32);
        let cell = |r: u32, c: u32| {
            let mut buf = [0 as c_char; 256];
            // SAFETY: live instance, buffer of the size given.
            unsafe {
                td_spotify_table_cell(self.inst, r, c, buf.as_mut_ptr(), buf.len());
                CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
            }
        };
        // SAFETY: live instance, writable outputs.
        unsafe { td_spotify_table_size(self.inst, &mut rows, &mut cols) };
        (0..rows).find(|&r| cell(r, 0) == field).map(|r| cell(r, 1)).unwrap_or_default()
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        // SAFETY: created by `td_spotify_instance_new`, freed once.
        unsafe { td_spotify_instance_free(self.inst) };
    }
}

struct Window {
    at_s: u64,
    exec_ns: Vec<u64>,
    rss_kib: u64,
    threads: usize,
    fds: usize,
    connected_frames: usize,
}

impl Window {
    fn pct(&mut self, q: f64) -> u64 {
        self.exec_ns.sort_unstable();
        self.exec_ns[((self.exec_ns.len() - 1) as f64 * q) as usize]
    }
}

/// The soak's world: the faulty Web API, the rotating token endpoint, a saved login and the two
/// operators reading them.
struct Rig {
    api: FakeApi,
    accounts: Accounts,
    dir: std::path::PathBuf,
    chop: Op,
    dat: Op,
    c_connected: usize,
}

fn rig(secs: u64) -> Rig {
    let truth = Arc::new(Truth::random_session(9, (secs + 120) * 1000, 90_000..200_000));
    let mut inner = truth.responder(now(), 9);
    let started = Instant::now();
    let api = FakeApi::new(move |req| fault(started.elapsed().as_secs_f64()).unwrap_or_else(|| inner(req)));
    let tokens: Vec<String> = (0..=(secs / 10 + 50)).map(|n| format!("soak-access-{n}")).collect();
    api.accept_tokens(&tokens.iter().map(String::as_str).collect::<Vec<_>>());
    api.route("POST", "/v1/me/player/next", |_| Reply::no_content());
    let api_addr = start_api(&api);
    let accounts = start_accounts();

    let dir = std::env::temp_dir().join(format!("td-spotify-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    save_login(&dir);
    std::env::set_var("TD_SPOTIFY_API_URL", format!("http://{api_addr}"));
    std::env::set_var("TD_SPOTIFY_ACCOUNTS_URL", format!("http://{}", accounts.addr));
    std::env::set_var("TD_SPOTIFY_NO_BROWSER", "1");

    let cache = dir.to_str().unwrap().to_owned();
    let common = [("Source", "Spotify"), ("Clientid", CLIENT_ID), ("Tokencache", cache.as_str())];
    let chop = Op::new(TDS_FAMILY_CHOP, &common);
    let mut dat_strings = common.to_vec();
    dat_strings.push(("Mode", "status"));
    let dat = Op::new(TDS_FAMILY_DAT, &dat_strings);
    let c_connected = (0..td_spotify_channel_count())
        .find(|&i| {
            // SAFETY: a static C string for every index below the count.
            unsafe { CStr::from_ptr(td_spotify_channel_name(i)) }.to_str() == Ok("connected")
        })
        .expect("connected channel") as usize;
    Rig { api, accounts, dir, chop, dat, c_connected }
}

/// What the frames saw: a window every [`WINDOW`], the auth states shown, the operators' errors.
struct Seen {
    windows: Vec<Window>,
    auth_states: std::collections::BTreeSet<String>,
    errors: Vec<String>,
}

fn empty_window() -> Window {
    Window { at_s: 0, exec_ns: Vec::new(), rss_kib: 0, threads: 0, fds: 0, connected_frames: 0 }
}

/// Cooks both operators every `frame` for `secs` seconds, pressing Next every 7 s.
fn run_frames(rig: &Rig, secs: u64, frame: Duration) -> Seen {
    let mut seen = Seen { windows: Vec::new(), auth_states: Default::default(), errors: Vec::new() };
    let mut current = empty_window();
    let mut channels = [0f32; 64];
    let start = Instant::now();
    let mut next_frame = start;
    let mut next_pulse = start + Duration::from_secs(7);
    let mut window_end = start + WINDOW;
    println!("soak: {secs} s at {FPS} fps, faults every minute at 10-13 s (hang), 20-22 s (429), 30-33 s (5xx), 40-42 s (reset)");
    while start.elapsed() < Duration::from_secs(secs) {
        next_frame += frame;
        if let Some(wait) = next_frame.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if Instant::now() >= next_pulse {
            next_pulse += Duration::from_secs(7);
            // SAFETY: live instance, static name.
            unsafe { td_spotify_pulse(rig.chop.inst, c"Next".as_ptr()) };
        }
        rig.chop.set_all();
        // `execute`: the cook and the copy of the channels (what TD's main thread waits for).
        let t0 = Instant::now();
        // SAFETY: live instances; `channels` holds 64 floats.
        let n = unsafe {
            td_spotify_cook(rig.chop.inst);
            td_spotify_channels(rig.chop.inst, channels.as_mut_ptr(), channels.len() as u32)
        };
        current.exec_ns.push(t0.elapsed().as_nanos() as u64);
        assert!(n as usize > rig.c_connected);
        current.connected_frames += usize::from(channels[rig.c_connected] == 1.0);
        rig.dat.set_all();
        // SAFETY: live instance.
        unsafe { td_spotify_cook(rig.dat.inst) };

        if Instant::now() >= window_end {
            window_end += WINDOW;
            current.at_s = start.elapsed().as_secs();
            close_window(rig, &mut current, &mut seen);
            seen.windows.push(std::mem::replace(&mut current, empty_window()));
        }
    }
    seen
}

/// Measures the process at the end of a window, notes what the operators show, prints the line.
fn close_window(rig: &Rig, current: &mut Window, seen: &mut Seen) {
    current.rss_kib = rss_kib();
    current.threads = count_dir("/proc/self/task");
    current.fds = count_dir("/proc/self/fd");
    seen.auth_states.insert(rig.dat.row("auth_state"));
    for op in [&rig.chop, &rig.dat] {
        let e = op.message(td_spotify_error);
        if !e.is_empty() {
            seen.errors.push(format!("{} s: {e}", current.at_s));
        }
    }
    let (p50, p99, max) = (current.pct(0.5), current.pct(0.99), current.pct(1.0));
    println!(
        "{:5} s: execute median {p50} ns, p99 {p99} ns, max {max} ns; RSS {} KiB, threads {}, fds {}; \
         connected {}/{} frames; refreshes {}; auth '{}'; warning '{}'",
        current.at_s,
        current.rss_kib,
        current.threads,
        current.fds,
        current.connected_frames,
        current.exec_ns.len(),
        rig.accounts.refreshes.load(Ordering::SeqCst),
        rig.dat.row("auth_state"),
        rig.chop.message(td_spotify_warning),
    );
}

/// Nothing grew from the first windows to the last, the login held, and playback came back.
fn assert_nothing_grew(seen: &Seen, accounts: &Accounts, secs: u64) {
    let windows = &seen.windows;
    let (auth_states, errors) = (&seen.auth_states, &seen.errors);
    assert!(windows.len() >= 2, "the soak is too short to compare windows");
    let (first, last) = (&windows[0], &windows[windows.len() - 1]);
    let max_threads = windows.iter().take(2).map(|w| w.threads).max().unwrap();
    let max_fds = windows.iter().take(2).map(|w| w.fds).max().unwrap();
    assert!(
        last.threads <= max_threads,
        "threads grew: {} in the first minute, {} at the end",
        max_threads,
        last.threads
    );
    // A hanging request holds one socket: allow the fault schedule's one.
    assert!(last.fds <= max_fds + 1, "fds grew: {} in the first minute, {} at the end", max_fds, last.fds);
    assert!(
        last.rss_kib <= first.rss_kib + 8 * 1024,
        "RSS grew from {} KiB to {} KiB",
        first.rss_kib,
        last.rss_kib
    );
    assert!(errors.is_empty(), "operators showed errors: {errors:#?}");
    assert!(
        auth_states.iter().all(|s| !s.contains("required") && !s.contains("logged out")),
        "the login was lost: {auth_states:?}"
    );
    assert_eq!(accounts.refused.load(Ordering::SeqCst), 0, "a stale (rotated) refresh token was sent");
    let expected = (secs / (LIFETIME_S * 3 / 4 + 2)) as u32 / 2;
    assert!(
        accounts.refreshes.load(Ordering::SeqCst) >= expected,
        "only {} refreshes in {secs} s (a {LIFETIME_S} s token)",
        accounts.refreshes.load(Ordering::SeqCst)
    );
    for w in windows {
        assert!(
            w.connected_frames * 2 > w.exec_ns.len(),
            "window at {} s: connected only {}/{} frames",
            w.at_s,
            w.connected_frames,
            w.exec_ns.len()
        );
    }
}

#[test]
fn an_hour_of_faults_at_sixty_fps_grows_nothing() {
    // Measures this process's threads, fds and memory, and sets the environment overrides.
    if !support::isolation::own_process() {
        return;
    }
    let secs = soak_secs();
    let rig = rig(secs);
    let frame = Duration::from_nanos(1_000_000_000 / FPS);
    let seen = run_frames(&rig, secs, frame);
    let Rig { api, accounts, dir, chop, dat, .. } = rig;
    let destroy = Instant::now();
    drop(chop);
    drop(dat);
    let destroy_time = destroy.elapsed();
    let requests = api.requests();
    let outcome = |o: &str| requests.iter().filter(|r| r.outcome == o).count();
    println!(
        "soak done: {} API requests ({} hung, {} 429, {} reset), {} refreshes (rotated), {} refused refresh \
         tokens; auth states seen {:?}; operators destroyed in {destroy_time:?}",
        requests.len(),
        outcome("hang"),
        outcome("429"),
        outcome("close"),
        accounts.refreshes.load(Ordering::SeqCst),
        accounts.refused.load(Ordering::SeqCst),
        seen.auth_states,
    );
    let _ = std::fs::remove_dir_all(&dir);

    assert_nothing_grew(&seen, &accounts, secs);
    let mut all: Vec<u64> = seen.windows.iter().flat_map(|w| w.exec_ns.iter().copied()).collect();
    all.sort_unstable();
    let (p50, p99) = (all[all.len() / 2], all[all.len() * 99 / 100]);
    println!(
        "execute over the whole soak: median {p50} ns, p99 {p99} ns (target p99 < 5000 ns: {})",
        if p99 < 5000 { "met" } else { "MISSED" }
    );
    let (cold50, cold99) = cold_pages_after_a_frame(frame);
    println!(
        "this machine, for scale: reading one byte of each of {COLD_PAGES} pages after a frame's sleep \
         takes median {cold50} ns, p99 {cold99} ns (the same loop with warm caches: tens of ns)"
    );
    // Generous: a shared CI machine preempts and evicts caches; the figures above are the result.
    assert!(p50 < 50_000, "execute median {p50} ns: ten times the target even on a loaded machine");
    assert!(destroy_time < Duration::from_secs(5), "destroying the operators took {destroy_time:?}");
}
