//! Why tests in one binary still keep out of each other's way.
//!
//! The integration tests share one process and run on parallel threads, where they used to run
//! one binary after another. [`serial`] keeps heavy or timing-sensitive tests (dlopen hosts,
//! valgrind, chromium, spawned jukeboxes, hostile clients) from overlapping on a 2-core machine;
//! [`own_process`] gives a test back a process of its own when it sets environment variables or
//! measures the process itself (its threads, fds and memory, the engine registry).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Set in a child run by [`own_process`]: the name of the one test it runs.
const OWN_PROCESS_ENV: &str = "TD_SPOTIFY_OWN_PROCESS";

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for a test's whole length: no two holders run at once. A test that failed while holding
/// it does not stop the others (the lock is taken back from a poisoned mutex).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Call first in a test: `if !support::own_process() { return; }`.
///
/// In the test harness it runs this same test again, alone, in a child of this binary (holding
/// [`serial`] meanwhile), passes the child's output on, asserts that it passed and returns
/// false. In that child it returns true: the test's body runs there.
pub fn own_process() -> bool {
    // libtest runs every test on a thread named after it.
    let current = std::thread::current();
    let name = current.name().expect("called on a test's own thread").to_owned();
    if std::env::var_os(OWN_PROCESS_ENV).is_some_and(|n| n == name.as_str()) {
        return true;
    }
    let _serial = serial();
    let exe = std::env::current_exe().expect("path of the running test binary");
    let mut child = Command::new(exe)
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS_ENV, &name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {name} in its own process: {e}"));
    let mut ran = false;
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.unwrap_or_default();
        ran |= line.starts_with("test result: ok. 1 passed");
        println!("{line}");
    }
    let status = child.wait().expect("wait for the test's own process");
    assert!(status.success(), "{name} failed in its own process ({status}); its output is above");
    assert!(ran, "{name} did not run in its own process; its output is above");
    false
}
