//! Who may do what: tokens with a scope (`read` < `submit` < `admin`), sent as `Authorization: Bearer TOKEN`
//! (or, for reads and the web pages, in the login cookie). A token is `np_<prefix>_<secret>`: the prefix finds
//! its row, the SHA-256 digest of the whole token is compared in constant time, and the row is read on every
//! request, so a revoked token is refused at once by every replica. Failed attempts are counted per address
//! and, past `api.auth_failures_per_minute`, refused with 429 for a while.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use newspipe_db::Database;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::events::{AuthFailed, AuthFailure};
use crate::problem::Problem;

/// The login cookie of the web pages: it holds the token itself (HttpOnly: no script reads it).
pub const SESSION_COOKIE: &str = "newspipe_session";

/// What a token may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Submit,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Submit => "submit",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "read" => Some(Scope::Read),
            "submit" => Some(Scope::Submit),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A new token: what is shown once, and what is kept.
pub struct NewToken {
    pub token: String,
    pub prefix: String,
    pub digest: [u8; 32],
}

/// Makes a token from 8 random bytes of prefix and 32 of secret (the operating system's generator).
pub fn new_token() -> NewToken {
    let mut prefix = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut prefix).expect("the operating system's random generator");
    getrandom::fill(&mut secret).expect("the operating system's random generator");
    let prefix = hex::encode(prefix);
    let token = format!("np_{prefix}_{}", hex::encode(secret));
    let digest = digest(&token);
    NewToken { token, prefix, digest }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The prefix of a well-formed token.
fn prefix_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("np_")?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(prefix, 16) && hex(secret, 64)).then_some(prefix)
}

/// A caller who presented a valid token (or none, where reading is public).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name; `None` for an anonymous reader.
    pub name: Option<String>,
    pub scope: Scope,
}

/// Why a request was not let in.
#[derive(Debug)]
pub enum Refusal {
    /// No token where one is needed, or one that is not valid (401).
    Unauthenticated(&'static str),
    /// A valid token without the scope (403).
    Forbidden { needed: Scope, has: Scope },
    /// Too many failed attempts from this address (429).
    TooManyFailures(Duration),
    /// The tokens could not be read (503).
    Unavailable(Problem),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthenticated(why) => {
                let mut response =
                    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", why).into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Refusal::Forbidden { needed, has } => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this needs a token with the `{}` scope; this one has `{}`",
                    needed.as_str(),
                    has.as_str()
                ),
            )
            .into_response(),
            Refusal::TooManyFailures(wait) => {
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_failed_attempts",
                    format!(
                        "too many failed authentications from this address; retry in {}s",
                        wait.as_secs().max(1)
                    ),
                )
                .into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
                response
            }
            Refusal::Unavailable(problem) => problem.into_response(),
        }
    }
}

/// Checks tokens, and counts and limits failed attempts per address.
pub struct Authenticator {
    database: Database,
    public_read: bool,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused until a time, after they used up their failures.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Authenticator {
    pub fn new(database: Database, public_read: bool, failures_per_minute: u32) -> Authenticator {
        let per_minute = NonZeroU32::new(failures_per_minute.max(1)).expect("at least 1");
        Authenticator {
            database,
            public_read,
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    pub fn public_read(&self) -> bool {
        self.public_read
    }

    /// Checks a token typed into the login form as if it came in a bearer header.
    pub async fn check_token(
        &self,
        token: &str,
        peer: Option<IpAddr>,
        needed: Scope,
    ) -> Result<Caller, Refusal> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| Refusal::Unauthenticated("the token is not valid"))?;
        headers.insert(header::AUTHORIZATION, value);
        self.check(&Method::POST, &headers, peer, needed).await
    }

    /// Who is calling, if they may do what needs `needed`.
    pub async fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        needed: Scope,
    ) -> Result<Caller, Refusal> {
        let anonymous_reader = needed == Scope::Read && self.public_read;
        match presented_token(method, headers) {
            Presented::None if anonymous_reader => Ok(Caller { name: None, scope: Scope::Read }),
            Presented::None => {
                Err(Refusal::Unauthenticated("this needs a token: send `Authorization: Bearer TOKEN`"))
            }
            Presented::Malformed => Err(self.failed(
                peer,
                AuthFailure::Malformed,
                "the Authorization header is not `Bearer TOKEN`",
            )),
            Presented::Bearer(token) => self.verify(&token, peer, needed).await,
            // A stale login cookie where reading is open: read as anyone may, rather than be sent to log in.
            Presented::Cookie(token) if anonymous_reader => match self.verify(&token, peer, needed).await {
                Err(Refusal::Unauthenticated(_)) => Ok(Caller { name: None, scope: Scope::Read }),
                other => other,
            },
            Presented::Cookie(token) => self.verify(&token, peer, needed).await,
        }
    }

