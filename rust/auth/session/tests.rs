//! The session against a scripted token endpoint and its own loopback server.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::auth::pkce::{challenge_s256, random_string};
use crate::auth::secret::{PkceVerifier, RefreshToken};
use crate::auth::store::{unix, TokenStore};
use crate::auth::testutil::{FakeServer, Reply};

const CLIENT: &str = "testclient";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-spotify-session-{name}-{}", random_string(6)));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(fake: &FakeServer, dir: &std::path::Path) -> SessionConfig {
    SessionConfig {
        client_id: CLIENT.into(),
        port: 0,
        cache_dir: Some(dir.to_path_buf()),
        accounts_url: fake.url(),
        api_url: fake.url(),
        open_browser: false,
        request_timeout: Duration::from_secs(5),
    }
}

fn record(access: &str, refresh: &str, expires_in: i64) -> TokenRecord {
    let now = unix(SystemTime::now()) as i64;
    TokenRecord {
        version: 1,
        client_id: CLIENT.into(),
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at: (now + expires_in) as u64,
        lifetime_s: 3600,
        scope: String::new(),
        user: Some("Ada".into()),
        saved_at: 0,
    }
}

fn token_json(access: &str, refresh: Option<&str>) -> String {
    match refresh {
        Some(r) => format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"refresh_token":"{r}"}}"#
        ),
        None => format!(r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600}}"#),
    }
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// GET on the loopback server, as the browser would.
async fn browse(url: &str) -> (u16, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn wait_for(session: &Session, what: impl Fn(&AuthView) -> bool) -> AuthView {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        session.tick();
        let view = session.view();
        if what(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "timed out; view: {view:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn port_of(start: &LoginStart) -> u16 {
    url::Url::parse(&start.login_url).unwrap().port().unwrap()
}

async fn browse_owned(url: String) -> (u16, String) {
    browse(&url).await
}

mod login;
mod refresh;
mod secrets;
