//! How TouchDesigner's thread wakes the engine without touching tokio.
//!
//! Waking a tokio task from a thread outside its runtime (`Notify::notify_one`, any `Waker`)
//! makes tokio look up its thread-local context on the waking thread, which registers a
//! thread-local destructor there; on TouchDesigner's main thread that pins the library after
//! `dlclose` (see [`super::os_thread`]). So operators ring a doorbell instead: on Unix one byte
//! into a non-blocking socket pair (a plain system call), which the engine's runtime watches
//! like any socket. Windows has no such pin, and a `Notify` does there.

/// The operators' side: rings, never blocks.
#[derive(Debug)]
pub struct Bell(imp::Bell);

/// The engine's side, moved to the engine thread and opened there ([`Door::open`]).
#[derive(Debug)]
pub struct Door(imp::Door);

/// A pair.
pub fn doorbell() -> std::io::Result<(Bell, Door)> {
    imp::pair().map(|(b, d)| (Bell(b), Door(d)))
}

impl Bell {
    /// Wakes the engine. Rings while the engine is busy add up to one wake-up.
    pub fn ring(&self) {
        self.0.ring();
    }
}

impl Door {
    /// Registers the door with the current runtime (call on the engine thread, in the runtime).
    pub fn open(self) -> std::io::Result<OpenDoor> {
        self.0.open().map(OpenDoor)
    }
}

/// A door registered with the engine's runtime.
#[derive(Debug)]
pub struct OpenDoor(imp::OpenDoor);

impl OpenDoor {
    /// Resolves at the next ring (or at once if one came since the last call). Cancel-safe.
    pub async fn rung(&self) {
        self.0.rung().await;
    }
}

#[cfg(unix)]
mod imp {
    use std::io::{self, ErrorKind};
    use std::os::unix::net::UnixDatagram;

    #[derive(Debug)]
    pub struct Bell(UnixDatagram);
    #[derive(Debug)]
    pub struct Door(UnixDatagram);
    #[derive(Debug)]
    pub struct OpenDoor(tokio::net::UnixDatagram);

    pub fn pair() -> io::Result<(Bell, Door)> {
        let (bell, door) = UnixDatagram::pair()?;
        bell.set_nonblocking(true)?;
        door.set_nonblocking(true)?;
        Ok((Bell(bell), Door(door)))
    }

    impl Bell {
        pub fn ring(&self) {
            // A full buffer (WouldBlock) means rings are already waiting: this one adds nothing.
            let _ = self.0.send(&[1]);
        }
    }

    impl Door {
        pub fn open(self) -> io::Result<OpenDoor> {
            tokio::net::UnixDatagram::from_std(self.0).map(OpenDoor)
        }
    }

    impl OpenDoor {
        pub async fn rung(&self) {
            let mut buf = [0u8; 16];
            loop {
                if self.0.readable().await.is_err() {
                    // The socket broke: never wake again (the stop flag still ends the engine
                    // at its next turn).
                    return std::future::pending().await;
                }
                let mut rang = false;
                loop {
                    match self.0.try_recv(&mut buf) {
                        Ok(_) => rang = true,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
                if rang {
                    return;
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::io;
    use std::sync::Arc;
    use tokio::sync::Notify;

    #[derive(Debug)]
    pub struct Bell(Arc<Notify>);
    #[derive(Debug)]
    pub struct Door(Arc<Notify>);
    #[derive(Debug)]
    pub struct OpenDoor(Arc<Notify>);

    pub fn pair() -> io::Result<(Bell, Door)> {
        let notify = Arc::new(Notify::new());
        Ok((Bell(Arc::clone(&notify)), Door(notify)))
    }

    impl Bell {
        pub fn ring(&self) {
            self.0.notify_one();
        }
    }

    impl Door {
        pub fn open(self) -> io::Result<OpenDoor> {
            Ok(OpenDoor(self.0))
        }
    }

    impl OpenDoor {
        pub async fn rung(&self) {
            self.0.notified().await;
        }
    }
}
