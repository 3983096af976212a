//! Keeping a login: refresh, refusal, transient failures and the token file shared with other processes.

use super::*;

#[tokio::test]
async fn refresh_keeps_a_rotated_token_and_the_old_one_when_omitted() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A2", Some("R2"))),
        Reply::json(200, &token_json("A3", None)),
    ]);
    let dir = temp_dir("rotate");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 60)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // Due within five minutes of expiry: refreshed proactively.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    // Not due: no request.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    // A 401 on A2 refreshes once; the response omits the refresh token, R2 stays.
    assert_eq!(session.token_after_unauthorized("A2").await.unwrap().secret(), "A3");
    // A stale 401 (for a token already replaced) does not refresh again.
    assert_eq!(session.token_after_unauthorized("A2").await.unwrap().secret(), "A3");
    let saved = store.load(CLIENT).unwrap().unwrap();
    assert_eq!(saved.access_token.secret(), "A3");
    assert_eq!(saved.refresh_token.unwrap().secret(), "R2");
    assert_eq!(saved.user.as_deref(), Some("Ada"));
    let sent: Vec<_> = fake.requests().iter().map(|r| r.form_decoded("refresh_token").unwrap()).collect();
    assert_eq!(sent, ["R1", "R2"]);
    assert_eq!(fake.requests()[0].form_decoded("client_id").as_deref(), Some(CLIENT));
    assert_eq!(session.state(), AuthState::LoggedIn { user: Some("Ada".into()) });
}

#[tokio::test]
async fn invalid_grant_clears_the_session_and_asks_for_a_login() {
    let fake = FakeServer::start(vec![Reply::json(
        400,
        r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#,
    )]);
    let dir = temp_dir("invalid");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", -5)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let err = session.valid_token().await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidGrant { .. }));
    let view = session.view();
    assert!(matches!(&view.state, AuthState::LoginRequired { reason } if reason.contains("pulse Login")));
    assert_eq!(store.load(CLIENT).unwrap(), None);
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(err, TokenError::LoginRequired { .. }));
    // What the engine's `state` row shows (engine::spotify::auth_state).
    assert_eq!(view.state.label(), "login required");
}

#[tokio::test]
async fn transient_refresh_failures_never_wipe_the_session() {
    let fake = FakeServer::start(vec![
        Reply::json(503, "<html>down</html>"),
        Reply::json(429, "{}").header("Retry-After", "3"),
        Reply::hang(),
        Reply::json(200, &token_json("A2", Some("R2"))),
    ]);
    let dir = temp_dir("transient");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 120)).unwrap();
    let before = fs::read(store.path()).unwrap();
    let session = Session::new(
        SessionConfig { request_timeout: Duration::from_millis(300), ..config(&fake, &dir) },
        Handle::current(),
    );
    // Proactive refresh fails with 503: the still-valid token is handed out.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A1");
    assert!(session.view().problem.unwrap().contains("503"));
    // A 401 forces a refresh: 429, then a timeout; both are errors but the login stays.
    let err = session.token_after_unauthorized("A1").await.unwrap_err();
    assert!(matches!(err, AuthError::RateLimited { .. }));
    let err = session.token_after_unauthorized("A1").await.unwrap_err();
    assert!(matches!(err, AuthError::Network { timed_out: true, .. }), "{err:?}");
    assert!(matches!(session.access_token().await, Ok(t) if t == "A1"), "backoff hands out the valid token");
    assert_eq!(fs::read(store.path()).unwrap(), before);
    assert!(matches!(session.state(), AuthState::LoggedIn { .. }));
    assert_eq!(session.token_after_unauthorized("A1").await.unwrap().secret(), "A2");
    assert_eq!(session.view().problem, None, "recovery clears the warning");
}

#[tokio::test]
async fn a_cancelled_caller_does_not_lose_the_rotated_token() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A2", Some("R2"))).delayed(Duration::from_millis(300))
    ]);
    let dir = temp_dir("cancel");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let cut_short = tokio::time::timeout(Duration::from_millis(50), session.valid_token()).await;
    assert!(cut_short.is_err(), "the caller gave up");
    // The refresh finishes anyway and its rotated token is saved.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn another_process_refresh_is_adopted_not_repeated() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("adopt");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 30)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // The CLI refreshed meanwhile and rotated R1 away.
    store.save(&record("A2", "R2", 3600)).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_failed_save_keeps_the_rotated_token_in_memory_and_saves_it_later() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("unsaved");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // The file cannot be replaced now (works as root too, unlike a read-only folder).
    fs::remove_file(store.path()).unwrap();
    fs::create_dir(store.path()).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    let view = session.view();
    assert!(matches!(view.state, AuthState::LoggedIn { .. }));
    let problem = view.problem.unwrap();
    assert!(problem.contains("kept in memory"), "{problem}");
    assert!(view.needs_fix);
    // R1 is spent: the next refresh would need R2, which only memory holds. It is saved as
    // soon as the file can be written again.
    fs::remove_dir(store.path()).unwrap();
    wait_for(&session, |v| v.problem.is_none()).await;
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
}

#[tokio::test]
async fn invalid_grant_rereads_the_file_before_asking_for_a_login() {
    let fake = FakeServer::start(vec![
        Reply::json(400, r#"{"error":"invalid_grant"}"#).delayed(Duration::from_millis(300)),
        Reply::json(200, &token_json("A3", Some("R3"))),
    ]);
    let dir = temp_dir("reread");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let refresh = session.valid_token();
    // A process that does not take the lock (an older td-spotify) spends R1 meanwhile.
    let other = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fs::write(
            store.path(),
            serde_json::to_vec(&TokenRecord { saved_at: 5, ..record("A2", "R2", 1) }).unwrap(),
        )
        .unwrap();
    };
    let (token, ()) = tokio::join!(refresh, other);
    assert_eq!(token.unwrap().secret(), "A3");
    let seen = fake.requests();
    assert_eq!(seen[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(seen[1].form_decoded("refresh_token").as_deref(), Some("R2"));
    assert!(matches!(session.state(), AuthState::LoggedIn { .. }));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R3");
}

#[tokio::test]
async fn an_older_file_never_replaces_the_newer_login_in_memory() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("older");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // Someone restores an old copy of the file (a backup, a synced folder).
    store.save(&TokenRecord { saved_at: 1, ..record("A0", "R0", -3600) }).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(fake.requests()[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
}

#[tokio::test]
async fn a_file_corrupted_while_logged_in_is_kept_aside_and_the_login_saved_again() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("corrupt-live");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    fs::write(store.path(), b"{\"version\":1,\"access_tok").unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(fake.requests()[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    let kept: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "kept aside, not deleted");
    assert_eq!(fs::read(&kept[0]).unwrap(), b"{\"version\":1,\"access_tok");
}

#[tokio::test]
async fn the_store_lock_is_exclusive_across_sessions() {
    let dir = temp_dir("lock");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    let held = store.try_lock().unwrap().expect("free at first");
    // Another open file description (another process, or another session) must wait...
    assert!(store.try_lock().unwrap().is_none());
    let waited = Instant::now();
    let err = store.lock(Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(err, AuthError::StoreBusy { .. }), "{err:?}");
    assert!(waited.elapsed() >= Duration::from_millis(100));
    // ...until the holder lets go.
    drop(held);
    let _again = store.lock(Duration::from_millis(100)).await.unwrap();
}
