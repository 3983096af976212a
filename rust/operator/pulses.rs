//! Pulse parameters: sent to the engine or the jukebox, or handled here (Tap).

use std::time::Instant;

use super::{Operator, PULSE_NOTE_FOR};
use crate::jukebox::Control;
use crate::model::Pulse;
use crate::schema::{Param, ParamKind};

impl Operator {
    /// Handles a pulse parameter by name.
    pub fn pulse(&mut self, name: &str) -> bool {
        self.pulse_at(name, Instant::now())
    }

    /// Handles a pulse parameter by name, pressed at `now`.
    pub fn pulse_at(&mut self, name: &str, now: Instant) -> bool {
        let Some(param) = Param::from_name(name.as_bytes()).filter(|p| p.spec().kind == ParamKind::Pulse)
        else {
            return false;
        };
        let pulse = match param {
            Param::Login => Pulse::Login,
            Param::Logout => Pulse::Logout,
            Param::Playpause => Pulse::PlayPause,
            Param::Next => Pulse::Next,
            Param::Previous => Pulse::Previous,
            Param::Resetcounters => Pulse::ResetCounters,
            Param::Tap => {
                // Local to this operator: the manual clock lives here, not in the shared engine.
                self.manual.tap(now);
                return true;
            }
            jukebox_pulse => {
                self.jukebox_pulse(jukebox_pulse, now);
                return true;
            }
        };
        let engine = self.engine.as_ref().or_else(|| self.view.as_ref()?.player.as_ref());
        let note = match engine {
            Some(engine) => engine.pulse(pulse).err().map(|e| e.to_string()),
            None => Some(format!("{name} ignored: the operator is not active")),
        };
        // Kept until it expires (not freed then: that would be heap work in a cook).
        self.local_warning = note.map(|n| (now + PULSE_NOTE_FOR, n));
        true
    }

    /// Skip, Removevisitor, Clearqueue: for the jukebox this operator follows.
    fn jukebox_pulse(&mut self, param: Param, now: Instant) {
        let control = match param {
            Param::Skip => Control::Skip,
            Param::Clearqueue => Control::Clear,
            _ => Control::Remove { who: self.params.string(Param::Visitor).to_owned() },
        };
        let note = match &self.jukebox {
            Some(jukebox) => jukebox.control(control).err().map(|e| e.to_string()),
            None => Some(format!("{param:?} ignored: Jukebox is off (or the operator is not active)")),
        };
        self.local_warning = note.map(|n| (now + PULSE_NOTE_FOR, n));
    }
}
