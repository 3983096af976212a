//! Logging in through the loopback server: callbacks, refusals, timeouts, logout.

use super::*;

#[tokio::test]
async fn login_through_the_loopback_server_saves_tokens_and_names_the_user() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada Lovelace","id":"ada"}"#),
    ]);
    let dir = temp_dir("login");
    let session = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(session.state(), AuthState::LoggedOut);
    let start = session.start_login().unwrap();
    let port = port_of(&start);
    assert_eq!(start.redirect_uri, format!("http://127.0.0.1:{port}/callback"));
    assert!(matches!(session.state(), AuthState::WaitingForBrowser { url } if url == start.login_url));
    let q = query(start.authorize_url.secret());
    assert_eq!(q["redirect_uri"], start.redirect_uri);

    let (status, body) = browse(&format!("{}?code=THE-CODE&state={}", start.redirect_uri, q["state"])).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in to Spotify as Ada Lovelace"), "{body}");
    let view = wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
    assert_eq!(view.state, AuthState::LoggedIn { user: Some("Ada Lovelace".into()) });
    assert_eq!(view.problem, None);

    // The exchange sent the code, the redirect URI and a verifier that matches the challenge.
    let seen = fake.requests();
    assert_eq!(seen[0].form_decoded("code").as_deref(), Some("THE-CODE"));
    assert_eq!(seen[0].form_decoded("redirect_uri"), Some(start.redirect_uri.clone()));
    let verifier = PkceVerifier::new(seen[0].form_decoded("code_verifier").unwrap());
    assert_eq!(challenge_s256(&verifier), q["code_challenge"]);
    assert_eq!(seen[1].path, "/v1/me");

    let stored = TokenStore::new(Some(&dir), CLIENT).unwrap().load(CLIENT).unwrap().unwrap();
    assert_eq!(stored.access_token.secret(), "A1");
    assert_eq!(stored.refresh_token.unwrap().secret(), "R1");
    assert_eq!(stored.user.as_deref(), Some("Ada Lovelace"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(session.store_path().unwrap()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(session.last_login_latency().is_some());
    assert_eq!(session.valid_token().await.unwrap().secret(), "A1");

    // The server stops once the login is done: a replay finds nobody listening.
    session.tick();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    // A new session (a restart) is logged in from the store.
    drop(session);
    let again = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(again.state(), AuthState::LoggedIn { user: Some("Ada Lovelace".into()) });
}

#[tokio::test]
async fn forged_replayed_and_malformed_callbacks_are_refused_and_the_login_goes_on() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada"}"#),
    ]);
    let dir = temp_dir("forged");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let first = session.start_login().unwrap();
    let second = session.start_login().unwrap();
    assert_eq!(port_of(&first), port_of(&second), "one server for both");
    let base = first.redirect_uri.clone();
    let state1 = query(first.authorize_url.secret())["state"].clone();
    let state2 = query(second.authorize_url.secret())["state"].clone();

    let (status, body) = browse(&format!("{base}?code=x&state=forged")).await;
    assert_eq!(status, 400);
    assert!(body.contains("does not belong to a login in progress"), "{body}");
    let (status, _) = browse(&format!("{base}?code=x")).await;
    assert_eq!(status, 400);
    let (status, body) = browse(&format!("{base}?code=x&state={state1}&state={state1}")).await;
    assert_eq!(status, 400, "{body}");
    // Wrong Host (DNS rebinding): refused before the state is looked at.
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}?code=x&state={state1}"))
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 421);
    let (status, _) = browse(&base.replace("/callback", "/nope")).await;
    assert_eq!(status, 404);
    assert!(matches!(session.state(), AuthState::WaitingForBrowser { .. }));

    // /login starts yet another flow and sends the browser to the authorize page.
    let (status, _) = browse(&first.login_url).await;
    assert_eq!(status, 302);

    // The second flow completes; the first is cleared with it.
    let (status, body) = browse(&format!("{base}?code=C&state={state2}")).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
    assert_eq!(fake.requests().len(), 2, "forged callbacks never reached the token endpoint");

    // Replaying the used state on a new login's server is refused as such.
    let third = session.start_login().unwrap();
    let (status, body) = browse(&format!("{}?code=C&state={state2}", third.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("already used"), "{body}");
    session.logout().await.unwrap();
}

#[tokio::test]
async fn denying_access_keeps_the_previous_session() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("deny");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A0", "R0", 3600)).unwrap();
    let before = fs::read(store.path()).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(session.state(), AuthState::LoggedIn { user: Some("Ada".into()) });
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?error=access_denied&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 200);
    assert!(body.contains("Login cancelled"), "{body}");
    // The browser is answered first (a CLI waiting on the view must not exit before that).
    let view = wait_for(&session, |v| v.problem.is_some()).await;
    assert_eq!(view.state, AuthState::LoggedIn { user: Some("Ada".into()) });
    assert!(view.problem.unwrap().contains("not allowed"));
    assert!(!view.needs_fix);
    assert_eq!(fs::read(store.path()).unwrap(), before);
    assert_eq!(session.valid_token().await.unwrap().secret(), "A0");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_callback_without_code_or_with_another_error_ends_the_login() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("nocode");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?state={state}", start.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("no authorization code"), "{body}");
    wait_for(&session, |v| v.state == AuthState::LoggedOut).await;

    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?error=invalid_client&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("check Clientid"), "{body}");
    wait_for(&session, |v| v.needs_fix).await;
}

#[tokio::test]
async fn an_unfinished_login_expires_after_ten_minutes() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("expire");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    session.tick_at(Instant::now() + Duration::from_secs(11 * 60));
    let view = session.view();
    assert_eq!(view.state, AuthState::LoggedOut);
    assert!(view.problem.unwrap().contains("10 minutes"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port_of(&start))).is_err());
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let fake = FakeServer::start(vec![]);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let session = Session::new(SessionConfig { port, ..config(&fake, &temp_dir("port")) }, Handle::current());
    let err = session.start_login().unwrap_err();
    assert!(matches!(err, AuthError::PortInUse { .. }));
    let view = session.view();
    assert!(view.problem.unwrap().contains(&port.to_string()));
    assert!(view.needs_fix);
    assert_eq!(view.state, AuthState::LoggedOut);
}

#[tokio::test]
async fn logout_during_the_exchange_wins() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))).delayed(Duration::from_millis(1500)),
        Reply::json(200, "{}"),
    ]);
    let dir = temp_dir("logout");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let callback = tokio::spawn(browse_owned(format!("{}?code=C&state={state}", start.redirect_uri)));
    // Log out once the exchange is under way (the token endpoint holds its answer meanwhile).
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.requests().is_empty() {
        assert!(Instant::now() < deadline, "the exchange never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.logout().await.unwrap();
    let (status, body) = callback.await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(session.state(), AuthState::LoggedOut);
    assert!(!session.store_path().unwrap().exists());
}

#[tokio::test]
async fn requests_for_the_login_page_cannot_crowd_out_the_artists_login() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada"}"#),
    ]);
    let dir = temp_dir("crowd");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    // A page elsewhere makes the browser ask for /login over and over.
    for _ in 0..40 {
        let (status, _) = browse(&start.login_url).await;
        assert_eq!(status, 302);
    }
    // Browsers mark requests another page made; those do not even start a login.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for site in ["cross-site", "same-site"] {
        let r = http.get(&start.login_url).header("Sec-Fetch-Site", site).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{site}");
    }
    let r = http.get(&start.login_url).header("Sec-Fetch-Site", "none").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "the artist opening the link");
    // The artist's own login still completes.
    let (status, body) = browse(&format!("{}?code=C&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
}
