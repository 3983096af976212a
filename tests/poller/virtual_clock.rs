//! Scenarios on tokio's paused clock, through the fake's in-process transport: exact instants.

use super::*;

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