    /// Checks a presented token: well-formed, known, its digest equal (in constant time), not revoked, and of
    /// the scope needed.
    async fn verify(&self, token: &str, peer: Option<IpAddr>, needed: Scope) -> Result<Caller, Refusal> {
        if let Some(wait) = self.blocked_for(peer) {
            return Err(Refusal::TooManyFailures(wait));
        }
        let Some(prefix) = prefix_of(token) else {
            return Err(self.failed(peer, AuthFailure::Unknown, "the token is not valid"));
        };
        let record = self
            .database
            .token_by_prefix(prefix)
            .await
            .map_err(|e| Refusal::Unavailable(Problem::unavailable("the token store", &e)))?;
        let presented = digest(token);
        let Some(record) = record else {
            // The same work as a known prefix, so a miss is not told apart by its time.
            let _ = presented.ct_eq(&[0u8; 32]);
            return Err(self.failed(peer, AuthFailure::Unknown, "the token is not valid"));
        };
        if !bool::from(presented.as_slice().ct_eq(record.digest.as_slice())) {
            return Err(self.failed(peer, AuthFailure::Unknown, "the token is not valid"));
        }
        if record.revoked_at.is_some() {
            return Err(self.failed(peer, AuthFailure::Revoked, "the token has been revoked"));
        }
        let scope = Scope::parse(&record.scope).unwrap_or(Scope::Read);
        if scope < needed {
            return Err(Refusal::Forbidden { needed, has: scope });
        }
        Ok(Caller { name: Some(record.name), scope })
    }

    fn failed(&self, peer: Option<IpAddr>, why: AuthFailure, detail: &'static str) -> Refusal {
        crate::events::emit(AuthFailed { why });
        let Some(peer) = peer else { return Refusal::Unauthenticated(detail) };
        match self.failures.check_key(&peer) {
            Ok(()) => Refusal::Unauthenticated(detail),
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
                let wait = wait.max(Duration::from_secs(1));
                let mut blocked = self.blocked.lock().expect("blocked lock");
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                blocked.insert(peer, now + wait);
                Refusal::TooManyFailures(wait)
            }
        }
    }

    fn blocked_for(&self, peer: Option<IpAddr>) -> Option<Duration> {
        let peer = peer?;
        let blocked = self.blocked.lock().expect("blocked lock");
        blocked.get(&peer).and_then(|until| until.checked_duration_since(Instant::now()))
    }
}

enum Presented {
    None,
    Malformed,
    Bearer(String),
    Cookie(String),
}

/// The token of a request: its bearer header, or, for a read (GET or HEAD), the login cookie. A write is
/// never authorised by a cookie, so no other site can make a browser submit on its user's behalf.
fn presented_token(method: &Method, headers: &HeaderMap) -> Presented {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else { return Presented::Malformed };
        let mut parts = value.trim().splitn(2, ' ');
        return match (parts.next(), parts.next()) {
            (Some(scheme), Some(token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Presented::Bearer(token.trim().to_string())
            }
            _ => Presented::Malformed,
        };
    }
    if matches!(*method, Method::GET | Method::HEAD)
        && let Some(token) = session_cookie(headers)
    {
        return Presented::Cookie(token);
    }
    Presented::None
}

/// The login cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// The address a request came from (set by the server for each connection).
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// The scope an extractor requires.
pub trait Required: Send + Sync {
    const SCOPE: Scope;
}

pub struct ReadScope;
pub struct SubmitScope;
pub struct AdminScope;

impl Required for ReadScope {
    const SCOPE: Scope = Scope::Read;
}
impl Required for SubmitScope {
    const SCOPE: Scope = Scope::Submit;
}
impl Required for AdminScope {
    const SCOPE: Scope = Scope::Admin;
}

/// A handler argument that lets the request in only with the scope `S` (first among the arguments, so a
/// refused request's body is never read).
pub struct Access<S: Required> {
    pub caller: Caller,
    scope: PhantomData<S>,
}

pub type ReadAccess = Access<ReadScope>;
pub type SubmitAccess = Access<SubmitScope>;
pub type AdminAccess = Access<AdminScope>;

impl<S: Required> FromRequestParts<AppState> for Access<S> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = state.auth.check(&parts.method, &parts.headers, peer(parts), S::SCOPE).await?;
        Ok(Access { caller, scope: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_has_the_shape_its_prefix_is_read_from() {
        let new = new_token();
        assert_eq!(prefix_of(&new.token), Some(new.prefix.as_str()));
        assert_eq!(new.token.len(), 3 + 16 + 1 + 64);
        assert_eq!(digest(&new.token), new.digest);
        assert_ne!(new_token().token, new.token);
        for bad in ["", "np_", "np_abc_def", &new.token.replace("np_", "xx_"), &format!("{}0", new.token)] {
            assert_eq!(prefix_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_include_the_ones_before_them() {
        assert!(Scope::Admin > Scope::Submit && Scope::Submit > Scope::Read);
        for scope in [Scope::Read, Scope::Submit, Scope::Admin] {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("root"), None);
    }

    #[test]
    fn a_cookie_authorises_reads_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; newspipe_session=np_x; c=d"));
        assert!(matches!(presented_token(&Method::GET, &headers), Presented::Cookie(t) if t == "np_x"));
        assert!(matches!(presented_token(&Method::POST, &headers), Presented::None));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(presented_token(&Method::GET, &headers), Presented::Malformed));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  np_y "));
        assert!(matches!(presented_token(&Method::POST, &headers), Presented::Bearer(t) if t == "np_y"));
    }
}
