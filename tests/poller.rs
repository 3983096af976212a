//! The poller against a scripted Web API.
//!
//! Most scenarios run over real HTTP on loopback in real time, with pacing shrunk ten-fold
//! ([`support::fast_timing`]); timing assertions there have slack for a busy machine. The
//! `virtual_*` scenarios run on tokio's paused clock through the fake's in-process transport,
//! where every instant is exact.

use crate::support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::fake_api::{FakeApi, Reply, Request};
use support::truth::Truth;
use support::{drive, fast_options, fast_timing, http_poller, memory_poller, ms_between, Step, Tokens};
use td_spotify::api::client::now;
use td_spotify::schema::{Channel, Row, Status, CHANNEL_COUNT};

const FIXTURE_429: &str = include_str!("fixtures/player_429_retry_after.http");
const FIXTURE_403: &str = include_str!("fixtures/player_403_development_mode.http");
const FIXTURE_EPISODE: &str = include_str!("fixtures/player_episode.http");

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A responder that answers request number `n` (1-based) with `special(n)` when it returns one,
/// and otherwise reports `truth`.
fn with_specials(
    truth: Truth,
    start: Instant,
    special: impl Fn(usize) -> Option<Reply> + Send + 'static,
) -> impl FnMut(&Request) -> Reply + Send {
    let count = AtomicUsize::new(0);
    let mut report = Arc::new(truth).responder(start, 1);
    move |request| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        special(n).unwrap_or_else(|| report(request))
    }
}

/// One long track, playing from the start.
fn one_track() -> Truth {
    Truth::new().track("A", 600_000).play_to_end(0, 0)
}

/// The shown names, with repeats collapsed.
fn name_sequence(steps: &[Step]) -> Vec<String> {
    let mut names: Vec<String> = steps.iter().map(|s| s.snapshot.row(Row::Name).to_owned()).collect();
    names.dedup();
    names
}

fn status_sequence(steps: &[Step]) -> Vec<Status> {
    let mut statuses: Vec<Status> = steps.iter().map(|s| s.snapshot.status).collect();
    statuses.dedup();
    statuses
}

/// Requests never come faster than the rate bound (arrival times carry a little jitter).
fn assert_rate_bound(requests: &[Request], min_ms: f64) {
    for pair in requests.windows(2) {
        let gap = ms_between(pair[0].at, pair[1].at);
        assert!(gap >= min_ms - 5.0, "requests {gap:.1} ms apart: {requests:#?}");
    }
}

/// Shown position (ms) at `t` given the steps so far.
fn shown_at(steps: &[Step], t: Instant) -> Option<(f64, &Step)> {
    let step = steps.iter().rev().find(|s| s.published <= t)?;
    Some((step.shown.position_at(t) * 1000.0, step))
}

#[tokio::test]
async fn track_plays_to_its_end_and_the_next_starts() {
    let truth = Truth::new().track("A", 1500).track("B", 60_000).play_to_end(0, 0).play_to_end(1, 0);
    let start = now();
    let api = FakeApi::new(Arc::new(truth).responder(start, 1));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(2300)).await;

    assert_eq!(name_sequence(&steps), ["A", "B"]);
    let end = start + ms(1500);
    let first_b = steps.iter().find(|s| s.snapshot.row(Row::Name) == "B").unwrap();
    let latency = ms_between(end, first_b.published);
    assert!((0.0..250.0).contains(&latency), "B showed {latency:.0} ms after A ended");
    // The request that found B was the track-end poll, scheduled just after A's predicted end.
    let requests = api.requests();
    let end_poll = requests.iter().find(|r| r.at >= end).unwrap();
    assert!(ms_between(end, end_poll.at) < 150.0, "end poll {:.0} ms late", ms_between(end, end_poll.at));
    assert!(requests.iter().all(|r| r.outcome == "200"), "{requests:#?}");
    assert_rate_bound(&requests, 100.0);
    // About one request per 250 ms while playing, plus the end poll: far from one per 100 ms.
    assert!((7..=13).contains(&requests.len()), "{} requests", requests.len());
    // The new track starts near zero, and track_changed-worthy state is there.
    let pos = first_b.shown.position_at(first_b.published) * 1000.0;
    assert!(pos < 200.0, "B shown at {pos:.0} ms");
    assert_eq!(first_b.snapshot.track_count, 2);
}

