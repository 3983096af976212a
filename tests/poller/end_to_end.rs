//! Past the poller: the engine thread's snapshot, and `td-spotify now`.

use super::*;

/// The CHOP's view, end to end: HTTP → poller → engine thread → snapshot → channels.
#[tokio::test]
async fn the_engine_publishes_what_the_api_says() {
    use td_spotify::config::{SourceConfig, SpotifyConfig};
    use td_spotify::engine::source::{Source, Update};
    use td_spotify::engine::Engine;
    use td_spotify::model::BoxFuture;

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
