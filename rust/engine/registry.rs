//! Engines shared between operators: one per account, alive while any operator uses it.
//!
//! The registry holds only `Weak` references, so the last operator's drop stops the engine, and a
//! later operator (even after the plugin is unloaded and reloaded) simply starts a new one.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{Engine, EngineError};
use crate::config::SourceConfig;

static ENGINES: Mutex<Vec<Weak<Engine>>> = Mutex::new(Vec::new());

/// The running engine for `config`, started if no operator shares one yet.
///
/// Called from TouchDesigner's main thread when an operator is created or its settings change,
/// never on every cook.
pub fn acquire(config: &SourceConfig) -> Result<Arc<Engine>, EngineError> {
    let mut engines = ENGINES.lock().unwrap_or_else(PoisonError::into_inner);
    engines.retain(|w| w.strong_count() > 0);
    let shared = engines.iter().filter_map(Weak::upgrade).find(|e| e.config().shares_engine_with(config));
    if let Some(engine) = shared {
        return Ok(engine);
    }
    let engine = Arc::new(Engine::start(config.clone())?);
    engines.push(Arc::downgrade(&engine));
    Ok(engine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::simulator::SimConfig;

    #[test]
    fn same_config_shares_one_engine() {
        let config = SourceConfig::Simulator(SimConfig { seed: 4242, speed: 1.0 });
        let a = acquire(&config).unwrap();
        let b = acquire(&config).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = acquire(&SourceConfig::Simulator(SimConfig { seed: 4243, speed: 1.0 })).unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