#[tokio::test]
async fn pause_and_resume() {
    let truth = Truth::new().track("A", 600_000).play(0, 0, 600).pause(1000).resume(60_000);
    let start = now();
    let api = FakeApi::new(Arc::new(truth).responder(start, 1));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(2800)).await;

    assert_eq!(status_sequence(&steps), [Status::Playing, Status::Paused, Status::Playing]);
    for step in steps.iter().filter(|s| s.snapshot.status == Status::Paused) {
        // Paused exactly where it stopped, and it holds there.
        assert_eq!(step.shown.progress_ms, 600);
        assert_eq!(step.shown.position_at(step.published + ms(500)), 0.6);
    }
    // Polling slows down while paused.
    let requests = api.requests();
    let paused: Vec<&Request> =
        requests.iter().filter(|r| r.at > start + ms(700) && r.at < start + ms(1600)).collect();
    for pair in paused.windows(2) {
        assert!(ms_between(pair[0].at, pair[1].at) >= 390.0, "paused polls too close: {paused:#?}");
    }
    // After the resume the position continues from 600 ms, not from where a reader might guess.
    let resumed = steps
        .iter()
        .find(|s| s.published > start + ms(1600) && s.snapshot.status == Status::Playing)
        .unwrap();
    let expected = 600.0 + ms_between(start + ms(1600), resumed.published);
    let shown = resumed.shown.position_at(resumed.published) * 1000.0;
    assert!((shown - expected).abs() < 60.0, "resumed at {shown:.0} ms, truth {expected:.0} ms");
    assert_rate_bound(&requests, 100.0);
}

#[tokio::test]
async fn seeks_snap_and_small_corrections_slew() {
    let mut truth =
        Truth::new().track("A", 600_000).play(0, 0, 900).play(0, 30_000, 900).play(0, 10_000, 60_000);
    // Spotify's reported position wobbles: every answer disagrees a little with the last.
    truth.report_jitter_ms = 25.0;
    let start = now();
    let api = FakeApi::new(Arc::new(truth.clone()).responder(start, 3));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(2700)).await;

    let mut slews = 0;
    let mut snaps = Vec::new();
    for pair in steps.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let before = old.shown.position_at(new.published) * 1000.0;
        let after = new.shown.position_at(new.published) * 1000.0;
        if (after - before).abs() > 200.0 {
            snaps.push((ms_between(start, new.published), before, after));
            assert!(new.shown.slew.is_none(), "a seek must snap, not slew");
        } else {
            // A small correction is absorbed: what readers see does not jump. (It starts to be
            // absorbed when computed, a moment before the update is handed over: at most a quarter
            // of that moment can show.)
            let handover = new.shown.slew.map_or(0.0, |s| ms_between(s.start, new.published));
            let allowed = 1.0 + 0.26 * handover;
            assert!((after - before).abs() <= allowed, "jumped {:.1} ms without a seek", after - before);
            slews += usize::from(new.shown.slew.is_some());
        }
    }
    assert!(slews >= 3, "only {slews} corrections were slewed");
    assert_eq!(snaps.len(), 2, "expected two seeks: {snaps:?}");
    assert!(snaps[0].2 > 29_000.0 && snaps[1].2 < 11_000.0, "{snaps:?}");
    // Between seeks the shown position never runs backwards, frame by frame.
    let mut last = f64::MIN;
    let mut t = steps[0].published;
    while t < steps.last().unwrap().published {
        let (pos, _) = shown_at(&steps, t).unwrap();
        let seek = snaps.iter().any(|s| (ms_between(start, t) - s.0).abs() < 10.0 && pos < last);
        assert!(
            pos >= last - 0.001 || seek,
            "went back from {last:.2} to {pos:.2} at {:.0} ms",
            ms_between(start, t)
        );
        last = pos;
        t += ms(5);
    }
    // And it stays close to the truth once each seek has been seen.
    let end = steps.last().unwrap();
    let truth_now = truth.state_at(ms_between(start, end.published)).position_ms;
    let shown = end.shown.position_at(end.published) * 1000.0;
    assert!((shown - truth_now).abs() < 60.0, "shown {shown:.0}, truth {truth_now:.0}");
}

