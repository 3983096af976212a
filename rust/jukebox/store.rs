//! The queue on disk: `jukebox-queue.json` beside the token store, replaced atomically.
//!
//! Written like the token store (`auth::store::write_atomic`): a temporary file in the same
//! directory, flushed, then renamed over the old one, so a crash or power cut leaves the old
//! queue or the new one, never half of each. A file that cannot be read is renamed aside
//! (`.bad`) and the jukebox starts with an empty queue: losing a line of visitors is better than
//! refusing to start a show.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::queue::Queue;

/// File name of the queue, in the token store's directory.
pub const FILE_NAME: &str = "jukebox-queue.json";

/// Why the queue could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no directory for the jukebox queue: the OS has no per-user config directory; pass a cache directory"
    )]
    NoDirectory,
    #[error("could not save the jukebox queue to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("could not read the jukebox queue {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// Where the queue is kept.
#[derive(Debug, Clone)]
pub struct QueueStore {
    path: PathBuf,
}

impl QueueStore {
    /// The store in `dir`, or beside the token store (the OS's per-user config directory).
    pub fn new(dir: Option<&Path>) -> Result<QueueStore, StoreError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => crate::auth::store::default_dir().ok_or(StoreError::NoDirectory)?,
        };
        Ok(QueueStore { path: dir.join(FILE_NAME) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved queue; an empty one when there is none. An unreadable file is kept aside
    /// (`jukebox-queue.json.bad`) with a warning.
    pub fn load(&self) -> Result<Queue, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Queue::new()),
            Err(source) => return Err(StoreError::Read { path: self.path.clone(), source }),
        };
        match serde_json::from_slice::<Queue>(&bytes) {
            Ok(q) => Ok(q.restored()),
            Err(e) => {
                let aside = self.path.with_extension("json.bad");
                tracing::warn!(path = %self.path.display(), error = %e, "jukebox queue unreadable; kept aside, starting empty");
                let _ = fs::rename(&self.path, aside);
                Ok(Queue::new())
            }
        }
    }

    /// Replaces the saved queue with `queue`.
    pub fn save(&self, queue: &Queue) -> Result<(), StoreError> {
        let err = |source| StoreError::Write { path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(queue).map_err(|e| err(io::Error::other(e)))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(err)?;
        crate::auth::store::write_atomic(&self.path, &bytes).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::{Observation, Rules, TurnMode};
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("td-spotify-jukebox-{name}-{}", rand::random::<u32>()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_queue_survives_a_restart() {
        const T0: u64 = 1_800_000_000_000;
        let dir = temp_dir("restart");
        let rules = Rules { turn_length_s: 60.0, turn_mode: TurnMode::Time, idle_timeout_s: 10.0 };
        let store = QueueStore::new(Some(&dir)).unwrap();
        assert!(store.load().unwrap().is_empty(), "no file yet: an empty queue");
        let mut q = Queue::new();
        for (id, name) in [("u0", "Ana"), ("u1", "Ben"), ("u2", "Cy")] {
            q.join(id, name, Some("browser-key"), T0).unwrap();
        }
        q.observe(&rules, &Observation::default(), T0 + 5_000); // idle for a while
        q.skip(T0 + 6_000);
        q.refuse("u2", T0 + 7_000);
        store.save(&q).unwrap();
        // No temporary file is left behind.
        let names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, [FILE_NAME]);

        // "Restart": a new store reads the same queue, and the turn goes on from where it was.
        let mut back = QueueStore::new(Some(&dir)).unwrap().load().unwrap();
        assert_eq!(back.visitors(), q.visitors());
        assert_eq!(back.turn_index(), q.turn_index());
        assert!(back.note_for("u2").unwrap().contains("add your Spotify account"));
        assert_eq!(back.turn_remaining_s(&rules, T0 + 36_000), Some(30.0));
        back.observe(&rules, &Observation { playing: true, track: Some("t".into()) }, T0 + 66_000);
        assert_eq!(back.active().unwrap().id, "u0");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_kept_aside() {
        let dir = temp_dir("corrupt");
        let store = QueueStore::new(Some(&dir)).unwrap();
        fs::write(store.path(), b"{ not json").unwrap();
        assert!(store.load().unwrap().is_empty());
        assert!(dir.join("jukebox-queue.json.bad").exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
