//! `[api]`: where `newspipe serve` listens and the limits it enforces (docs/api.md lists them all).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// HOST:PORT to listen on; `newspipe serve --listen` overrides it.
    pub listen: String,
    /// Open every GET (the API's reads and the web pages) to callers without a token.
    pub public_read: bool,
    /// Requests per second each caller (a token, or an address without one) may make, on average.
    pub requests_per_second: f64,
    /// How many requests a caller may make at once above that rate.
    pub burst: u32,
    /// Failed authentications an address may make per minute before it is refused with 429 for a while.
    pub auth_failures_per_minute: u32,
    /// The largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// The longest query string accepted (bytes).
    pub max_query_bytes: usize,
    /// Every handler's time limit, and every database statement's (seconds).
    pub request_timeout_secs: u64,
    /// How long a client may take to send its request's headers (seconds): slow clients are cut off.
    pub header_timeout_secs: u64,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Origins allowed to call the API from a browser (CORS); empty: no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Trust `X-Forwarded-Proto: https` from a proxy in front: the login cookie is then marked Secure.
    pub trust_forwarded_proto: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            listen: "127.0.0.1:8080".into(),
            public_read: false,
            requests_per_second: 20.0,
            burst: 50,
            auth_failures_per_minute: 20,
            max_body_bytes: 1024 * 1024,
            max_query_bytes: 4096,
            request_timeout_secs: 15,
            header_timeout_secs: 10,
            max_connections: 1024,
            cors_origins: Vec::new(),
            trust_forwarded_proto: false,
        }
    }
}
