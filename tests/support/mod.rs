//! Helpers shared by the integration tests (tests/it.rs) and the benchmarks.

#![allow(dead_code)]

pub mod fake_api;
pub mod isolation;
pub mod jukebox;
pub mod truth;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use td_spotify::api::client::{now, ApiClient, ClientOptions};
use td_spotify::api::{TokenError, TokenProvider};
use td_spotify::engine::poller::{PollTiming, Poller, Smoothing};
use td_spotify::engine::snapshot::Snapshot;
use td_spotify::engine::source::Update;
use td_spotify::model::playback::Playback;
use td_spotify::model::BoxFuture;

use fake_api::FakeApi;

/// The index of parameter `name`, found through the C ABI as a host would.
pub fn param_index(name: &str) -> u32 {
    use td_spotify::ffi::{td_spotify_param_count, td_spotify_param_info, TdsParamInfo, TdsResult};
    (0..td_spotify_param_count())
        .find(|&i| {
            let mut info = std::mem::MaybeUninit::<TdsParamInfo>::uninit();
            // SAFETY: `info` is writable; the name is a static C string.
            unsafe {
                td_spotify_param_info(i, info.as_mut_ptr()) == TdsResult::Ok
                    && std::ffi::CStr::from_ptr(info.assume_init().name).to_str() == Ok(name)
            }
        })
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

/// A login session stand-in: hands out `current`, and on a 401 the next scripted refresh.
pub struct Tokens {
    current: Mutex<String>,
    refreshes: Mutex<VecDeque<Result<String, TokenError>>>,
    refresh_count: AtomicU32,
    rejected: Mutex<Vec<String>>,
}

impl Tokens {
    pub fn fixed(token: &str) -> Arc<Tokens> {
        Tokens::refreshing(token, [])
    }

    pub fn refreshing(
        token: &str,
        refreshes: impl IntoIterator<Item = Result<String, TokenError>>,
    ) -> Arc<Tokens> {
        Arc::new(Tokens {
            current: Mutex::new(token.to_owned()),
            refreshes: Mutex::new(refreshes.into_iter().collect()),
            refresh_count: AtomicU32::new(0),
            rejected: Mutex::new(Vec::new()),
        })
    }

    pub fn refresh_count(&self) -> u32 {
        self.refresh_count.load(Ordering::SeqCst)
    }

    /// The tokens the client reported as rejected.
    pub fn rejected(&self) -> Vec<String> {
        self.rejected.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl TokenProvider for Tokens {
    fn access_token(&self) -> BoxFuture<'_, Result<String, TokenError>> {
        let token = self.current.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Box::pin(async move { Ok(token) })
    }

    fn refresh_after_unauthorized(&self, rejected: &str) -> BoxFuture<'_, Result<String, TokenError>> {
        self.refresh_count.fetch_add(1, Ordering::SeqCst);
        self.rejected.lock().unwrap_or_else(PoisonError::into_inner).push(rejected.to_owned());
        let next =
            self.refreshes.lock().unwrap_or_else(PoisonError::into_inner).pop_front().unwrap_or_else(|| {
                Err(TokenError::LoginRequired { reason: "the refresh token was revoked".into() })
            });
        if let Ok(token) = &next {
            token.clone_into(&mut self.current.lock().unwrap_or_else(PoisonError::into_inner));
        }
        Box::pin(async move { next })
    }
}

/// Pacing shrunk ten-fold so scenarios take a second or two.
pub fn fast_timing() -> PollTiming {
    PollTiming {
        min_interval: Duration::from_millis(100),
        playing: Duration::from_millis(250),
        paused: Duration::from_millis(400),
        idle: Duration::from_millis(500),
        end_margin: Some(Duration::from_millis(40)),
        end_polls_per_item: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        jitter: 0.2,
        login_retry: Duration::from_secs(2),
        smoothing: Some(Smoothing {
            snap_threshold: Duration::from_millis(500),
            slew_speed: 0.25,
            slew_min: Duration::from_millis(100),
            window: Duration::from_secs(10),
        }),
        seed: Some(7),
    }
}

pub fn fast_options(api_url: &str) -> ClientOptions {
    ClientOptions {
        api_url: api_url.to_owned(),
        connect_timeout: Duration::from_millis(200),
        timeout: Duration::from_millis(300),
        token_timeout: Duration::from_millis(300),
        max_body: 1 << 20,
    }
}

/// A poller talking HTTP to `addr` with the fast pacing.
pub fn http_poller(addr: SocketAddr, timing: PollTiming) -> Poller {
    let client = ApiClient::new(fast_options(&format!("http://{addr}"))).expect("client");
    Poller::with_client(client, timing)
}

/// A poller over the fake's in-process transport (for tokio's paused clock).
pub fn memory_poller(api: &FakeApi, options: ClientOptions, timing: PollTiming) -> Poller {
    let client = ApiClient::with_transport(options, api.transport()).expect("client");
    Poller::with_client(client, timing)
}

/// One call of the poller, as the engine would make it, and what the engine would publish.
#[derive(Debug)]
pub struct Step {
    /// When the poller was called.
    pub called: Instant,
    /// When its update was ready.
    pub published: Instant,
    pub update: Update,
    /// The playback readers see after this update (the last one given).
    pub shown: Playback,
    /// The snapshot the engine would publish.
    pub snapshot: Snapshot,
}

/// Runs the poller like the engine's loop does for `length`, recording every step.
pub async fn drive(poller: &mut Poller, tokens: &dyn TokenProvider, length: Duration) -> Vec<Step> {
    let start = now();
    let mut steps: Vec<Step> = Vec::new();
    let mut shown = Playback::idle(start);
    let mut seq = 0;
    while now() < start + length {
        let called = now();
        let update = poller.poll(tokens, called).await;
        let published = now();
        if let Some(p) = &update.playback {
            let new_item = match (&p.item, &shown.item) {
                (Some(a), Some(b)) => !a.same_item(b),
                (Some(_), None) => true,
                _ => false,
            };
            seq += u64::from(new_item);
            shown = p.clone();
        }
        let snapshot = Snapshot::build("spotify", shown.clone(), &update.state, seq, seq);
        let next = update.next_poll;
        steps.push(Step { called, published, update, shown: shown.clone(), snapshot });
        tokio::time::sleep_until(next.into()).await;
    }
    steps
}

/// Milliseconds from `a` to `b` (negative if `b` is earlier).
pub fn ms_between(a: Instant, b: Instant) -> f64 {
    if b >= a {
        (b - a).as_secs_f64() * 1000.0
    } else {
        -((a - b).as_secs_f64() * 1000.0)
    }
}
