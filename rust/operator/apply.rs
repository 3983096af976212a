//! Parameters taking effect: starting, sharing or releasing an engine or a jukebox.

use std::sync::Arc;
use std::time::Instant;

use super::settings::Settings;
use super::{Operator, JUKEBOX_RETRY, PULSE_NOTE_FOR};
use crate::engine::{self, snapshot::Snapshot};
use crate::jukebox;
use crate::schema::Status;

impl Operator {
    /// Applies changed parameters: may start, share or release an engine.
    pub(super) fn apply_params(&mut self, now: Instant) {
        self.params_dirty = false;
        let settings = Settings::from_params(&self.params);
        if settings.bpm != self.settings.bpm {
            self.manual.set_bpm(settings.bpm, now);
        }
        if !settings.active {
            // Off releases everything, the beat tracker's thread included (joined here).
            self.audio = None;
        }
        if settings.jukebox_config().is_some() || self.jukebox.is_some() {
            self.apply_jukebox(settings, now);
            return;
        }
        let engine_dead = self.engine.as_ref().is_some_and(|e| e.is_dead());
        if settings == self.settings && (self.engine.is_some() || !settings.active) && !engine_dead {
            return;
        }
        self.settings = settings;
        let wanted = self.settings.source_config();
        if let (Some(engine), Some(config)) = (&self.engine, &wanted) {
            if !engine_dead && engine.config().shares_engine_with(config) {
                // Same account or simulation: Port, Pollinterval… go to the running engine, which
                // restarts what they affect; operators sharing it keep sharing it.
                if let Err(e) = engine.configure(config) {
                    self.local_warning = Some((now + PULSE_NOTE_FOR, e.to_string()));
                }
                return;
            }
        }
        self.local_error = None;
        // Dropping the old engine never waits on the network (see `engine`).
        self.engine = match wanted {
            None => None,
            Some(config) => match engine::acquire(&config) {
                Ok(e) => Some(e),
                Err(e) => {
                    self.local_error = Some(e.to_string());
                    None
                }
            },
        };
        self.last_track_seq = None;
    }

    /// Juke-V-Box mode on, off or changed: the jukebox (shared by the operators of one page)
    /// runs the visitors' players on its own threads; this operator only reads its view.
    fn apply_jukebox(&mut self, settings: Settings, now: Instant) {
        let wanted = settings.jukebox_config();
        self.settings = settings;
        self.local_error = None;
        self.last_track_seq = None;
        self.jukebox_retry = None;
        let Some(config) = wanted else {
            // Back to a single account: the next `apply_params` starts its engine.
            self.jukebox = None;
            self.view = None;
            self.params_dirty = true;
            return;
        };
        self.engine = None;
        let source = if config.spotify.is_some() { "spotify" } else { "simulator" };
        if self.jukebox_idle.as_ref().is_none_or(|idle| idle.row(crate::schema::Row::Source) != source) {
            self.jukebox_idle = Some(Arc::new(Snapshot::empty(source, Status::Waiting)));
        }
        if self.jukebox.as_ref().is_some_and(|j| !j.config().shares_jukebox_with(&config)) {
            // Another page port, queue folder or Redis: the old jukebox goes first, so that its
            // port is free for the new one.
            self.jukebox = None;
            self.view = None;
        }
        match jukebox::acquire(&config) {
            Ok(j) => self.jukebox = Some(j),
            Err(e) => {
                self.jukebox = None;
                self.view = None;
                self.local_error = Some(format!("Juke-V-Box: {e}"));
                self.jukebox_retry = Some(now + JUKEBOX_RETRY);
            }
        }
    }

    /// Pins the jukebox's view and its active visitor's snapshot (or the idle one).
    pub(super) fn pin_jukebox(&mut self) {
        let Some(jukebox) = &self.jukebox else { return };
        if let Some(view) = jukebox.try_view() {
            self.view = Some(view);
        }
        match self.view.as_ref().and_then(|v| v.player.as_ref()) {
            Some(player) => {
                if let Some(latest) = player.try_snapshot() {
                    self.pinned = latest;
                }
            }
            None => {
                if let Some(idle) = &self.jukebox_idle {
                    if !Arc::ptr_eq(&self.pinned, idle) {
                        self.pinned = Arc::clone(idle);
                    }
                }
            }
        }
    }
}
