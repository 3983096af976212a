//! Engines shared between operators: one per account, alive while any operator uses it.
//!
//! The registry holds only `Weak` references, so the last operator's drop stops the engine, and a
//! later operator (even after the plugin is unloaded and reloaded) simply starts a new one. An
//! engine whose thread died is dropped from the registry at once: the operators that hold it
//! show its error, and the next one to ask gets a fresh engine.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{Engine, EngineError};
use crate::config::SourceConfig;

static ENGINES: Mutex<Vec<Weak<Engine>>> = Mutex::new(Vec::new());

/// The running engine for `config`, started if no operator shares one yet.
///
/// A shared engine takes `config`'s settings (the last operator to change Port or Pollinterval
/// sets them for the account's one poll loop).
///
/// Called from TouchDesigner's main thread when an operator is created or its settings change,
/// never on every cook. Engines are only started and stopped under the lock, never waited for.
pub fn acquire(config: &SourceConfig) -> Result<Arc<Engine>, EngineError> {
    let mut engines = ENGINES.lock().unwrap_or_else(PoisonError::into_inner);
    engines.retain(|w| w.upgrade().is_some_and(|e| !e.is_dead()));
    let shared = engines.iter().filter_map(Weak::upgrade).find(|e| e.config().shares_engine_with(config));
    if let Some(engine) = shared {
        drop(engines);
        // A full queue only delays the new settings to the operator's next change.
        let _ = engine.configure(config);
        return Ok(engine);
    }
    let engine = Arc::new(Engine::start(config.clone())?);
    engines.push(Arc::downgrade(&engine));
    Ok(engine)
}

/// Drops the registry's references to engines that have stopped, and its buffer once it is
/// empty. Called as an engine drops: a `Weak` keeps the engine's allocation alive, and a static's
/// heap is never freed when the library is unloaded, so without this every "Unload Plugin" would
/// leak the registry (LeakSanitizer and valgrind see it in tests/attack_host.rs).
///
/// `try_lock`: an engine can be dropped inside [`acquire`], which holds the lock and prunes
/// itself.
pub(super) fn forget_stopped() {
    if let Ok(mut engines) = ENGINES.try_lock() {
        engines.retain(|w| w.strong_count() > 0);
        if engines.is_empty() {
            *engines = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::source::{Source, Update};
    use crate::model::BoxFuture;
    use crate::model::SimConfig;
    use std::time::{Duration, Instant};

    #[test]
    fn same_config_shares_one_engine() {
        let config = SourceConfig::Simulator(SimConfig { seed: 4242, speed: 1.0 });
        let a = acquire(&config).unwrap();
        let b = acquire(&config).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = acquire(&SourceConfig::Simulator(SimConfig { seed: 4243, speed: 1.0 })).unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
    }

    struct Panics;

    impl Source for Panics {
        fn name(&self) -> &'static str {
            "panics"
        }

        fn poll(&mut self, _now: Instant) -> BoxFuture<'_, Update> {
            Box::pin(async { panic!("a source that dies") })
        }
    }

    #[test]
    fn a_dead_engine_is_never_handed_out() {
        let config = SourceConfig::Simulator(SimConfig { seed: 4244, speed: 1.0 });
        let dying = Arc::new(Engine::start_with(config.clone(), |_| Box::new(Panics)).unwrap());
        ENGINES.lock().unwrap().push(Arc::downgrade(&dying));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !dying.is_dead() {
            assert!(Instant::now() < deadline, "the engine did not die");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(dying.snapshot().error.is_some(), "a dead engine says why");
        let fresh = acquire(&config).unwrap();
        assert!(!Arc::ptr_eq(&fresh, &dying));
        assert!(!fresh.is_dead());
        assert!(ENGINES.lock().unwrap().iter().all(|w| !w.ptr_eq(&Arc::downgrade(&dying))));
    }
}
