//! What browsers and the operator asked since the last tick, applied to the newest queue.

use super::queue::Queue;
use super::server::Command;
use super::Control;

/// Since the last tick: the page's commands (simulated visitors), Spotify visitors whose
/// login ended, and the operator's commands.
#[derive(Default)]
pub(super) struct Asked {
    pub(super) commands: Vec<Command>,
    /// `(viewer, Spotify user id, name)`.
    pub(super) joined: Vec<(String, String, String)>,
    /// `(viewer, name, note)`.
    pub(super) turned_away: Vec<(String, String, String)>,
    pub(super) controls: Vec<Control>,
}

impl Asked {
    pub(super) fn is_empty(&self) -> bool {
        self.commands.is_empty()
            && self.controls.is_empty()
            && self.joined.is_empty()
            && self.turned_away.is_empty()
    }

    /// Applies everything, in the order above, to the newest queue.
    pub(super) fn apply(&self, q: &mut Queue, now: u64) {
        for command in &self.commands {
            page_command(q, command, now);
        }
        for (viewer, id, name) in &self.joined {
            if let Err(e) = q.join(id, name, Some(viewer), now) {
                q.turn_away(&format!("login-{viewer}"), name, Some(viewer), &e.to_string(), now);
            }
        }
        for (viewer, name, note) in &self.turned_away {
            q.turn_away(&format!("login-{viewer}"), name, Some(viewer), note, now);
        }
        for c in &self.controls {
            control_command(q, c, now);
        }
    }
}

/// A browser's command, applied to the newest queue.
fn page_command(queue: &mut Queue, command: &Command, now: u64) {
    match command {
        Command::Join { viewer } => {
            if queue.visitors().iter().any(|v| v.viewer.as_deref() == Some(viewer.as_str())) {
                return;
            }
            // Simulated visitors are numbered; a number is never reused while its visitor is known.
            let used = queue
                .visitors()
                .iter()
                .map(|v| v.id.as_str())
                .chain(queue.departures().iter().map(|d| d.id.as_str()))
                .filter_map(|id| id.strip_prefix("sim-")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            let n = used + 1;
            if let Err(e) = queue.join(&format!("sim-{n}"), &format!("Visitor {n}"), Some(viewer), now) {
                tracing::warn!(error = %e, "jukebox join refused");
            }
        }
    }
}

/// An operator's command, applied to the newest queue.
fn control_command(queue: &mut Queue, control: &Control, now: u64) {
    match control {
        Control::Skip => {
            queue.skip(now);
        }
        Control::Remove { who } => {
            if let Some(id) = queue.find(who).map(|v| v.id.clone()) {
                queue.remove(&id, "removed by the operator", now);
            }
        }
        Control::Clear => {
            queue.clear(now);
        }
        Control::Rules(_) => {}
    }
}