#[tokio::test]
async fn gaps_of_204_wait_for_signal() {
    let truth = Truth::new().track("A", 800).track("B", 60_000).play_to_end(0, 0).gap(1200).play_to_end(1, 0);
    let start = now();
    let api = FakeApi::new(Arc::new(truth).responder(start, 1));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(3200)).await;

    assert_eq!(status_sequence(&steps), [Status::Playing, Status::Waiting, Status::Playing]);
    let waiting = steps.iter().find(|s| s.snapshot.status == Status::Waiting).unwrap();
    assert_eq!(waiting.snapshot.row(Row::Status), "Waiting for signal…");
    assert_eq!(waiting.snapshot.row(Row::Name), "");
    assert!(waiting.snapshot.connected);
    // A's end is predictable: the silence shows at once.
    let latency = ms_between(start + ms(800), waiting.published);
    assert!((0.0..250.0).contains(&latency), "silence showed {latency:.0} ms late");
    // While idle, polling is slow.
    let requests = api.requests();
    let idle: Vec<&Request> = requests.iter().filter(|r| r.outcome == "204").collect();
    assert!(idle.len() >= 2, "{requests:#?}");
    for pair in idle.windows(2) {
        assert!(ms_between(pair[0].at, pair[1].at) >= 490.0, "idle polls too close: {idle:#?}");
    }
    // B's start is not predictable: it shows within one idle interval.
    let first_b = steps.iter().find(|s| s.snapshot.row(Row::Name) == "B").unwrap();
    assert!(ms_between(start + ms(2000), first_b.published) < 800.0);
}

#[tokio::test]
async fn rate_limit_waits_exactly_as_long_as_asked() {
    let start = now();
    let api =
        FakeApi::new(with_specials(one_track(), start, |n| (n == 2).then(|| Reply::fixture(FIXTURE_429))));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(3700)).await;

    let requests = api.requests();
    let limited = requests.iter().position(|r| r.outcome == "429").unwrap();
    let gap = ms_between(requests[limited].at, requests[limited + 1].at);
    assert!(gap >= 3000.0, "asked again after {gap:.0} ms despite Retry-After: 3");
    assert!(gap < 3400.0, "waited {gap:.0} ms for a 3 s Retry-After");
    let step = steps.iter().find(|s| s.update.state.stats.rate_limited == 1).unwrap();
    let warning = step.update.state.warning.as_deref().unwrap();
    assert!(warning.contains("(429)") && warning.contains("next request in 3 s"), "{warning}");
    // Still logged in and reachable: playback goes on being shown (and extrapolated).
    assert!(step.snapshot.connected);
    assert_eq!(step.snapshot.status, Status::Playing);
    assert!(step.update.playback.is_none());
    let last = steps.last().unwrap();
    assert_eq!(last.update.state.warning, None);
    assert_eq!(last.update.state.stats.rate_limited, 1);
}

#[tokio::test]
async fn bursts_of_server_errors_back_off_and_recover() {
    let start = now();
    let failing = [500, 502, 503, 500];
    let api = FakeApi::new(with_specials(one_track(), start, move |n| {
        (2..=5).contains(&n).then(|| Reply::status(failing[n - 2]))
    }));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(2600)).await;

    let requests = api.requests();
    let outcomes: Vec<&str> = requests.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(&outcomes[..6], ["200", "500", "502", "503", "500", "200"], "{outcomes:?}");
    // Exponential backoff with ±20 % jitter from 100 ms.
    for (i, nominal) in [100.0, 200.0, 400.0, 800.0].into_iter().enumerate() {
        let gap = ms_between(requests[i + 1].at, requests[i + 2].at);
        assert!(
            gap >= nominal * 0.8 - 5.0 && gap <= nominal * 1.2 + 150.0,
            "retry {i}: {gap:.0} ms, nominal {nominal}"
        );
    }
    let failed: Vec<&Step> = steps.iter().filter(|s| s.snapshot.status == Status::Offline).collect();
    assert_eq!(failed.len(), 4);
    for step in &failed {
        assert!(
            step.snapshot.row(Row::Status).starts_with("Offline — retrying in "),
            "{}",
            step.snapshot.row(Row::Status)
        );
        assert!(step.update.state.warning.as_deref().unwrap().contains("Spotify is having trouble (HTTP 5"));
        // The last good playback stays, still extrapolated.
        assert_eq!(step.snapshot.row(Row::Name), "A");
        assert!(step.shown.is_playing);
    }
    let last = steps.last().unwrap();
    assert_eq!(last.snapshot.status, Status::Playing);
    assert_eq!(last.update.state.warning, None);
    assert_eq!(last.update.state.stats.errors, 4);
}

