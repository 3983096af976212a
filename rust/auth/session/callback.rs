//! Requests the loopback server reads, answered on its thread: the callback and `/login`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::login::Exchange;
use super::{lock, Inner};
use crate::auth::loopback::{Connection, LoopbackServer, Request, Response};
use crate::auth::oauth;
use crate::auth::pages::{page, Tone};
use crate::auth::secret::AuthCode;
use crate::auth::AuthError;

/// Every request the loopback server reads comes here, on its thread.
pub(super) fn on_request(weak: &Weak<Inner>, req: Request, conn: Connection) {
    let Some(inner) = weak.upgrade() else {
        return conn.respond(&problem_page(503, "Not logging in", "td-spotify is not waiting for a login."));
    };
    let port = lock(&inner.login).server.as_ref().map(LoopbackServer::port);
    // A page elsewhere that makes the browser resolve its own name to 127.0.0.1 (DNS rebinding)
    // sends its own Host: only our own address is served.
    let host_ok = req.host.as_deref().is_some_and(|h| {
        port.is_some_and(|p| {
            h.eq_ignore_ascii_case(&format!("127.0.0.1:{p}"))
                || h.eq_ignore_ascii_case(&format!("localhost:{p}"))
        })
    });
    match req.path.as_str() {
        "/callback" | "/login" if !host_ok => conn.respond(&problem_page(
            421,
            "Wrong address",
            "Open this page at http://127.0.0.1:PORT/ only.",
        )),
        "/callback" => inner.on_callback(&req, conn),
        // A page elsewhere can make the browser request /login (an image, a frame, a form), but
        // only the artist opening the link starts a login: browsers mark the others.
        "/login" if req.fetch_site.as_deref().is_some_and(|s| s == "cross-site" || s == "same-site") => conn
            .respond(&problem_page(
                403,
                "Open the login link yourself",
                "Another page asked for this login page. Open the link from TouchDesigner (auth_url) or \
                 td-spotify login instead.",
            )),
        "/login" => inner.on_login(conn),
        "/" => conn.respond(&Response::html(
            200,
            page(
                Tone::Cancelled,
                "Waiting for Spotify",
                "td-spotify is waiting for Spotify's answer. Open /login on this address to start a login.",
            ),
        )),
        "/favicon.ico" => conn.respond(&Response { status: 404, headers: Vec::new(), body: String::new() }),
        _ => conn.respond(&problem_page(404, "Not found", "Nothing here: the login page is /login.")),
    }
}

impl Inner {
    /// `/callback`, on the server thread: checks the state and hands the code over.
    fn on_callback(self: &Arc<Self>, req: &Request, conn: Connection) {
        let (Ok(state), Ok(code), Ok(error)) = (req.single("state"), req.single("code"), req.single("error"))
        else {
            return conn.respond(&problem_page(400, "Malformed login answer", "A parameter appears twice."));
        };
        let taken = {
            let mut login = lock(&self.login);
            let taken = login.flows.take(state.unwrap_or(""), Instant::now());
            // Set before the lock is released, so no tick can time the attempt out meanwhile.
            if taken.is_ok() && error.is_none() && code.is_some_and(|c| !c.is_empty()) {
                login.exchanging = true;
            }
            taken
        };
        let verifier = match taken {
            Ok(v) => v,
            Err(e) => {
                // Not ours: the login in progress goes on (a forged request must not end it).
                tracing::warn!(error = %e, "login callback refused");
                return conn.respond(&problem_page(400, "Login link not valid", &e.user_message()));
            }
        };
        if let Some(error) = error {
            let e = if error == "access_denied" {
                AuthError::AccessDenied
            } else {
                AuthError::AuthorizeFailed { code: oauth::sanitize_code(error) }
            };
            let response = if matches!(e, AuthError::AccessDenied) {
                Response::html(200, page(Tone::Cancelled, "Login cancelled", &e.user_message()))
            } else {
                problem_page(400, "Spotify refused the login", &e.user_message())
            };
            conn.respond(&response);
            return self.fail_attempt(&e);
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            conn.respond(&problem_page(400, "No code", &AuthError::MissingCode.user_message()));
            return self.fail_attempt(&AuthError::MissingCode);
        };
        let exchange = Exchange {
            code: AuthCode::new(code),
            verifier,
            conn,
            received: Instant::now(),
            redirect_uri: lock(&self.login).redirect_uri.clone(),
            generation: self.generation.load(Ordering::Acquire),
        };
        let inner = Arc::clone(self);
        self.runtime.spawn(async move { inner.complete_login(exchange).await });
    }

    /// `/login`, on the server thread: a new flow, and the browser goes to Spotify.
    fn on_login(self: &Arc<Self>, conn: Connection) {
        if lock(&self.login).server.is_none() {
            let message = "No login is in progress here: pulse Login (or run td-spotify login).";
            return conn.respond(&problem_page(503, "Not logging in", message));
        }
        match self.start_login(false) {
            Ok(start) => conn.respond(&Response::redirect(start.authorize_url.secret())),
            Err(e) => conn.respond(&problem_page(500, "Could not start a login", &e.user_message())),
        }
    }
}

pub(super) fn problem_page(status: u16, title: &str, message: &str) -> Response {
    Response::html(status, page(Tone::Problem, title, message))
}
