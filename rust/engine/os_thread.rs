//! Threads started from TouchDesigner's main thread without leaving anything behind on it.
//!
//! # Why not `std::thread::spawn`
//! Since Rust 1.84 `std::thread::spawn` runs the spawning thread's *spawn hooks*, which live in a
//! thread-local with a destructor. Called on TouchDesigner's main thread, it registers that
//! destructor there (`__cxa_thread_atexit_impl` on glibc), and glibc's `dlclose` refuses to
//! unmap a library while one of its thread-local destructors is pending on any thread
//! (rust-lang/rust #59629, #88737): "Unload Plugin" would silently keep the old binary. So on
//! Unix the engine and beat-tracker threads are created with `pthread_create` directly; the
//! thread-locals they use themselves are registered on *their* thread and run when it ends.
//!
//! # Why a detached thread is still safe to unload
//! [`OsThread::finish_within`] waits a short bound for the thread and detaches it if it is still
//! busy (the engine may be closing a socket or stopping the login server). A thread running code
//! of an unmapped library would crash, so the first thing a thread does, before its creator
//! returns, is to register a thread-local destructor of its own ([`Pin`]): as long as the thread
//! runs our code, glibc counts that pending destructor and `dlclose` keeps the library mapped.
//! The destructor runs after the thread's body has returned, and only glibc's code runs after
//! it. A thread that outlives the bound therefore delays the unmapping to the next `dlclose`,
//! never crashes it. Threads the engine's runtime starts (tokio's blocking pool, e.g. a DNS
//! lookup) are `std` threads, which register such destructors on themselves too.
//!
//! On Windows `FreeLibrary` does not wait for thread-local destructors (they run from the
//! image's TLS callback), so `std::thread` is used there.

#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Stack of the threads started here (std's default).
const STACK_SIZE: usize = 2 * 1024 * 1024;

/// What the creator and the thread share: whether the body has returned.
#[derive(Default)]
struct Done {
    finished: Mutex<bool>,
    changed: Condvar,
}