#[tokio::test]
async fn a_hanging_answer_times_out() {
    let start = now();
    let api = FakeApi::new(with_specials(one_track(), start, |n| {
        (n == 2).then_some(Reply::Hang(Duration::from_secs(3)))
    }));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(1200)).await;

    let hung = steps.iter().find(|s| s.snapshot.status == Status::Offline).expect("the hang was noticed");
    let waited = ms_between(hung.called, hung.published);
    // The upper bound only has to tell the timeout from the 3 s hang; a busy CI machine is slow.
    assert!((295.0..2500.0).contains(&waited), "gave up after {waited:.0} ms with a 300 ms timeout");
    let warning = hung.update.state.warning.as_deref().unwrap();
    assert!(warning.contains("did not answer within 300 ms"), "{warning}");
    assert_eq!(hung.snapshot.row(Row::Name), "A");
    let last = steps.last().unwrap();
    assert_eq!(last.snapshot.status, Status::Playing);
    assert!(api.requests().len() >= 3);
}

#[tokio::test]
async fn malformed_and_truncated_bodies_keep_the_last_good_snapshot() {
    let start = now();
    let good = Truth::new().track("A", 600_000).play_to_end(0, 0);
    let body = good.body(&good.state_at(0.0), 0).unwrap();
    let cut = body[..body.len() / 2].to_owned();
    let api = FakeApi::new(with_specials(good, start, move |n| match n {
        2 => Some(Reply::json("<html><body>Bad gateway</body></html>")),
        3 => Some(Reply::json(cut.clone())),
        4 => Some(Reply::Truncated { declared: body.len(), body: cut.clone() }),
        5 => Some(Reply::json("[1, 2, 3]")),
        _ => None,
    }));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(2600)).await;

    let requests = api.requests();
    assert!(requests.len() >= 6, "{requests:#?}");
    for (i, step) in steps.iter().enumerate().skip(1).take(4) {
        assert!(step.update.playback.is_none(), "step {i} replaced the playback");
        assert_eq!(step.snapshot.row(Row::Name), "A", "step {i} lost the last good data");
        let warning = step.update.state.warning.as_deref().unwrap_or_default();
        if i == 3 {
            // The connection closed mid-body: a network fault.
            assert_eq!(step.snapshot.status, Status::Offline, "{warning}");
            assert!(warning.contains("broke mid-answer"), "{warning}");
        } else {
            assert_eq!(step.snapshot.status, Status::Playing, "{warning}");
            assert!(warning.contains("kept the last good data"), "step {i}: {warning}");
        }
    }
    let texts: Vec<&str> = steps.iter().filter_map(|s| s.update.state.warning.as_deref()).collect();
    assert!(texts.iter().any(|w| w.contains("cut short")), "{texts:?}");
    assert!(texts.iter().any(|w| w.contains("not valid JSON")), "{texts:?}");
    assert!(texts.iter().any(|w| w.contains("not the expected shape")), "{texts:?}");
    let last = steps.last().unwrap();
    assert_eq!((last.snapshot.status, last.update.state.warning.as_deref()), (Status::Playing, None));
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_request_retried() {
    let start = now();
    let api = FakeApi::new(Arc::new(one_track()).responder(start, 1));
    api.accept_tokens(&["fresh-token"]);
    let addr = api.serve_http().await;
    let tokens = Tokens::refreshing("expired-token", [Ok("fresh-token".to_owned())]);
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(700)).await;

    let requests = api.requests();
    assert_eq!(requests[0].bearer.as_deref(), Some("expired-token"));
    assert_eq!(requests[0].outcome, "401");
    assert_eq!(requests[1].bearer.as_deref(), Some("fresh-token"));
    assert_eq!(requests[1].outcome, "200");
    assert!(ms_between(requests[0].at, requests[1].at) < 150.0, "the retry waited");
    assert!(requests[2..].iter().all(|r| r.bearer.as_deref() == Some("fresh-token") && r.outcome == "200"));
    assert_eq!(tokens.refresh_count(), 1);
    assert_eq!(tokens.rejected(), ["expired-token"]);
    let first = &steps[0];
    assert_eq!(first.snapshot.status, Status::Playing);
    assert_eq!((first.update.state.stats.requests, first.update.state.stats.errors), (2, 1));
}

