//! What goes wrong on the way: 429s, 5xx, hangs, bad bodies, expired logins, 403s, no server.

use super::*;

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
