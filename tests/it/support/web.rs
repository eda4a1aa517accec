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
    /// Every request: path and when it arrived.
    log: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    seed: Option<Arc<Vec<u8>>>,
    robots: Arc<Mutex<Option<(u16, String)>>>,
    /// How many items /feed.xml lists (articles 1..=n).
    feed_items: Arc<std::sync::atomic::AtomicU32>,
    /// Requests to /slow/ being served now, and the most at once.
    slow_now: Arc<std::sync::atomic::AtomicU32>,
    slow_most: Arc<std::sync::atomic::AtomicU32>,
    edited: EditedPages,
}

/// The pages under /edited/: what each serves, request after request.
type EditedPages = Arc<Mutex<HashMap<String, EditedPage>>>;

/// A page that changes between fetches: the nth request gets `versions[n]` (status and HTML), the last one
/// from then on, or, cycling, `versions[n % len]`.
#[derive(Clone)]
pub struct EditedPage {
    pub versions: Vec<(u16, String)>,
    pub cycle: bool,
    served: usize,
}

impl EditedPage {
    pub fn sequence(versions: Vec<(u16, String)>) -> EditedPage {
        EditedPage { versions, cycle: false, served: 0 }
    }

    pub fn cycling(versions: Vec<(u16, String)>) -> EditedPage {
        EditedPage { versions, cycle: true, served: 0 }
    }
}

impl WebState {
    fn hit(&self, path: String) -> u32 {
        self.log.lock().unwrap().push((path.clone(), std::time::Instant::now()));
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(path).or_default();
        *n += 1;
        *n
    }
}

pub struct TestWeb {
    pub address: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u32>>>,
    log: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    robots: Arc<Mutex<Option<(u16, String)>>>,
    feed_items: Arc<std::sync::atomic::AtomicU32>,
    slow_most: Arc<std::sync::atomic::AtomicU32>,
    edited: EditedPages,
}

/// The path the seed fixture is served at (its README asks for this one).
pub const SEED_PATH: &str = "/news/502466-kyrgyzstan-president-illegal-seizure-power/";