#[tokio::test]
async fn a_login_that_cannot_be_refreshed_asks_for_a_new_one() {
    let start = now();
    let api = FakeApi::new(Arc::new(one_track()).responder(start, 1));
    api.accept_tokens(&[]);
    let addr = api.serve_http().await;

    // The refresh works, but Spotify refuses the new token too.
    let tokens = Tokens::refreshing("old", [Ok("still-refused".to_owned())]);
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(300)).await;
    assert_eq!(steps.len(), 1, "retried before login_retry");
    let step = &steps[0];
    assert_eq!(step.snapshot.status, Status::LoginRequired);
    assert_eq!(step.snapshot.row(Row::Status), "Login required");
    assert!(step.update.state.error.as_deref().unwrap().contains("log in again"));
    assert!(!step.snapshot.connected);
    assert!(ms_between(step.published, step.update.next_poll) >= 1990.0);
    assert_eq!((api.requests().len(), tokens.refresh_count()), (2, 1));

    // The refresh itself is refused (e.g. invalid_grant): one request, one refresh, then stop.
    let tokens = Tokens::fixed("old");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(300)).await;
    let error = steps[0].update.state.error.as_deref().unwrap();
    assert_eq!(error, "Login required: the refresh token was revoked");
    assert_eq!(steps[0].snapshot.status, Status::LoginRequired);
    assert_eq!((api.requests().len(), tokens.refresh_count()), (3, 1));
}

#[tokio::test]
async fn forbidden_explains_development_mode_and_keeps_trying() {
    let start = now();
    let api =
        FakeApi::new(with_specials(one_track(), start, |n| (n <= 2).then(|| Reply::fixture(FIXTURE_403))));
    let addr = api.serve_http().await;
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(addr, fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(800)).await;

    let first = &steps[0];
    assert_eq!(first.snapshot.status, Status::Error);
    let error = first.snapshot.error.as_deref().unwrap().to_str().unwrap();
    assert!(error.contains("at most 5 users") && error.contains("dashboard"), "{error}");
    assert_eq!(first.snapshot.row(Row::Name), "");
    // Once the account is added in the dashboard, it recovers by itself.
    let last = steps.last().unwrap();
    assert_eq!(last.snapshot.status, Status::Playing);
    assert!(last.snapshot.error.is_none());
}

