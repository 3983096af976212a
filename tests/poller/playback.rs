//! What the poller shows as playback goes on: track ends, pauses, seeks and gaps.

use super::*;

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
