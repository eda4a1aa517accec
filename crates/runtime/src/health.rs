use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Readiness of a process: ready when every registered dependency (broker, database...) says so.
#[derive(Debug, Clone, Default)]
pub struct Health {
    components: Arc<Mutex<BTreeMap<&'static str, Arc<AtomicBool>>>>,
}

impl Health {
    /// Registers a dependency, initially not ready, and returns the flag its owner flips.
    pub fn component(&self, name: &'static str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.components.lock().expect("health lock").insert(name, flag.clone());
        flag
    }

    /// Each dependency and whether it is ready.
    pub fn report(&self) -> BTreeMap<&'static str, bool> {
        let components = self.components.lock().expect("health lock");
        components.iter().map(|(name, flag)| (*name, flag.load(Ordering::Relaxed))).collect()
    }

    pub fn is_ready(&self) -> bool {
        self.report().values().all(|ready| *ready)
    }
}