#[tokio::test]
async fn connection_refused_then_recovery() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let tokens = Tokens::fixed("good-token");
    let mut poller = http_poller(port, fast_timing());
    let first = poller.poll(&*tokens, now()).await;
    assert_eq!(first.state.status, Some(Status::Offline));
    assert!(!first.state.connected);
    let warning = first.state.warning.unwrap();
    assert!(warning.contains("refused the connection") && warning.contains("retrying in"), "{warning}");
    assert!(first.state.status_text.unwrap().starts_with("Offline — retrying in"));

    // Spotify comes back on the same address.
    let api = FakeApi::new(Arc::new(one_track()).responder(now(), 1));
    api.serve_on(tokio::net::TcpListener::bind(port).await.unwrap());
    tokio::time::sleep_until(first.next_poll.into()).await;
    let second = poller.poll(&*tokens, now()).await;
    assert_eq!(second.state.status, None);
    assert!(second.state.connected && second.state.warning.is_none());
    assert_eq!(second.playback.unwrap().item.unwrap().name, "A");
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761); the long timeout leaves a slow resolver time to say so.
    let mut options = fast_options("http://td-spotify-test.invalid");
    options.connect_timeout = Duration::from_secs(5);
    options.timeout = Duration::from_secs(6);
    let client = td_spotify::api::ApiClient::new(options).unwrap();
    let mut poller = td_spotify::engine::poller::Poller::with_client(client, fast_timing());
    let update = poller.poll(&*Tokens::fixed("good-token"), now()).await;
    assert_eq!(update.state.status, Some(Status::Offline));
    let warning = update.state.warning.unwrap();
    assert!(
        warning.contains("Cannot find td-spotify-test.invalid") && warning.contains("DNS lookup failed"),
        "{warning}"
    );
    assert!(update.state.status_text.unwrap().starts_with("Offline — retrying in"));
}

#[tokio::test]
async fn tokens_never_reach_messages_rows_or_logs() {
    const SENTINEL: &str = "SENTINEL-7f3a9c";
    let start = now();
    let api = FakeApi::new(with_specials(one_track(), start, |n| match n {
        3 => Some(Reply::fixture(FIXTURE_429)),
        4 => Some(Reply::status(500)),
        5 => Some(Reply::json("{\"progress_ms\": ")),
        6 => Some(Reply::Hang(Duration::from_secs(2))),
        7 => Some(Reply::fixture(FIXTURE_403)),
        _ => None,
    }));
    let first = format!("{SENTINEL}-expired");
    let second = format!("{SENTINEL}-fresh");
    api.accept_tokens(&[&second]);
    let addr = api.serve_http().await;
    let tokens = Tokens::refreshing(&first, [Ok(second.clone())]);
    let mut timing = fast_timing();
    timing.backoff_max = ms(200);
    let mut poller = http_poller(addr, timing);
    // 429 waits 3 s; the rest is quick.
    let mut steps = drive(&mut poller, &*tokens, ms(4700)).await;
    // Then a login that cannot be saved.
    api.accept_tokens(&[]);
    steps.extend(drive(&mut poller, &*tokens, ms(400)).await);

    let requests = api.requests();
    assert!(
        requests.iter().any(|r| r.bearer.as_deref().is_some_and(|b| b.contains(SENTINEL))),
        "no token was sent"
    );
    let outcomes: HashSet<&str> = requests.iter().map(|r| r.outcome.as_str()).collect();
    for expected in ["401", "429", "500", "hang", "403"] {
        assert!(outcomes.contains(expected), "scenario never produced {expected}: {outcomes:?}");
    }
    assert_eq!(steps.last().unwrap().snapshot.status, Status::LoginRequired);
    for step in &steps {
        let s = &step.snapshot;
        let texts = [format!("{:?}", step.update), format!("{s:?}"), format!("{poller:?}")];
        for text in texts.iter().map(String::as_str).chain(s.rows.iter().filter_map(|r| r.to_str().ok())) {
            assert!(!text.contains(SENTINEL), "token leaked into {text}");
        }
    }
}

