//! Refreshing the access token under the token file's cross-process lock, and saving it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::OwnedMutexGuard;

use super::{lock, AuthState, Inner, SAVE_RETRY};
use crate::auth::error::Endpoint;
use crate::auth::oauth;
use crate::auth::secret::{constant_time_eq, AccessToken, RefreshToken};
use crate::auth::store::{unix, StoreLock, TokenRecord, TokenStore};
use crate::auth::AuthError;

/// After a refresh failed for a transient reason, wait this long before trying again (unless
/// the access token runs out first or Spotify says how long).
const REFRESH_RETRY: Duration = Duration::from_secs(30);
/// A token closer than this to expiry is not handed out after a failed refresh.
const STILL_VALID_MARGIN_S: i64 = 10;
/// Beyond the request timeout, how long a refresh waits for another process's refresh to end
/// before going ahead without the lock (an `invalid_grant` then still re-reads the file).
const LOCK_SLACK: Duration = Duration::from_secs(5);

impl Inner {
    /// Hands out the access token, refreshing it when due (`rejected: None`) or when the API
    /// rejected exactly the token we hold (`Some`).
    pub(super) async fn token(self: &Arc<Self>, rejected: Option<&str>) -> Result<AccessToken, AuthError> {
        let guard = Arc::clone(&self.tokens).lock_owned().await;
        let Some(record) = guard.as_ref() else {
            return Err(AuthError::NotLoggedIn);
        };
        let now = SystemTime::now();
        let forced = match rejected {
            // Someone refreshed while this caller's request was in flight: use the new token.
            Some(r) if !constant_time_eq(record.access_token.secret().as_bytes(), r.as_bytes()) => {
                return Ok(record.access_token.clone());
            }
            Some(_) => true,
            None if !record.needs_refresh(now) => return Ok(record.access_token.clone()),
            None => false,
        };
        let in_backoff = lock(&self.refresh_not_before).is_some_and(|t| Instant::now() < t);
        if !forced && in_backoff && record.expires_in(now) > STILL_VALID_MARGIN_S {
            return Ok(record.access_token.clone());
        }
        // In a task of its own: if this caller is cancelled, the refresh still completes and
        // the rotated refresh token is saved.
        let task = Arc::clone(self);
        match self.runtime.spawn(async move { task.refresh_locked(guard, forced).await }).await {
            Ok(result) => result,
            Err(_) => Err(AuthError::Interrupted),
        }
    }

    /// Refreshes the tokens held by `guard` and saves them, holding the store's lock so that no
    /// other process spends the same refresh token meanwhile.
    pub(super) async fn refresh_locked(
        self: Arc<Self>,
        mut guard: OwnedMutexGuard<Option<TokenRecord>>,
        forced: bool,
    ) -> Result<AccessToken, AuthError> {
        let Some(mut current) = guard.clone() else {
            return Err(AuthError::NotLoggedIn);
        };
        let (Some(endpoints), Some(store)) = (&self.endpoints, &self.store) else {
            return Err(self.check_config().err().unwrap_or(AuthError::NoStoreDir));
        };
        let _store_lock = self.lock_store(store).await;
        // Another process (the CLI, a second TouchDesigner) may have refreshed already; its
        // refresh token is the live one, and ours may have been rotated away.
        if let Some(newer) = self.newer_on_disk(store, &current) {
            // After a 401 the rejected token is no good, even if the file still holds it.
            let rejected_again = forced && newer.access_token == current.access_token;
            let fresh = !newer.needs_refresh(SystemTime::now()) && !rejected_again;
            current = newer;
            *guard = Some(current.clone());
            if fresh {
                return Ok(current.access_token);
            }
        }
        let mut reread = false;
        loop {
            let Some(refresh_token) = current.refresh_token.clone() else {
                return Err(
                    self.login_gone(&mut guard, AuthError::InvalidGrant { endpoint: Endpoint::Token })
                );
            };
            let now = SystemTime::now();
            let e = match oauth::refresh(&self.http, endpoints, &self.config.client_id, &refresh_token).await
            {
                Ok(granted) => return Ok(self.refreshed(guard, store, current, granted, refresh_token, now)),
                Err(e) => e,
            };
            if let AuthError::InvalidGrant { .. } = e {
                // Refused: another process that did not wait for the lock (or an older
                // td-spotify) may have spent it and saved the token that replaced it.
                if !reread {
                    reread = true;
                    if let Some(on_disk) = self.spent_elsewhere(store, &current) {
                        current = on_disk;
                        *guard = Some(current.clone());
                        if !current.needs_refresh(SystemTime::now()) && !forced {
                            return Ok(current.access_token);
                        }
                        continue;
                    }
                }
                return Err(self.login_gone(&mut guard, e));
            }
            return self.refresh_failed(e, current, now, forced);
        }
    }

    /// Keeps and saves what the token endpoint granted for `refresh_token`, asked at `now`.
    fn refreshed(
        &self,
        mut guard: OwnedMutexGuard<Option<TokenRecord>>,
        store: &TokenStore,
        current: TokenRecord,
        granted: oauth::Granted,
        refresh_token: RefreshToken,
        now: SystemTime,
    ) -> AccessToken {
        let lifetime = granted.lifetime;
        let record = TokenRecord {
            access_token: granted.access_token,
            // Spotify may omit the refresh token: keep the one we have.
            refresh_token: granted.refresh_token.or(Some(refresh_token)),
            expires_at: unix(now) + lifetime.as_secs(),
            lifetime_s: lifetime.as_secs(),
            scope: granted.scope.unwrap_or(current.scope),
            saved_at: unix(SystemTime::now()),
            ..current
        };
        let saved = store.save(&record);
        let token = record.access_token.clone();
        *guard = Some(record);
        drop(guard);
        *lock(&self.refresh_not_before) = None;
        tracing::info!(expires_in_s = lifetime.as_secs(), "Spotify access token refreshed");
        match saved {
            Ok(()) => {
                self.saved();
                self.clear_transient_problem();
            }
            Err(e) => self.save_failed(e),
        }
        token
    }

