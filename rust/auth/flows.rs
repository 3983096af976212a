//! Logins in progress: each has an unguessable `state` and its PKCE verifier.
//!
//! A state is single use and expires after [`FLOW_LIFETIME`]. Used states are remembered (as
//! SHA-256 digests, not the states themselves) so a replayed callback gets its own message.
//!
//! Logins started by the app (the Login pulse, `td-spotify login`) and logins started by a visit
//! to the loopback `/login` page are counted apart: any page in the artist's browser can make
//! it visit `/login` as often as it likes, and those visits only ever push out other visits,
//! never the login the artist started.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::pkce::{random_string, Pkce};
use super::secret::{constant_time_eq, LoginState, PkceVerifier};
use super::AuthError;

/// How long a started login stays valid.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Logins of one [`Origin`] that may be in progress at once (each Login pulse or `/login` visit
/// adds one); the oldest of that origin is dropped beyond this, so a page hammering `/login`
/// cannot grow memory.
const MAX_PENDING: usize = 8;
/// Used states remembered for the "already used" message.
const MAX_USED: usize = 32;
/// Random bytes in a state (43 characters once encoded).
const STATE_BYTES: usize = 32;

struct Flow {
    state: LoginState,
    verifier: PkceVerifier,
    started: Instant,
    origin: Origin,
}

/// Who started a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The Login pulse or `td-spotify login`.
    App,
    /// A request for the loopback `/login` page (the artist's link, or any page's request).
    Page,
}

/// A freshly started login: what goes into the authorize URL.
#[derive(Debug)]
pub struct NewFlow {
    pub state: LoginState,
    pub challenge: String,
}

/// The logins in progress.
#[derive(Default)]
pub struct PendingFlows {
    flows: Vec<Flow>,
    used: VecDeque<([u8; 32], Instant)>,
}

impl std::fmt::Debug for PendingFlows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingFlows").field("pending", &self.flows.len()).finish_non_exhaustive()
    }
}

impl PendingFlows {
    /// Starts a login for the app: a new state and PKCE pair.
    pub fn start(&mut self, now: Instant) -> NewFlow {
        self.start_from(Origin::App, now)
    }

    /// Starts a login for a `/login` visit; it can push out only other visits' logins.
    pub fn start_from_page(&mut self, now: Instant) -> NewFlow {
        self.start_from(Origin::Page, now)
    }

    fn start_from(&mut self, origin: Origin, now: Instant) -> NewFlow {
        self.expire(now);
        if self.flows.iter().filter(|f| f.origin == origin).count() >= MAX_PENDING {
            // Flows are kept oldest first.
            if let Some(oldest) = self.flows.iter().position(|f| f.origin == origin) {
                self.flows.remove(oldest);
            }
        }
        let pkce = Pkce::new_random();
        let state = LoginState::new(random_string(STATE_BYTES));
        self.flows.push(Flow { state: state.clone(), verifier: pkce.verifier, started: now, origin });
        NewFlow { state, challenge: pkce.challenge }
    }

    /// Consumes the login `state` belongs to and returns its verifier.
    pub fn take(&mut self, state: &str, now: Instant) -> Result<PkceVerifier, AuthError> {
        if state.is_empty() {
            return Err(AuthError::MissingState);
        }
        // Compare against every flow, in constant time per comparison.
        let found =
            self.flows.iter().position(|f| constant_time_eq(f.state.secret().as_bytes(), state.as_bytes()));
        let digest = digest(state);
        let Some(index) = found else {
            let replayed = self.used.iter().any(|(d, _)| constant_time_eq(d, &digest));
            return Err(if replayed { AuthError::ReplayedState } else { AuthError::UnknownState });
        };
        let flow = self.flows.remove(index);
        self.remember_used(digest, now);
        if now.saturating_duration_since(flow.started) > FLOW_LIFETIME {
            return Err(AuthError::ExpiredState);
        }
        Ok(flow.verifier)
    }