impl Done {
    fn set(&self) {
        *self.finished.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Waits until the body has returned or `bound` has passed; says whether it returned.
    fn wait(&self, bound: Duration) -> bool {
        let deadline = Instant::now().checked_add(bound);
        let mut finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
        while !*finished {
            finished = match deadline {
                None => self.changed.wait(finished).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.changed.wait_timeout(finished, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
        true
    }
}

/// Registers a thread-local destructor on the current thread (see the module doc).
struct Pin;

impl Drop for Pin {
    fn drop(&mut self) {}
}

thread_local! {
    static PIN: Pin = const { Pin };
}

/// A running thread. Dropping it detaches the thread.
pub struct OsThread {
    /// `None` once joined or detached.
    handle: Option<imp::Handle>,
    thread: Thread,
    done: Arc<Done>,
}

impl std::fmt::Debug for OsThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsThread").field("thread", &self.thread).finish_non_exhaustive()
    }
}

/// Starts `body` on a new thread named `name`. Returns once the thread runs (a few tens of
/// microseconds): the caller never waits for anything else.
///
/// `body` must catch its own panics if it wants to report them; a panic that escapes it is
/// caught here and ends the thread.
pub fn spawn<F>(name: &'static str, body: F) -> io::Result<OsThread>
where
    F: FnOnce() + Send + 'static,
{
    let done = Arc::new(Done::default());
    let started: Arc<(Mutex<Option<Thread>>, Condvar)> = Arc::default();
    let (thread_done, thread_started) = (Arc::clone(&done), Arc::clone(&started));
    let main = move || {
        PIN.with(|_| {});
        let me = std::thread::current();
        {
            let (slot, cv) = &*thread_started;
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(me);
            cv.notify_all();
        }
        drop(thread_started);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        thread_done.set();
    };
    let handle = imp::spawn(name, Box::new(main))?;
    let (slot, cv) = &*started;
    let mut thread = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let thread = loop {
        if let Some(t) = thread.take() {
            break t;
        }
        thread = cv.wait(thread).unwrap_or_else(PoisonError::into_inner);
    };
    Ok(OsThread { handle: Some(handle), thread, done })
}

impl OsThread {
    /// The thread's handle (to unpark it).
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Whether the body has returned.
    pub fn is_finished(&self) -> bool {
        *self.done.finished.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the body to return and joins the thread. Only for threads that cannot hang.
    pub fn join(mut self) {
        self.done.wait(Duration::MAX);
        if let Some(handle) = self.handle.take() {
            imp::join(handle);
        }
    }

    /// Waits at most `bound` for the body to return: joins the thread if it did (returns true),
    /// detaches it otherwise (it ends by itself; see the module doc for why that is safe).
    pub fn finish_within(mut self, bound: Duration) -> bool {
        let finished = self.done.wait(bound);
        if let Some(handle) = self.handle.take() {
            if finished {
                imp::join(handle);
            } else {
                imp::detach(handle);
            }
        }
        finished
    }
}

#[cfg(unix)]
mod imp {
    use std::ffi::c_void;
    use std::io;

    pub struct Handle(libc::pthread_t);

    type Body = Box<dyn FnOnce() + Send>;

    extern "C" fn start(arg: *mut c_void) -> *mut c_void {
        // SAFETY: `arg` is the `Box<Body>` leaked by `spawn`, handed to exactly this thread.
        let body = unsafe { Box::from_raw(arg.cast::<Body>()) };
        // Nothing may unwind out of an `extern "C"` function; `body` catches the body's panics.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        std::ptr::null_mut()
    }

    pub fn spawn(name: &'static str, body: Body) -> io::Result<Handle> {
        let body = Box::into_raw(Box::new(Box::new(move || {
            set_name(name);
            body();
        }) as Body));
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        // SAFETY: `attr` is initialised by `pthread_attr_init` before any other use and destroyed
        // once `pthread_create` has copied it.
        let (created, thread) = unsafe {
            let rc = libc::pthread_attr_init(attr.as_mut_ptr());
            if rc != 0 {
                drop(Box::from_raw(body));
                return Err(io::Error::from_raw_os_error(rc));
            }
            // A failure keeps the default stack size, which is fine.
            let _ = libc::pthread_attr_setstacksize(attr.as_mut_ptr(), super::STACK_SIZE);
            let mut thread: libc::pthread_t = std::mem::zeroed();
            let rc = libc::pthread_create(&mut thread, attr.as_ptr(), start, body.cast());
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            (rc, thread)
        };
        if created != 0 {
            // SAFETY: the thread was not created, so `body` is still ours.
            drop(unsafe { Box::from_raw(body) });
            return Err(io::Error::from_raw_os_error(created));
        }
        Ok(Handle(thread))
    }

    fn set_name(name: &'static str) {
        #[cfg(target_os = "linux")]
        if let Ok(name) = std::ffi::CString::new(name) {
            // SAFETY: names this thread; `name` is NUL-terminated and shorter than 16 bytes.
            unsafe { libc::pthread_setname_np(libc::pthread_self(), name.as_ptr()) };
        }
        #[cfg(target_os = "macos")]
        if let Ok(name) = std::ffi::CString::new(name) {
            // SAFETY: macOS names the calling thread; `name` is NUL-terminated.
            unsafe { libc::pthread_setname_np(name.as_ptr()) };
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        let _ = name;
    }

    pub fn join(handle: Handle) {
        // SAFETY: `handle` is a joinable thread that nobody else joins or detaches (moved in).
        unsafe { libc::pthread_join(handle.0, std::ptr::null_mut()) };
    }

    pub fn detach(handle: Handle) {
        // SAFETY: as for `join`.
        unsafe { libc::pthread_detach(handle.0) };
    }
}

#[cfg(not(unix))]
mod imp {
    use std::io;

    pub struct Handle(std::thread::JoinHandle<()>);

    pub fn spawn(name: &'static str, body: Box<dyn FnOnce() + Send>) -> io::Result<Handle> {
        std::thread::Builder::new()
            .name(name.to_owned())
            .stack_size(super::STACK_SIZE)
            .spawn(body)
            .map(Handle)
    }

    pub fn join(handle: Handle) {
        let _ = handle.0.join();
    }

    pub fn detach(handle: Handle) {
        drop(handle);
    }
}

impl Drop for OsThread {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            imp::detach(handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn runs_joins_and_detaches() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        spawn("td-spotify-test", move || flag.store(true, Ordering::Release)).unwrap().join();
        assert!(ran.load(Ordering::Acquire));

        let slow = spawn("td-spotify-test", || std::thread::sleep(Duration::from_millis(200))).unwrap();
        let t0 = Instant::now();
        assert!(!slow.finish_within(Duration::from_millis(2)));
        assert!(t0.elapsed() < Duration::from_millis(150));

        let quick = spawn("td-spotify-test", || panic!("caught")).unwrap();
        assert!(quick.finish_within(Duration::from_secs(5)));
    }
}