impl TestWeb {
    pub async fn start() -> TestWeb {
        TestWeb::start_on(std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// A web server on `ip` (the cluster rig's bridge, reached from the worker hosts' namespaces).
    pub async fn start_on(ip: std::net::IpAddr) -> TestWeb {
        let seed = super::shared_dir()
            .and_then(|dir| std::fs::read(dir.join("fixtures/seed/article.html")).ok())
            .map(Arc::new);
        let state = WebState { seed, ..WebState::default() };
        state.feed_items.store(3, std::sync::atomic::Ordering::SeqCst);
        let (hits, log, robots, feed_items) =
            (state.hits.clone(), state.log.clone(), state.robots.clone(), state.feed_items.clone());
        let slow_most = state.slow_most.clone();
        let edited = state.edited.clone();
        let app = Router::new()
            .route("/edited/{name}", get(edited_page))
            .route("/articles/{n}", get(article))
            .route("/missing/{n}", get(missing))
            .route("/flaky/{n}", get(flaky))
            .route("/broken/{n}", get(broken))
            .route("/slow/{n}", get(slow))
            .route("/files/{name}", get(file))
            .route(SEED_PATH, get(seed_page))
            .route("/robots.txt", get(robots_txt))
            .route("/", get(home))
            .route("/limited/{n}", get(limited))
            .route("/feed.xml", get(feed))
            .route("/spa/{name}", get(spa_page))
            .route("/spa-assets/app.js", get(spa_script))
            .route("/spa-api/{name}", get(spa_data))
            .route("/next/{n}", get(next_page))
            .route("/sitemap_index.xml", get(sitemap_index))
            .route("/sitemap-news.xml.gz", get(news_sitemap))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestWeb { address, hits, log, robots, feed_items, slow_most, edited }
    }

    /// Serves `page` at /edited/{name} (404 until set); returns its URL.
    pub fn serve_edited(&self, name: &str, page: EditedPage) -> String {
        self.edited.lock().unwrap().insert(name.to_string(), page);
        self.url(&format!("/edited/{name}"))
    }

    /// Serves this as /robots.txt (404 until set).
    pub fn set_robots(&self, text: &str) {
        *self.robots.lock().unwrap() = Some((200, text.to_string()));
    }

    /// /robots.txt answers 500 from now on.
    pub fn break_robots(&self) {
        *self.robots.lock().unwrap() = Some((500, "internal error".to_string()));
    }

    /// The most requests to /slow/ the server was serving at once.
    pub fn slow_concurrency(&self) -> u32 {
        self.slow_most.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// /feed.xml lists articles 1..=n.
    pub fn set_feed_items(&self, n: u32) {
        self.feed_items.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// When each request for a path starting with `prefix` arrived, in order.
    pub fn arrivals(&self, prefix: &str) -> Vec<std::time::Instant> {
        self.log.lock().unwrap().iter().filter(|(p, _)| p.starts_with(prefix)).map(|(_, t)| *t).collect()
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
<meta name="author" content="Jane Marlowe"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1><p class="byline">By Jane Marlowe</p>
{body}</article>
<footer>Copyright The Test Gazette. All rights reserved.</footer></body></html>"#,
        d = n % 9 + 1
    )
}

/// The article of the JavaScript-built pages (`/spa/` and `/next/`): `article_content(n)` and two more
/// paragraphs, long enough not to be thin.
pub fn spa_content(n: u32) -> (String, Vec<String>) {
    let (title, mut paragraphs) = article_content(n);
    paragraphs.push(format!(
        "Residents who spoke at the hearing on plan {n} asked for a second bridge across the river and for the market square to stay open to traffic on weekdays, two requests the council promised to study."
    ));
    paragraphs.push(
        "The regional authority has until the end of February to approve the loan, after which the tender for the first phase of the works will be published and companies will have eight weeks to bid."
            .to_string(),
    );
    (title, paragraphs)
}

/// The name's number (`slow-7` is 7).
fn number_in(name: &str) -> u32 {
    name.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(0)
}

/// An app shell: a mount point and a bundle that fetches `/spa-api/{name}` and builds the article from it.
async fn spa_page(State(state): State<WebState>, Path(name): Path<String>) -> Response {
    state.hit(format!("/spa/{name}"));
    let html = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The Test Gazette</title>
<script src="/spa-assets/app.js" defer></script></head>
<body><div id="root"></div><noscript>You need to enable JavaScript to read The Test Gazette.</noscript></body></html>"#;
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn spa_script(State(state): State<WebState>) -> Response {
    state.hit("/spa-assets/app.js".to_string());
    let script = r#"const name = location.pathname.split('/').pop();
fetch('/spa-api/' + name).then(r => r.json()).then(d => {
  document.title = d.title + ' - The Test Gazette';
  const article = document.createElement('article');
  const h1 = document.createElement('h1'); h1.textContent = d.title; article.appendChild(h1);
  for (const text of d.paragraphs) { const p = document.createElement('p'); p.textContent = text; article.appendChild(p); }
  document.getElementById('root').appendChild(article);
});"#;
    ([(header::CONTENT_TYPE, "application/javascript")], script).into_response()
}

/// The article's JSON; `slow-N` answers after 3 s (a page a test kills the browser in).
async fn spa_data(State(state): State<WebState>, Path(name): Path<String>) -> Response {
    state.hit(format!("/spa-api/{name}"));
    if name.starts_with("slow-") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let (title, paragraphs) = spa_content(number_in(&name));
    axum::Json(serde_json::json!({ "title": title, "paragraphs": paragraphs })).into_response()
}

/// A Next.js page: the same shell, the article in `__NEXT_DATA__` (extracted without a browser).
async fn next_page(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    state.hit(format!("/next/{n}"));
    let (title, paragraphs) = spa_content(n);
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    let data = serde_json::json!({
        "props": { "pageProps": { "article": { "headline": title, "bodyHtml": body } } },
        "page": "/[slug]",
        "buildId": "test"
    });
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{data}</script>
<script src="/spa-assets/app.js"></script></body></html>"#
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// An article page of the edited site, with a title, a byline and paragraphs (each may hold HTML).
pub fn edited_html(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} - The Test Gazette</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="The Test Gazette">
<meta property="article:published_time" content="2026-12-01T10:00:00Z">
<meta name="author" content="Jane Marlowe"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>{title}</h1><p class="byline">By Jane Marlowe</p>
{body}</article>
<footer>Copyright The Test Gazette. All rights reserved.</footer></body></html>"#
    )
}

/// A page of /edited/: the next of its versions, with an ETag of that version's bytes (a conditional
/// request for the same bytes gets 304).
async fn edited_page(
    State(state): State<WebState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    state.hit(format!("/edited/{name}"));
    let (status, body) = {
        let mut pages = state.edited.lock().unwrap();
        let Some(page) = pages.get_mut(&name) else {
            return (StatusCode::NOT_FOUND, "no such page").into_response();
        };
        let n = page.versions.len();
        let index = if page.cycle { page.served % n } else { page.served.min(n - 1) };
        page.served += 1;
        page.versions[index].clone()
    };
    let etag = format!("\"{:016x}\"", {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (status, &body).hash(&mut hasher);
        hasher.finish()
    });
    let status = StatusCode::from_u16(status).unwrap();
    if status == StatusCode::OK
        && headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()), (header::ETAG, etag)], body)
        .into_response()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// An article, with an ETag; a conditional request with that ETag gets 304 Not Modified.
async fn article(
    State(state): State<WebState>,
    Path(n): Path<u32>,
    headers: axum::http::HeaderMap,
) -> Response {
    state.hit(format!("/articles/{n}"));
    let etag = format!("\"article-{n}-v1\"");
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()), (header::ETAG, etag)], article_html(n))
        .into_response()
}