    /// After `invalid_grant`: the login another process saved with a refresh token other than
    /// the one just refused, if there is one.
    fn spent_elsewhere(&self, store: &TokenStore, current: &TokenRecord) -> Option<TokenRecord> {
        let on_disk = store.load(&self.config.client_id).ok()??;
        if on_disk.refresh_token.is_none() || on_disk.refresh_token == current.refresh_token {
            return None;
        }
        tracing::info!("refresh token refused; using the one another process saved");
        *lock(&self.unsaved) = None;
        Some(on_disk)
    }

    /// A 429, a 5xx, a timeout: the login is still good. Try again later, and meanwhile hand
    /// out the current token while it lasts (unless the API just rejected it).
    fn refresh_failed(
        &self,
        e: AuthError,
        current: TokenRecord,
        now: SystemTime,
        forced: bool,
    ) -> Result<AccessToken, AuthError> {
        let wait = match &e {
            AuthError::RateLimited { retry_after: Some(d), .. } => (*d).max(Duration::from_secs(1)),
            _ => REFRESH_RETRY,
        };
        *lock(&self.refresh_not_before) = Some(Instant::now() + wait);
        tracing::warn!(error = %e, "Spotify token refresh failed; keeping the login");
        self.set_problem(&e);
        if !forced && current.expires_in(now) > STILL_VALID_MARGIN_S {
            return Ok(current.access_token);
        }
        Err(e)
    }

    /// The store's lock, waited for on the runtime (never on TouchDesigner's thread) for as
    /// long as another process's refresh can take. `None` when it could not be had: the caller
    /// goes ahead, since a refresh refused because of the race re-reads the file anyway.
    pub(super) async fn lock_store(&self, store: &TokenStore) -> Option<StoreLock> {
        match store.lock(self.config.request_timeout + LOCK_SLACK).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::warn!(error = %e, "going ahead without the token file lock");
                None
            }
        }
    }

    /// The saved record, when it should replace `current`: it holds other tokens and is newer,
    /// or as new and ours is already saved. A login kept in memory after a failed save wins
    /// over an older file. An unreadable file is kept aside by the store and loses nothing:
    /// the login in memory is saved over it.
    fn newer_on_disk(&self, store: &TokenStore, current: &TokenRecord) -> Option<TokenRecord> {
        let on_disk = match store.load(&self.config.client_id) {
            Ok(on_disk) => on_disk?,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the saved login; keeping the one in memory");
                return None;
            }
        };
        let ours_unsaved = lock(&self.unsaved).is_some();
        let theirs_wins = !on_disk.same_tokens(current)
            && (on_disk.is_newer_than(current) || (!ours_unsaved && !current.is_newer_than(&on_disk)));
        if theirs_wins {
            *lock(&self.unsaved) = None;
        }
        theirs_wins.then_some(on_disk)
    }

    /// Saves the login that only memory holds (a save failed before), unless another process
    /// saved a newer one meanwhile.
    pub(super) async fn persist(self: Arc<Self>, mut guard: OwnedMutexGuard<Option<TokenRecord>>) {
        let (Some(store), Some(current)) = (&self.store, guard.clone()) else {
            *lock(&self.unsaved) = None;
            return;
        };
        let _store_lock = self.lock_store(store).await;
        if let Some(newer) = self.newer_on_disk(store, &current) {
            *guard = Some(newer);
            self.saved();
            return;
        }
        match store.save(&current) {
            Ok(()) => {
                tracing::info!("the login kept in memory is saved now");
                self.saved();
            }
            Err(e) => self.save_failed(e),
        }
    }

    /// The file holds the newest login (again).
    fn saved(&self) {
        if lock(&self.unsaved).take().is_some() {
            self.view.send_modify(|v| {
                v.problem = None;
                v.needs_fix = false;
            });
        }
    }

    /// The newest login could not be written: it stays in memory (and in use), the user is told,
    /// and the save is tried again.
    fn save_failed(&self, e: AuthError) {
        *lock(&self.unsaved) = Some(Instant::now() + SAVE_RETRY);
        let e = AuthError::Unsaved(Box::new(e));
        tracing::warn!(error = %e, cause = %e.user_message(), "could not save the Spotify login");
        self.set_problem(&e);
    }

    /// The refresh token was refused: forget the login (and its file, unless another process
    /// has saved a newer one meanwhile) and ask for a new one.
    fn login_gone(&self, guard: &mut Option<TokenRecord>, e: AuthError) -> AuthError {
        let ours = guard.take();
        if let (Some(store), Some(ours)) = (&self.store, ours) {
            match store.load(&self.config.client_id) {
                Ok(Some(on_disk)) if on_disk.refresh_token != ours.refresh_token => {}
                _ => {
                    if let Err(err) = store.remove() {
                        tracing::warn!(error = %err, "could not delete the refused login");
                    }
                }
            }
        }
        tracing::warn!(error = %e, "Spotify login is no longer valid");
        let reason = e.user_message();
        self.view.send_modify(|v| {
            if !matches!(v.state, AuthState::WaitingForBrowser { .. }) {
                v.state = AuthState::LoginRequired { reason: reason.clone() };
            }
            v.problem = Some(reason.clone());
            v.needs_fix = false;
        });
        e
    }
}
