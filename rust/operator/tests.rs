use super::*;
use crate::engine::tempo::TempoSource;
use crate::schema::{
    family, Param, Row, DEVICE_COLUMNS, QUEUE_COLUMNS, RECENT_COLUMNS, ROWS, STATUS_FIELDS, VISITOR_COLUMNS,
};

#[test]
fn inactive_instance_outputs_zeros_without_an_engine() {
    let mut i = Operator::new(family::CHOP);
    i.set_number(Param::Active as usize, 0.0);
    i.cook(Instant::now());
    assert!(i.engine.is_none());
    assert_eq!(i.snapshot().status, Status::Inactive);
    assert!(i.channels().iter().all(|&v| v == 0.0));
}

#[test]
fn a_pulse_note_appears_and_clears_itself() {
    let mut i = Operator::new(family::CHOP);
    i.set_number(Param::Active as usize, 0.0);
    let t0 = Instant::now();
    i.cook(t0);
    assert_eq!(i.warning_at(t0), None);
    assert!(i.pulse_at("Next", t0));
    assert!(i.warning_at(t0).is_some_and(|w| w.contains("not active")));
    assert_eq!(i.warning_at(t0 + PULSE_NOTE_FOR), None);
}

#[test]
fn every_dat_mode_has_a_header_and_rows() {
    let mut i = Operator::new(family::DAT);
    i.set_number(Param::Simseed as usize, 5.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while i.snapshot().status != Status::Playing {
        assert!(Instant::now() < deadline, "the simulator never played");
        i.cook(Instant::now());
        std::thread::sleep(Duration::from_millis(5));
    }
    let cell = |i: &Operator, r, c| i.table_cell(r, c).map(|s| s.to_str().unwrap().to_owned());
    // The batch a cook uses points at exactly the cells `table_cell` returns, whole or in parts.
    let same_cells = |i: &Operator| {
        let (rows, cols) = i.table_size();
        let mut all = vec![std::ptr::null(); rows * cols + 3];
        assert_eq!(i.table_cells(0, &mut all), rows * cols);
        let mut part = [std::ptr::null(); 3];
        assert_eq!(i.table_cells(1, &mut part), 3.min(rows * cols - 1));
        for (k, &ptr) in all[..rows * cols].iter().enumerate() {
            assert_eq!(ptr, i.table_cell(k / cols, k % cols).unwrap_or(c"").as_ptr(), "cell {k}");
        }
        assert_eq!(&part[..], &all[1..4]);
    };
    same_cells(&i);
    assert_eq!(i.table_size(), (ROWS.len() + 1, 2));
    assert_eq!(cell(&i, 1, 0).as_deref(), Some("status"));
    assert_eq!(cell(&i, 1, 1).as_deref(), Some("Playing"));
    for (token, columns, rows) in
        [("queue", QUEUE_COLUMNS, 6), ("recent", RECENT_COLUMNS, 1), ("devices", DEVICE_COLUMNS, 2)]
    {
        i.set_string(Param::Mode as usize, token);
        i.cook(Instant::now());
        assert_eq!(i.table_size(), (rows, columns.len()), "{token}");
        assert_eq!(cell(&i, 0, 0).as_deref(), columns[0].to_str().ok(), "{token}");
        same_cells(&i);
    }
    i.set_string(Param::Mode as usize, "status");
    i.cook(Instant::now());
    assert_eq!(i.table_size(), (STATUS_FIELDS.len() + 1, 2));
    assert_eq!(cell(&i, 2, 1).as_deref(), Some("simulator"));
    same_cells(&i);
    assert_eq!(i.table_cell(99, 0), None);
}

#[test]
fn jukebox_mode_follows_the_active_visitor_and_lists_the_line() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("td-spotify-instance-jukebox-{}", std::process::id()));
    let mut chop = Operator::new(family::CHOP);
    let mut dat = Operator::new(family::DAT);
    for i in [&mut chop, &mut dat] {
        i.set_number(Param::Jukebox as usize, 1.0);
        i.set_number(Param::Pageport as usize, 0.0);
        i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
        i.set_string(Param::Mode as usize, "visitors");
        i.cook(Instant::now());
        assert_eq!(i.error(), None);
    }
    let jukebox = Arc::clone(chop.jukebox.as_ref().expect("a jukebox"));
    assert!(Arc::ptr_eq(&jukebox, dat.jukebox.as_ref().unwrap()), "one jukebox for one page");
    assert!(chop.engine.is_none(), "no engine of its own in Juke-V-Box mode");
    let cook_until = |i: &mut Operator, what: &str, f: &dyn Fn(&Operator) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f(i) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(10));
            i.cook(Instant::now());
        }
    };
    cook_until(&mut chop, "the empty jukebox shows", &|i| i.jukebox_view().is_some());
    assert_eq!(chop.snapshot().status, Status::Waiting);
    assert_eq!(value(&chop, Channel::QueueLength), 0.0);
    let port = jukebox.url().trim_end_matches('/').rsplit(':').next().unwrap().parse::<u16>().unwrap();
    for viewer in ["one", "two"] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: jukebox_viewer={viewer}\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    }
    cook_until(&mut chop, "two visitors, the first one playing", &|i| {
        value(i, Channel::QueueLength) == 2.0 && i.snapshot().status == Status::Playing
    });
    assert_eq!(value(&chop, Channel::TurnIndex), 1.0);
    assert!(value(&chop, Channel::TurnRemaining) > 100.0, "Turnlength 120 s by default");
    assert!(value(&chop, Channel::Position) >= 0.0);
    cook_until(&mut dat, "the Visitors table", &|i| i.table_size() == (3, VISITOR_COLUMNS.len()));
    let cell = |i: &Operator, r, c| i.table_cell(r, c).unwrap().to_str().unwrap().to_owned();
    assert_eq!(cell(&dat, 0, 0), "position");
    assert_eq!([cell(&dat, 1, 1), cell(&dat, 1, 2)], ["Visitor 1", "playing"]);
    assert_eq!([cell(&dat, 2, 0), cell(&dat, 2, 1), cell(&dat, 2, 2)], ["2", "Visitor 2", "waiting"]);

    // The operator's pulses: Skip passes the turn, Removevisitor takes the active one out.
    let first_track = chop.snapshot().row(Row::Name).to_owned();
    assert!(chop.pulse("Skip"));
    cook_until(&mut chop, "Skip passes the turn", &|i| value(i, Channel::TurnIndex) == 2.0);
    cook_until(&mut dat, "Visitor 2 plays", &|i| cell(i, 1, 1) == "Visitor 2");
    cook_until(&mut chop, "the channels follow Visitor 2's player", &|i| {
        i.snapshot().status == Status::Playing && i.snapshot().row(Row::Name) != first_track
    });
    chop.set_string(Param::Visitor as usize, "visitor 1");
    assert!(chop.pulse("Removevisitor"));
    cook_until(&mut dat, "Visitor 1 left", &|i| i.table_size().0 == 3 && cell(i, 2, 2) == "left");
    assert_eq!(cell(&dat, 2, 3), "removed by the operator");
    assert!(dat.pulse("Clearqueue"));
    cook_until(&mut chop, "the line is empty", &|i| {
        value(i, Channel::QueueLength) == 0.0 && i.snapshot().status == Status::Waiting
    });

    // Jukebox off: back to the operator's own engine; the jukebox stops with its last operator.
    for i in [&mut chop, &mut dat] {
        i.set_number(Param::Jukebox as usize, 0.0);
        i.cook(Instant::now());
        i.cook(Instant::now());
        assert!(i.jukebox.is_none() && i.engine.is_some());
    }
    assert_eq!(value(&chop, Channel::QueueLength), 0.0);
    assert!(chop.pulse("Skip"));
    assert!(chop.warning().is_some_and(|w| w.contains("Jukebox is off")), "{:?}", chop.warning());
    assert_eq!(Arc::strong_count(&jukebox), 1, "operators let the jukebox go");
    drop(jukebox);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_busy_page_port_is_an_error_until_it_frees_up() {
    let dir = std::env::temp_dir().join(format!("td-spotify-instance-jukebox-port-{}", std::process::id()));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let mut i = Operator::new(family::CHOP);
    i.set_number(Param::Jukebox as usize, 1.0);
    i.set_number(Param::Pageport as usize, f64::from(port));
    i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
    let t0 = Instant::now();
    i.cook(t0);
    assert!(
        i.error().is_some_and(|e| e.contains("already in use") && e.contains("Pageport")),
        "{:?}",
        i.error()
    );
    i.cook(t0 + Duration::from_millis(500));
    assert!(i.jukebox.is_none(), "not retried before a second has passed");
    drop(busy);
    i.cook(t0 + JUKEBOX_RETRY);
    assert_eq!(i.error(), None);
    let jukebox = i.jukebox.as_ref().expect("started once the port was free");
    assert!(jukebox.url().ends_with(&format!(":{port}/")));
    // Another port: the old jukebox lets go first, and the new one starts at once.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    i.set_number(Param::Pageport as usize, f64::from(other));
    i.cook(t0 + JUKEBOX_RETRY);
    assert!(i.jukebox.as_ref().is_some_and(|j| j.url().ends_with(&format!(":{other}/"))), "{:?}", i.error());
    drop(i);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn track_changed_is_one_cook_wide() {
    let mut i = Operator::new(family::CHOP);
    i.set_number(Param::Simseed as usize, 99.0);
    i.set_number(Param::Simspeed as usize, 100.0);
    let mut pulses = 0;
    let start = Instant::now();
    let mut last = 0.0;
    let (mut sections, mut last_section, mut section_value) = (0, 0.0, 0.0);
    while start.elapsed() < Duration::from_secs(6) {
        i.cook(Instant::now());
        let v = i.channels()[Channel::TrackChanged as usize];
        assert!(v == 0.0 || last == 0.0, "track_changed held for two cooks");
        if v == 1.0 {
            pulses += 1;
        }
        last = v;
        let s = i.channels()[Channel::SectionChanged as usize];
        let section = i.channels()[Channel::Section as usize];
        assert!(s == 0.0 || last_section == 0.0, "section_changed held for two cooks");
        assert!(s == 0.0 || (section != section_value && v == 0.0), "section_changed without a new section");
        sections += usize::from(s == 1.0);
        (last_section, section_value) = (s, section);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(pulses >= 1, "no track change in 600 simulated seconds");
    assert!(sections >= 1, "no section change in 600 simulated seconds");
    assert!(!i.snapshot().row(Row::Source).is_empty());
}

fn value(i: &Operator, c: Channel) -> f32 {
    i.channels()[c as usize]
}

/// An instance whose engine has no features (the Spotify stand-in), cooked once.
fn without_features() -> (Operator, Instant) {
    let mut i = Operator::new(family::CHOP);
    i.set_string(Param::Source as usize, "Spotify");
    let t0 = Instant::now();
    i.cook(t0);
    (i, t0)
}

#[test]
fn bpm_and_tap_drive_tempo_when_nothing_else_does() {
    let (mut i, t0) = without_features();
    assert_eq!(value(&i, Channel::TempoSource), TempoSource::Manual as u8 as f32);
    assert_eq!(value(&i, Channel::Tempo), 120.0);
    assert_eq!(value(&i, Channel::FeaturesAvailable), 0.0);
    i.set_number(Param::Bpm as usize, 90.0);
    i.cook(t0);
    assert_eq!(value(&i, Channel::Tempo), 90.0);
    // Four taps 0.4 s apart: 150 BPM, a beat on each tap, the first a downbeat.
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let mut beats = 0;
    for k in 0..4u64 {
        assert!(i.pulse_at("Tap", ms(1000 + 400 * k)));
        i.cook(ms(1000 + 400 * k));
        beats += value(&i, Channel::Beat) as u32;
        assert_eq!(value(&i, Channel::BeatPhase), 0.0);
    }
    assert_eq!(value(&i, Channel::Tempo), 150.0);
    assert!(beats >= 3, "a beat on the taps ({beats})");
    i.cook(ms(2200 + 200));
    assert!((value(&i, Channel::BeatPhase) - 0.5).abs() < 1e-3);
    assert!((value(&i, Channel::BarPhase) - (3.5 / 4.0)).abs() < 1e-3);
}

#[test]
fn simulator_drives_every_tempo_channel() {
    let mut i = Operator::new(family::CHOP);
    i.set_number(Param::Simseed as usize, 4242.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while i.snapshot().status != Status::Playing {
        assert!(Instant::now() < deadline, "simulator never played");
        std::thread::sleep(Duration::from_millis(5));
        i.cook(Instant::now());
    }
    let t0 = Instant::now();
    let (mut beats, mut last_beat) = (0, 0.0);
    let (mut onsets, mut loudness, mut sections) = (Vec::new(), Vec::new(), Vec::new());
    for frame in 0..600u32 {
        i.cook(t0 + Duration::from_secs_f64(f64::from(frame) / 60.0));
        let b = value(&i, Channel::Beat);
        assert!(b == 0.0 || last_beat == 0.0, "beat held for two frames");
        beats += b as u32;
        last_beat = b;
        onsets.push(value(&i, Channel::Onset));
        loudness.push(value(&i, Channel::Loudness));
        sections.push(value(&i, Channel::Section));
        assert_eq!(value(&i, Channel::TempoSource), TempoSource::Api as u8 as f32);
    }
    let tempo = f64::from(value(&i, Channel::Tempo));
    let expected = tempo / 6.0; // beats in 10 s
    assert!((f64::from(beats) - expected).abs() <= 1.0, "{beats} beats at {tempo} BPM");
    assert_eq!(value(&i, Channel::FeaturesAvailable), 1.0);
    assert!(value(&i, Channel::Danceability) > 0.0);
    let spread =
        |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread(&onsets) > 0.2, "onset moves");
    assert!(spread(&loudness) > 3.0, "loudness moves");
    assert!(sections.iter().all(|&s| s >= 0.0));
    assert!(!i.snapshot().row(Row::Features).is_empty());
}

#[test]
fn audio_takes_over_without_features_and_its_thread_ends_with_the_instance() {
    use crate::engine::tempo::synth::ClickTrack;
    let (mut i, _) = without_features();
    let (left, right) = ClickTrack::steady(128.0, 12.0).render();
    let mut probe = None;
    for (l, r) in left.chunks(800).zip(right.chunks(800)) {
        i.push_audio(&[l, r], 48_000.0);
        let audio = i.audio.as_ref().expect("audio input started");
        probe.get_or_insert_with(|| audio.worker_probe());
        audio.wait_until_drained(Duration::from_secs(5));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        i.cook(Instant::now());
        if value(&i, Channel::TempoSource) == TempoSource::Audio as u8 as f32 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(value(&i, Channel::TempoSource), TempoSource::Audio as u8 as f32);
    assert!((value(&i, Channel::Tempo) - 128.0).abs() < 128.0 * 0.02);
    assert!(value(&i, Channel::Loudness) > -40.0);
    let probe = probe.expect("probe");
    assert!(probe.running());
    drop(i);
    assert!(!probe.running(), "the tracker thread outlived its operator");
}

#[test]
fn turning_active_off_stops_the_tracker() {
    let (mut i, t0) = without_features();
    let samples = [0.0f32; 800];
    i.push_audio(&[&samples], 48_000.0);
    let probe = i.audio.as_ref().map(AudioInput::worker_probe).expect("audio input started");
    i.set_number(Param::Active as usize, 0.0);
    i.cook(t0);
    assert!(!probe.running());
    i.push_audio(&[&samples], 48_000.0);
    assert!(i.audio.is_none(), "an inactive operator does not track");
}

#[test]
fn a_bad_sample_rate_is_a_warning_once() {
    let (mut i, _) = without_features();
    let samples = [0.0f32; 64];
    i.push_audio(&[&samples], 0.0);
    i.push_audio(&[&samples], 0.0);
    assert!(i.audio.is_none());
    i.push_audio(&[&samples], f64::NAN);
    let first = i.warning().map(str::as_ptr);
    i.push_audio(&[&samples], f64::NAN);
    assert_eq!(i.warning().map(str::as_ptr), first, "the warning is made once, not per cook");
    assert!(i.warning().is_some_and(|w| w.contains("sample rate")), "{:?}", i.warning());
    i.push_audio(&[&samples], 48_000.0);
    assert!(i.audio.is_some());
    assert_eq!(i.warning(), None);
}

#[test]
fn port_pollinterval_and_tokencache_take_effect_on_the_next_cook() {
    use crate::config::SourceConfig;
    let dir = std::env::temp_dir().join(format!("td-spotify-live-params-{}", std::process::id()));
    let spotify = |i: &Operator| match i.engine.as_ref().map(|e| e.config()) {
        Some(SourceConfig::Spotify(c)) => c,
        other => panic!("not a Spotify engine: {other:?}"),
    };
    let mut a = Operator::new(family::CHOP);
    let mut b = Operator::new(family::DAT);
    for i in [&mut a, &mut b] {
        i.set_string(Param::Source as usize, "Spotify");
        i.set_string(Param::Clientid as usize, "liveparams");
        i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
        i.cook(Instant::now());
    }
    let shared = Arc::clone(a.engine.as_ref().unwrap());
    assert!(Arc::ptr_eq(&shared, b.engine.as_ref().unwrap()));

    a.set_number(Param::Pollinterval as usize, 2.0);
    a.set_number(Param::Port as usize, 45_678.0);
    a.cook(Instant::now());
    assert!(Arc::ptr_eq(&shared, a.engine.as_ref().unwrap()), "Pollinterval and Port keep the engine");
    assert_eq!(spotify(&a).poll_interval, Duration::from_secs(2));
    assert_eq!(spotify(&a).port, 45_678);
    assert!(Arc::ptr_eq(&shared, b.engine.as_ref().unwrap()), "both operators still share one poll loop");

    let other = dir.join("other");
    a.set_string(Param::Tokencache as usize, other.to_str().unwrap());
    a.cook(Instant::now());
    assert!(!Arc::ptr_eq(&shared, a.engine.as_ref().unwrap()), "another token cache is another account");
    assert_eq!(spotify(&a).cache_dir.as_deref(), Some(other.as_path()));
    drop((a, b, shared));
    let _ = std::fs::remove_dir_all(&dir);
}