    /// Drops expired logins; returns how many expired now.
    pub fn expire(&mut self, now: Instant) -> usize {
        let expired: Vec<[u8; 32]> = self
            .flows
            .iter()
            .filter(|f| now.saturating_duration_since(f.started) > FLOW_LIFETIME)
            .map(|f| digest(f.state.secret()))
            .collect();
        self.flows.retain(|f| now.saturating_duration_since(f.started) <= FLOW_LIFETIME);
        // An expired state is remembered too, so a late callback says "expired", not "unknown".
        let expired_now = expired.len();
        for d in expired {
            self.remember_used(d, now);
        }
        self.used.retain(|(_, at)| now.saturating_duration_since(*at) <= FLOW_LIFETIME * 2);
        expired_now
    }

    /// Forgets every pending login (logout, or a login that finished).
    pub fn clear(&mut self, now: Instant) {
        let states: Vec<[u8; 32]> = self.flows.iter().map(|f| digest(f.state.secret())).collect();
        self.flows.clear();
        for d in states {
            self.remember_used(d, now);
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    fn remember_used(&mut self, digest: [u8; 32], now: Instant) {
        if self.used.len() >= MAX_USED {
            self.used.pop_front();
        }
        self.used.push_back((digest, now));
    }
}

fn digest(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_single_use() {
        let mut flows = PendingFlows::default();
        let t0 = Instant::now();
        let flow = flows.start(t0);
        assert!(flow.state.secret().len() >= 43);
        assert!(flows.take(flow.state.secret(), t0).is_ok());
        assert!(matches!(flows.take(flow.state.secret(), t0), Err(AuthError::ReplayedState)));
        assert!(flows.is_empty());
    }

    #[test]
    fn unknown_and_empty_states_are_refused_without_consuming_others() {
        let mut flows = PendingFlows::default();
        let t0 = Instant::now();
        let flow = flows.start(t0);
        assert!(matches!(flows.take("forged", t0), Err(AuthError::UnknownState)));
        assert!(matches!(flows.take("", t0), Err(AuthError::MissingState)));
        // A prefix of the real state is not the state.
        assert!(matches!(flows.take(&flow.state.secret()[..10], t0), Err(AuthError::UnknownState)));
        assert!(flows.take(flow.state.secret(), t0).is_ok());
    }

    #[test]
    fn states_expire_after_ten_minutes() {
        let mut flows = PendingFlows::default();
        let t0 = Instant::now();
        let a = flows.start(t0);
        let b = flows.start(t0);
        let late = t0 + FLOW_LIFETIME + Duration::from_secs(1);
        assert!(matches!(flows.take(a.state.secret(), late), Err(AuthError::ExpiredState)));
        assert_eq!(flows.expire(late), 1);
        assert!(flows.is_empty());
        assert!(matches!(flows.take(b.state.secret(), late), Err(AuthError::ReplayedState)));
        // Just inside the lifetime still works.
        let c = flows.start(t0);
        assert!(flows.take(c.state.secret(), t0 + FLOW_LIFETIME).is_ok());
    }

    #[test]
    fn pending_logins_are_bounded() {
        let mut flows = PendingFlows::default();
        let t0 = Instant::now();
        let first = flows.start(t0);
        for _ in 0..100 {
            flows.start(t0);
        }
        assert_eq!(flows.len(), MAX_PENDING);
        assert!(flows.take(first.state.secret(), t0).is_err());
    }

    #[test]
    fn page_visits_cannot_push_out_the_apps_login() {
        let mut flows = PendingFlows::default();
        let t0 = Instant::now();
        let artist = flows.start(t0);
        let first_visit = flows.start_from_page(t0);
        for _ in 0..10_000 {
            flows.start_from_page(t0);
        }
        assert_eq!(flows.len(), 1 + MAX_PENDING);
        assert!(matches!(flows.take(first_visit.state.secret(), t0), Err(AuthError::UnknownState)));
        assert!(flows.take(artist.state.secret(), t0).is_ok());
    }
}
