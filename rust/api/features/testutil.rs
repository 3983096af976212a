//! A scripted Web API and recorded bodies for this module's tests.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::api::{ApiClient, ClientOptions, StaticToken};

/// A scripted Web API on a loopback port: `route` answers each request's path with a status,
/// a body and optional extra headers; every request's path and bearer token are recorded.
pub(super) struct FakeApi {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    hits: Arc<std::sync::Mutex<Vec<String>>>,
    url: String,
}

type Route = fn(&str) -> (u16, String, Vec<(&'static str, &'static str)>);

impl FakeApi {
    pub(super) fn start(route: Route) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let url = format!("http://{}", server.server_addr().to_ip().expect("ip address"));
        let hits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, h) = (Arc::clone(&server), Arc::clone(&hits));
        let thread = std::thread::spawn(move || {
            for request in s.incoming_requests() {
                let auth = request
                    .headers()
                    .iter()
                    .find(|hd| hd.field.equiv("Authorization"))
                    .map(|hd| hd.value.to_string())
                    .unwrap_or_default();
                h.lock().unwrap().push(format!("{} {}", request.url(), auth));
                let (status, body, headers) = route(request.url());
                let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                for (k, v) in headers {
                    response.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
                }
                let _ = request.respond(response);
            }
        });
        FakeApi { server, thread: Some(thread), hits, url }
    }

    pub(super) fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeApi {
    /// The Web API client the engine uses, pointed at this fake.
    pub(super) fn client(&self) -> ApiClient {
        let options = ClientOptions {
            api_url: self.url.clone(),
            ..ClientOptions::from_config(&crate::config::SpotifyConfig::default())
        };
        ApiClient::new(options).unwrap()
    }
}

pub(super) fn token(t: &str) -> StaticToken {
    StaticToken::new(t, "test")
}

pub(super) const FEATURES: &str = r#"{"danceability":0.735,"energy":0.578,"key":5,"loudness":-11.84,"mode":0,
    "speechiness":0.0461,"acousticness":0.514,"instrumentalness":0.0902,"liveness":0.159,
    "valence":0.636,"tempo":98.002,"type":"audio_features","id":"06AKEBrKUckW0KREUWRnvT",
    "uri":"spotify:track:06AKEBrKUckW0KREUWRnvT","duration_ms":255349,"time_signature":4}"#;

pub(super) const ANALYSIS: &str = r#"{"meta":{"analyzer_version":"4.0.0"},"track":{"tempo":98.002},
    "bars":[{"start":0.49,"duration":2.4,"confidence":0.9},{"start":2.9,"duration":2.4,"confidence":0.8}],
    "beats":[{"start":0.49,"duration":0.6,"confidence":0.9},null,{"start":"oops"},
             {"start":1.1,"duration":0.6,"confidence":0.9},{"start":1.7,"duration":0.6}],
    "sections":[{"start":0.0,"duration":20.1,"loudness":-14.9,"tempo":98.0,"key":5},{"start":20.1}],
    "segments":[{"start":0.0,"duration":0.4,"loudness_start":-60.0,"loudness_max":-20.0,
                 "loudness_max_time":0.1,"pitches":[0.1,0.2],"timbre":[1.0,2.0]}],
    "tatums":[{"start":0.49}]}"#;