/// The CHOP's view, end to end: HTTP → poller → engine thread → snapshot → channels.
#[tokio::test]
async fn the_engine_publishes_what_the_api_says() {
    use td_spotify::config::{SourceConfig, SpotifyConfig};
    use td_spotify::engine::source::{BoxFuture, Source, Update};
    use td_spotify::engine::Engine;

    struct TestSource {
        poller: td_spotify::engine::poller::Poller,
        tokens: Arc<Tokens>,
    }
    impl Source for TestSource {
        fn name(&self) -> &'static str {
            "spotify"
        }
        fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
            Box::pin(async move { self.poller.poll(&*self.tokens, now).await })
        }
    }

    let api = FakeApi::new(|_| Reply::fixture(FIXTURE_EPISODE));
    let addr = api.serve_http().await;
    let poller = http_poller(addr, fast_timing());
    let config = SourceConfig::Spotify(SpotifyConfig {
        api_url: format!("http://{addr}"),
        ..SpotifyConfig::default()
    });
    let engine = Engine::start_with(config, move |_| {
        Box::new(TestSource { poller, tokens: Tokens::fixed("good-token") })
    })
    .unwrap();
    let deadline = now() + Duration::from_secs(5);
    while engine.snapshot().status != Status::Playing {
        assert!(now() < deadline, "never playing: {:?}", engine.snapshot().rows);
        tokio::time::sleep(ms(10)).await;
    }
    let snap = engine.snapshot();
    assert_eq!(snap.row(Row::Name), "Episode 112: Latency Is a Feeling");
    assert_eq!(snap.row(Row::Artists), "Signal Path Radio");
    assert_eq!(snap.row(Row::CurrentlyPlayingType), "episode");
    assert_eq!(snap.row(Row::DeviceType), "Smartphone");
    assert_eq!(snap.row(Row::ContextUri), "spotify:show:5CfCWKI5pZ28U0uOzXkDHe");
    assert_eq!(snap.row(Row::AlbumArtUrlSmall), "https://i.scdn.co/image/episode64");
    let mut channels = [0.0; CHANNEL_COUNT];
    snap.channels(Instant::now(), &mut channels);
    assert_eq!(channels[Channel::IsEpisode as usize], 1.0);
    assert_eq!(channels[Channel::Volume as usize], 0.0);
    assert_eq!(channels[Channel::Shuffle as usize], 0.0);
    assert_eq!(channels[Channel::Repeat as usize], 0.0);
    assert_eq!(channels[Channel::Playing as usize], 1.0);
    assert!(channels[Channel::Position as usize] > 1803.0);
    assert!(snap.stats.requests >= 1);
    drop(engine);
}

/// On tokio's paused clock every instant is exact: Retry-After to the millisecond.
#[tokio::test(start_paused = true)]
async fn virtual_retry_after_is_exact() {
    let start = now();
    let api =
        FakeApi::new(with_specials(one_track(), start, |n| (n == 2).then(|| Reply::fixture(FIXTURE_429))));
    api.set_latency(|| (ms(20), ms(30)));
    let tokens = Tokens::fixed("good-token");
    let mut poller = memory_poller(&api, fast_options("http://fake.invalid"), fast_timing());
    drive(&mut poller, &*tokens, Duration::from_secs(4)).await;
    let requests = api.requests();
    let limited = requests.iter().position(|r| r.outcome == "429").unwrap();
    // The answer left 30 ms after the 429 was decided, the retry needs 20 ms to arrive.
    let gap = ms_between(requests[limited].at, requests[limited + 1].at);
    assert!((gap - 3050.0).abs() < 0.01, "{gap}");
}

/// `poll_soon` asks as early as the rate bound allows, and never earlier than a Retry-After.
#[tokio::test(start_paused = true)]
async fn virtual_poll_soon_respects_the_bounds() {
    use td_spotify::engine::poller::PollTiming;
    let start = now();
    let api =
        FakeApi::new(with_specials(one_track(), start, |n| (n == 2).then(|| Reply::fixture(FIXTURE_429))));
    let tokens = Tokens::fixed("good-token");
    let timing = PollTiming { seed: Some(1), ..PollTiming::for_interval(Duration::from_secs(1)) };
    let mut poller = memory_poller(&api, fast_options("http://fake.invalid"), timing);
    let first = poller.poll(&*tokens, now()).await;
    assert_eq!(ms_between(start, first.next_poll), 3500.0);
    // Woken early (a pulse): no request, same plan.
    let early = poller.poll(&*tokens, now()).await;
    assert!(early.playback.is_none() && early.next_poll == first.next_poll);
    assert_eq!(api.requests().len(), 1);
    // After a playback command: as soon as the rate bound allows.
    poller.poll_soon();
    let soon = poller.poll(&*tokens, now()).await;
    assert_eq!(ms_between(start, soon.next_poll), 1000.0);
    tokio::time::sleep_until(soon.next_poll.into()).await;
    let limited = poller.poll(&*tokens, now()).await;
    assert_eq!(ms_between(start, limited.next_poll), 4000.0, "Retry-After: 3 from 1 s");
    poller.poll_soon();
    let still = poller.poll(&*tokens, now()).await;
    assert_eq!(still.next_poll, limited.next_poll, "poll_soon must not cut a Retry-After short");
    assert_eq!(api.requests().len(), 2);
}