/// A home page announcing its feed.
async fn home(State(state): State<WebState>) -> Response {
    state.hit("/".into());
    html(
        r#"<!doctype html><html><head><title>The Test Gazette</title>
<link rel="alternate" type="application/rss+xml" title="Latest" href="/feed.xml"></head>
<body><a href="/articles/1">One</a> <a href="/articles/2">Two</a></body></html>"#
            .to_string(),
    )
}

async fn robots_txt(State(state): State<WebState>) -> Response {
    state.hit("/robots.txt".into());
    match state.robots.lock().unwrap().clone() {
        Some((status, text)) => {
            (StatusCode::from_u16(status).unwrap(), [(header::CONTENT_TYPE, "text/plain")], text)
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "none").into_response(),
    }
}

/// 429 with `Retry-After: 2` on the first request, the article after.
async fn limited(State(state): State<WebState>, Path(n): Path<u32>) -> Response {
    if state.hit(format!("/limited/{n}")) == 1 {
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "2")], "slow down").into_response()
    } else {
        html(article_html(n))
    }
}

async fn feed(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    state.hit("/feed.xml".into());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
    let n = state.feed_items.load(std::sync::atomic::Ordering::SeqCst);
    let items: String = (1..=n)
        .map(|i| {
            format!(
                "<item><title>Item {i}</title><link>http://{host}/articles/{i}?utm_source=rss</link>\
                 <pubDate>Tue, 0{d} Mar 2024 10:00:00 GMT</pubDate></item>",
                d = i % 9 + 1
            )
        })
        .collect();
    let body = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>The Test Gazette</title>{items}</channel></rss>"#
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

async fn sitemap_index(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    state.hit("/sitemap_index.xml".into());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
    let body = format!(
        r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://{host}/sitemap-news.xml.gz</loc></sitemap></sitemapindex>"#
    );
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// A gzip-compressed Google News sitemap: articles 11 and 12 from 2026, article 13 from 2020.
async fn news_sitemap(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    use std::io::Write;
    state.hit("/sitemap-news.xml.gz".into());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
    let entry = |n: u32, date: &str| {
        format!(
            "<url><loc>http://{host}/articles/{n}</loc><news:news><news:publication>\
             <news:name>The Test Gazette</news:name><news:language>en</news:language></news:publication>\
             <news:publication_date>{date}</news:publication_date><news:title>News {n}</news:title>\
             </news:news></url>"
        )
    };
    let xml = format!(
        r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{}{}{}</urlset>"#,
        entry(11, "2026-11-20T08:00:00Z"),
        entry(12, "2026-11-21"),
        entry(13, "2020-01-01T00:00:00Z")
    );
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(xml.as_bytes()).unwrap();
    ([(header::CONTENT_TYPE, "application/gzip")], gzip.finish().unwrap()).into_response()
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
    use std::sync::atomic::Ordering::SeqCst;
    state.hit(format!("/slow/{n}"));
    let now = state.slow_now.fetch_add(1, SeqCst) + 1;
    state.slow_most.fetch_max(now, SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    state.slow_now.fetch_sub(1, SeqCst);
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
