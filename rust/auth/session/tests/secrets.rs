//! Sentinel secrets must never reach a log, a view, an error or Debug output.

use super::*;

/// A buffer the tracing subscriber writes into.
#[derive(Clone, Default)]
struct LogBuffer(Arc<StdMutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sentinel secrets go through a login, a refresh, a refusal and a logout; they must not
/// appear in logs, views, rows, warnings, errors or Debug output.
#[test]
fn secrets_never_leak() {
    const ACCESS: &str = "SENTINEL-ACCESS-5be1";
    const REFRESH: &str = "SENTINEL-REFRESH-77c0";
    const CODE: &str = "SENTINEL-CODE-0a9f";
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let mut shown: Vec<String> = Vec::new();
    let mut states: Vec<String> = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let fake = FakeServer::start(vec![
                Reply::json(200, &token_json(ACCESS, Some(REFRESH))),
                Reply::json(403, &format!("{{\"error\":\"{ACCESS}\"}}")),
                Reply::json(500, &format!("{{\"access_token\":\"{ACCESS}\"}}")),
                Reply::json(
                    400,
                    &format!("{{\"error\":\"invalid_grant\",\"error_description\":\"{REFRESH}\"}}"),
                ),
            ]);
            let dir = temp_dir("sentinel");
            let session = Session::new(config(&fake, &dir), Handle::current());
            let start = session.start_login().unwrap();
            shown.push(format!("{start:?} {session:?}"));
            let state = query(start.authorize_url.secret())["state"].clone();
            states.push(state.clone());
            let (_, page) = browse(&format!("{}?code={CODE}&state={state}", start.redirect_uri)).await;
            shown.push(page);
            let view = wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
            // Everything the engine copies into rows (engine::spotify::auth_state) comes from these.
            shown.push(format!("{view:?} {} {:?}", view.state.label(), view.problem));
            for _ in 0..2 {
                if let Err(e) = session.token_after_unauthorized(ACCESS).await {
                    shown.push(format!("{e} {e:?} {} {:?}", e.user_message(), TokenError::from(&e)));
                }
                let view = session.view();
                shown.push(format!("{view:?} {} {:?}", view.state.label(), view.problem));
            }
            shown.push(format!("{session:?}"));
        });
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Spotify login saved"), "logs were captured: {logs}");
    shown.push(logs);
    for text in &shown {
        for secret in [ACCESS, REFRESH, CODE, &states[0]] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
