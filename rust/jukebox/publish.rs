//! What the jukebox thread publishes each tick: the operators' view and the page's board.

use std::ffi::CString;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::board::{self, Board, Entry, Mine, NowPlaying};
use super::runner::Runner;
use super::View;

/// The page gets a fresh position at least this often, even when nothing changed.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Views kept alive on the jukebox thread after they were replaced, so that the one an operator
/// still pins is, nearly always, not the last reference: its free happens here, not in a cook.
const GRAVEYARD: usize = 16;

impl Runner {
    fn now_playing(&self) -> Option<NowPlaying> {
        let snapshot = self.player.as_ref()?.engine.snapshot();
        let playback = &snapshot.playback;
        let item = playback.item.as_ref()?;
        let id = item.id.clone().unwrap_or_else(|| item.uri.clone());
        Some(NowPlaying {
            hue: board::hue_of(&id),
            id,
            name: item.name.clone(),
            artists: item.artists.join(", "),
            album: item.album.clone(),
            art: board::safe_art(item.album_art_url.as_deref()),
            ts_ms: playback.timestamp_ms,
            pos_ms: playback.position_at(Instant::now()) * 1000.0,
            dur_ms: item.duration_ms,
            playing: playback.is_playing,
            rate: if playback.rate.is_finite() { playback.rate } else { 1.0 },
        })
    }

    fn build(&self, now: u64) -> Board {
        let rules = &self.rules;
        let queue = &self.queue;
        let entries = queue
            .visitors()
            .iter()
            .enumerate()
            .map(|(i, v)| Entry {
                position: i + 1,
                name: v.display_name.clone(),
                state: queue.state_at(i).as_str(),
            })
            .collect();
        let mut viewers = std::collections::HashMap::new();
        for d in queue.departures() {
            if let Some(key) = &d.viewer {
                viewers.insert(
                    key.clone(),
                    Mine {
                        position: None,
                        name: Some(d.display_name.clone()),
                        note: Some(d.note.clone()),
                        login: None,
                    },
                );
            }
        }
        for (i, v) in queue.visitors().iter().enumerate() {
            if let Some(key) = &v.viewer {
                viewers.insert(
                    key.clone(),
                    Mine {
                        position: Some(i + 1),
                        name: Some(v.display_name.clone()),
                        note: v.note.clone(),
                        login: None,
                    },
                );
            }
        }
        if let Some(logins) = &self.logins {
            for (viewer, url) in logins.pending() {
                viewers.insert(
                    viewer.to_owned(),
                    Mine {
                        note: Some("Log in to Spotify to join…".into()),
                        login: Some(url.to_owned()),
                        ..Mine::default()
                    },
                );
            }
        }
        Board {
            source: if self.logins.is_some() { "spotify" } else { "simulator" },
            now: self.now_playing(),
            active: queue.active().map(|v| v.display_name.clone()),
            turn_index: queue.turn_index(),
            turn_mode: rules.turn_mode.as_str(),
            turn_remaining_s: queue.turn_remaining_s(rules, now).map(f64::ceil),
            queue: entries,
            can_join: self.notice.is_none(),
            notice: self
                .notice
                .as_ref()
                .map(|_| "The queue is unreachable for a moment; try again shortly.".into()),
            changed_ms: self.changed_ms,
            sent_ms: now,
            viewers,
        }
    }

    /// The operators' view of this tick.
    fn view(&self, now: u64) -> View {
        let queue = &self.queue;
        let cell = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let mut visitors: Vec<Vec<CString>> = queue
            .visitors()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let state = queue.state_at(i).as_str();
                vec![
                    cell(&(i + 1).to_string()),
                    cell(&v.display_name),
                    cell(state),
                    cell(v.note.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        visitors.extend(
            queue
                .departures()
                .iter()
                .rev()
                .map(|d| vec![cell(""), cell(&d.display_name), cell("left"), cell(&d.note)]),
        );
        View {
            player: self.player.as_ref().map(|p| Arc::clone(&p.engine)),
            queue_length: queue.len(),
            turn_remaining_s: queue.turn_remaining_s(&self.rules, now).unwrap_or(0.0),
            turn_index: queue.turn_index(),
            runs_turns: self.leader,
            visitors,
            notice: self.notice.as_deref().map(cell),
        }
    }

    /// Publishes the operators' view every tick, and the page's board when something the page
    /// shows changed (the position moves by itself on the page), and at least every [`HEARTBEAT`].
    pub(super) fn publish(&mut self, now: u64) {
        let old = self.view.swap(Arc::new(self.view(now)));
        self.graveyard.push_back(old);
        if self.graveyard.len() > GRAVEYARD {
            self.graveyard.pop_front();
        }
        let mut board = self.build(now);
        let comparable = |b: &Board| {
            let mut b = b.clone();
            b.sent_ms = 0;
            b.changed_ms = 0;
            if let Some(n) = &mut b.now {
                n.pos_ms = 0.0;
                n.ts_ms = 0;
            }
            b
        };
        let track = |b: Option<&Board>| b.and_then(|b| b.now.as_ref().map(|n| n.id.clone()));
        if track(Some(&board)) != track(self.last_board.as_ref()) {
            self.changed_ms = now;
            board.changed_ms = now;
        }
        let same = self.last_board.as_ref().is_some_and(|last| comparable(last) == comparable(&board));
        if same && self.last_sent.elapsed() < HEARTBEAT {
            return;
        }
        self.board.publish(board.clone());
        self.last_board = Some(board);
        self.last_sent = Instant::now();
    }
}
