//! The local web the tests fetch from: authored article pages and pages that misbehave in known ways.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(Clone, Default)]
struct WebState {
    hits: Arc<Mutex<HashMap<String, u32>>>,
    seed: Option<Arc<Vec<u8>>>,
}

impl WebState {
    fn hit(&self, path: String) -> u32 {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(path).or_default();
        *n += 1;
        *n
    }
}

pub struct TestWeb {
    pub address: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

/// The path the seed fixture is served at (its README asks for this one).
pub const SEED_PATH: &str = "/news/502466-kyrgyzstan-president-illegal-seizure-power/";

impl TestWeb {
    pub async fn start() -> TestWeb {
        let seed = super::shared_dir()
            .and_then(|dir| std::fs::read(dir.join("fixtures/seed/article.html")).ok())
            .map(Arc::new);
        let state = WebState { seed, ..WebState::default() };
        let hits = state.hits.clone();
        let app = Router::new()
            .route("/articles/{n}", get(article))
            .route("/missing/{n}", get(missing))
            .route("/flaky/{n}", get(flaky))
            .route("/broken/{n}", get(broken))
            .route("/slow/{n}", get(slow))
            .route("/files/{name}", get(file))
            .route(SEED_PATH, get(seed_page))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestWeb { address, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// How many requests a path has had.
    pub fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// The title and paragraphs of authored article `n`.
pub fn article_content(n: u32) -> (String, Vec<String>) {
    let title = format!("Council approves plan number {n} for the river district");
    let paragraphs = vec![
        format!(
            "The city council approved plan number {n} on Tuesday evening, ending a debate that had run for \
             most of the year and divided residents of the river district."
        ),
        format!(
            "Supporters said plan {n} would bring new housing and a park to the riverbank, while opponents \
             warned about traffic and the cost of flood defences along the water."
        ),
        "The mayor said construction could begin next spring if the regional authority signs off on the \
         financing, which is expected before the end of the winter session."
            .to_string(),
    ];
    (title, paragraphs)
}

pub fn article_html(n: u32) -> String {
    let (title, paragraphs) = article_content(n);
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} - The Test Gazette</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="The Test Gazette">
<meta property="article:published_time" content="2024-03-0{d}T10:00:00Z">
<meta name="author" content="Jane Reporter"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1><p class="byline">By Jane Reporter</p>
{body}</article>
<footer>Copyright The Test Gazette. All rights reserved.</footer></body></html>"#,
        d = n % 9 + 1
    )
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn article(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    state.hit(format!("/articles/{n}"));
    html(article_html(n))
}

async fn missing(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    state.hit(format!("/missing/{n}"));
    (StatusCode::NOT_FOUND, "no such page").into_response()
}

/// 500 on the first request, the article after.
async fn flaky(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    if state.hit(format!("/flaky/{n}")) == 1 {
        (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()
    } else {
        html(article_html(n))
    }
}

/// 503 always.
async fn broken(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    state.hit(format!("/broken/{n}"));
    (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
}

/// The article after a pause longer than a fast page but within the fetch timeout.
async fn slow(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    state.hit(format!("/slow/{n}"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    html(article_html(n))
}

async fn file(State(state): State<WebState>, Path(name): Path<String>) -> Response {
    state.hit(format!("/files/{name}"));
    let pdf =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
}

async fn seed_page(State(state): State<WebState>) -> Response {
    state.hit(SEED_PATH.to_string());
    match &state.seed {
        Some(bytes) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes.to_vec()).into_response(),
        None => (StatusCode::NOT_FOUND, "../shared is absent").into_response(),
    }
}
