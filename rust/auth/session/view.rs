//! What the user sees of a session, kept apart so the state machine reads as data.

/// Where a login stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthState {
    /// No saved login.
    LoggedOut,
    /// A login is in progress. `url` is the loopback `/login` page (it carries no secret): open
    /// it in a browser on this computer to log in.
    WaitingForBrowser { url: String },
    /// Tokens are saved; `user` is the display name from `/v1/me`, when known.
    LoggedIn { user: Option<String> },
    /// The saved login stopped working; `reason` says why and what to do.
    LoginRequired { reason: String },
}

impl AuthState {
    /// The `auth_state` row's wording.
    pub fn label(&self) -> &'static str {
        match self {
            AuthState::LoggedOut => "logged out",
            AuthState::WaitingForBrowser { .. } => "waiting for browser",
            AuthState::LoggedIn { .. } => "logged in",
            AuthState::LoginRequired { .. } => "login required",
        }
    }
}

/// What the user sees of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthView {
    pub state: AuthState,
    /// The last problem, as a short actionable sentence; `None` when all is well.
    pub problem: Option<String>,
    /// Whether the problem needs more than pulsing Login (TouchDesigner shows it in red).
    pub needs_fix: bool,
    /// How the last login attempt ended; `None` while one runs or before any.
    pub last_login: Option<LoginOutcome>,
}

impl AuthView {
    pub(super) fn new(state: AuthState) -> AuthView {
        AuthView { state, problem: None, needs_fix: false, last_login: None }
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Succeeded,
    Failed,
}
