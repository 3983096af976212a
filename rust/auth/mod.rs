//! Spotify login: OAuth 2.1 authorization code with PKCE through a loopback server, token store,
//! refresh.