/// Track ends and position accuracy with asymmetric latency (20 ms up, 60 ms down).
#[tokio::test(start_paused = true)]
async fn virtual_track_end_and_position_accuracy() {
    let truth = Truth::new().track("A", 5000).track("B", 60_000).play_to_end(0, 0).play_to_end(1, 0);
    let start = now();
    let api = FakeApi::new(Arc::new(truth.clone()).responder(start, 1));
    api.set_latency(|| (ms(20), ms(60)));
    let tokens = Tokens::fixed("good-token");
    let mut poller = memory_poller(&api, fast_options("http://fake.invalid"), fast_timing());
    let steps = drive(&mut poller, &*tokens, ms(7000)).await;

    // The end poll is sent 40 ms after A's predicted end; B shows one round trip later.
    let first_b = steps.iter().find(|s| s.snapshot.row(Row::Name) == "B").unwrap();
    let latency = ms_between(start + ms(5000), first_b.published);
    let arrivals: Vec<f64> = api.requests().iter().map(|r| ms_between(start, r.at)).collect();
    assert!(latency <= 40.0 + 80.0 + 25.0, "B shown {latency:.1} ms after A ended; requests at {arrivals:?}");
    // The midpoint alone would be 20 ms off with this asymmetry; the position must be within it
    // (the paths never change, so the estimate cannot do better than the asymmetry allows).
    for step in &steps {
        let t = step.published + ms(10);
        let state = truth.state_at(ms_between(start, t));
        if state.track.is_some() && step.snapshot.row(Row::Name) == truth.tracks[state.track.unwrap()].name {
            let err = step.shown.position_at(t) * 1000.0 - state.position_ms;
            assert!(err.abs() <= 21.0, "position off by {err:.1} ms at {:.0} ms", ms_between(start, t));
        }
    }
}

/// `td-spotify now --json`: one object per update, with the plugin's channel and row names.
#[tokio::test]
async fn cli_now_prints_the_plugin_names_as_json() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use td_spotify::schema::{CHANNELS, ROWS};

    let api = FakeApi::new(|_| Reply::fixture(FIXTURE_EPISODE));
    let addr = api.serve_http().await;
    let now_cmd = move |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_td-spotify"));
        cmd.args(["now", "--json", "--api-url", &format!("http://{addr}")])
            .args(extra)
            .env("TD_SPOTIFY_ACCESS_TOKEN", "good-token")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };

    // Once: exactly one object, then exit 0.
    let mut once = now_cmd(&[]);
    let output =
        tokio::task::spawn_blocking(move || once.output().expect("run td-spotify now")).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let channels = value["channels"].as_object().unwrap();
    let rows = value["rows"].as_object().unwrap();
    assert_eq!(
        channels.keys().collect::<HashSet<_>>(),
        CHANNELS.iter().map(|c| c.name.to_owned()).collect::<Vec<_>>().iter().collect()
    );
    assert_eq!(rows.len(), ROWS.len());
    assert!(ROWS.iter().all(|r| rows.contains_key(r.name)));
    assert_eq!(rows["name"], "Episode 112: Latency Is a Feeling");
    assert_eq!(rows["currently_playing_type"], "episode");
    assert_eq!(channels["is_episode"], 1.0);
    assert_eq!(channels["playing"], 1.0);

    // Watch: an object per update, until stopped.
    let mut watch = now_cmd(&["--watch", "--poll-interval", "0.5"]);
    let lines = tokio::task::spawn_blocking(move || {
        let mut child = watch.spawn().expect("run td-spotify now --watch");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            lines.push(line);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        lines
    })
    .await
    .unwrap();
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(value["rows"]["status"], "Playing");
    }
    // The second update came from a second request, 3.5 × 0.5 s later.
    assert!(api.requests().len() >= 3);
}
