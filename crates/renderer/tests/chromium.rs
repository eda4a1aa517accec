//! The renderer's engine in real headless Chromium (Debian's `/usr/bin/chromium`, installed by the test
//! command), against local servers: pages built from a JSON endpoint, scripts reaching for a private
//! address, redirects, pages that never finish, endless loops, a browser killed mid-page, everything a
//! page may not load or keep (media, fonts, styles, other methods, frames, downloads, sockets, service
//! workers, cookies and storage). Without Chromium each test says so and passes.
//!
//! The pages are served on 127.0.0.1, which the tests' address guard allows (`fetcher.allowed_networks`);
//! the "private" server is on 127.0.0.2, which it refuses like any other loopback or private address.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use newspipe_net::http::HttpFetcher;
use newspipe_net::settings::FetcherSettings;
use newspipe_renderer::render::{PageToRender, RenderError};
use newspipe_renderer::{Renderer, RendererSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PARAGRAPHS: [&str; 4] = [
    "The city council voted on Tuesday to extend the tram line to the northern districts, ending a debate that had run for more than a decade.",
    "Supporters said the extension would cut commuting times by half for some forty thousand residents who now depend on crowded buses.",
    "Opponents questioned the cost, which the council's own estimate puts at just over three hundred million euros spread across six years.",
    "Construction is expected to begin next spring, and the first new stations should open to passengers before the end of the decade.",
];

/// A server answering each path with a fixed response; it counts every connection it accepts.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// The request line's path of every request that arrived.
    paths: Arc<std::sync::Mutex<Vec<String>>>,
}

type Route = (&'static str, &'static str, String, bool);

impl Server {
    /// `routes`: (path, content type, body, hang: never answer).
    async fn start(ip: [u8; 4], routes: Vec<Route>) -> Server {
        let listener = TcpListener::bind(SocketAddr::from((ip, 0))).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(routes);
        let counter = connections.clone();
        let paths = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = paths.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                let routes = routes.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    seen.lock().unwrap().push(path.clone());
                    let Some((_, content_type, body, hang)) = routes.iter().find(|r| r.0 == path) else {
                        let _ =
                            stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
                        return;
                    };
                    if *hang {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                });
            }
        });
        Server { addr, connections, paths }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn chromium_present() -> bool {
    let present = std::path::Path::new("/usr/bin/chromium").exists();
    if !present {
        eprintln!("skipped: /usr/bin/chromium is not installed (the test command installs it)");
    }
    present
}

async fn renderer(page_timeout_secs: u64) -> Renderer {
    let fetcher = FetcherSettings {
        allowed_networks: vec!["127.0.0.1/32".parse().unwrap()],
        timeout_ms: 5_000,
        ..FetcherSettings::default()
    };
    let settings = RendererSettings { page_timeout_secs, ..RendererSettings::default() };
    Renderer::start(settings, HttpFetcher::new(&fetcher).unwrap()).await.unwrap()
}

fn shell(script: &str) -> String {
    format!(
        "<!doctype html><html><head><title>Tram line</title></head><body><div id=\"root\"></div>\
         <script>{script}</script></body></html>"
    )
}

/// The script of a page that builds its article from `/api/article.json`.
const BUILD_FROM_JSON: &str = "fetch('/api/article.json').then(r => r.json()).then(a => {\
    const root = document.getElementById('root');\
    const h = document.createElement('h1'); h.textContent = a.title; root.appendChild(h);\
    for (const p of a.paragraphs) { const e = document.createElement('p'); e.textContent = p; root.appendChild(e); }\
});";

fn article_json() -> String {
    serde_json::json!({"title": "Council extends the tram line", "paragraphs": PARAGRAPHS}).to_string()
}

#[tokio::test]
async fn a_page_built_from_a_json_endpoint_is_rendered_with_its_full_text() {
    if !chromium_present() {
        return;
    }
    let web =
        Server::start([127, 0, 0, 1], vec![("/api/article.json", "application/json", article_json(), false)])
            .await;
    let renderer = renderer(15).await;
    let html = shell(BUILD_FROM_JSON);
    let url = web.url("/news/tram");
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    for paragraph in PARAGRAPHS {
        assert!(rendered.html.contains(paragraph), "{paragraph:?} missing from:\n{}", rendered.html);
    }
    assert!(rendered.html.contains("<h1>Council extends the tram line</h1>"));
    assert_eq!(rendered.fetched, 1, "one request through the HTTP client: the JSON");
    assert!(!rendered.timed_out);
    renderer.stop().await;
}

#[tokio::test]
async fn a_script_reaching_for_a_private_address_is_refused_and_the_request_never_arrives() {
    if !chromium_present() {
        return;
    }
    let private =
        Server::start([127, 0, 0, 2], vec![("/secret", "application/json", "{\"x\":1}".into(), false)]).await;
    let web =
        Server::start([127, 0, 0, 1], vec![("/api/article.json", "application/json", article_json(), false)])
            .await;
    let renderer = renderer(15).await;
    // fetch(), an XHR, a script tag, an image and a WebSocket, all at the private server; then the article.
    let secret = private.url("/secret");
    let ws = secret.replace("http://", "ws://");
    let script = format!(
        "fetch('{secret}').catch(() => {{}});\
         const x = new XMLHttpRequest(); x.open('GET', '{secret}'); x.send();\
         const s = document.createElement('script'); s.src = '{secret}'; document.head.appendChild(s);\
         const i = new Image(); i.src = '{secret}';\
         try {{ new WebSocket('{ws}'); }} catch (e) {{}}\
         {BUILD_FROM_JSON}"
    );
    let html = shell(&script);
    let url = web.url("/news/tram");
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains(PARAGRAPHS[0]), "the article is still built: {}", rendered.html);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(private.connections.load(Ordering::SeqCst), 0, "nothing reached the private address");
    assert!(rendered.refused >= 3, "fetch, XHR and script refused: {rendered:?}");
    renderer.stop().await;
}

#[tokio::test]
async fn a_window_location_redirect_to_a_private_address_leaves_the_page_where_it_is() {
    if !chromium_present() {
        return;
    }
    let private =
        Server::start([127, 0, 0, 2], vec![("/admin", "text/html", "<p>admin</p>".into(), false)]).await;
    let web =
        Server::start([127, 0, 0, 1], vec![("/api/article.json", "application/json", article_json(), false)])
            .await;
    let renderer = renderer(15).await;
    let script = format!(
        "{BUILD_FROM_JSON} setTimeout(() => {{ window.location = '{}'; }}, 50);",
        private.url("/admin")
    );
    let html = shell(&script);
    let url = web.url("/news/tram");
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains(PARAGRAPHS[3]), "still the article: {}", rendered.html);
    assert!(!rendered.html.contains("admin</p>"));
    assert_eq!(
        private.connections.load(Ordering::SeqCst),
        0,
        "the redirect never reached the private address"
    );
    renderer.stop().await;
}

#[tokio::test]
async fn a_page_that_never_finishes_loading_is_taken_as_it_is_when_its_time_runs_out() {
    if !chromium_present() {
        return;
    }
    let web = Server::start(
        [127, 0, 0, 1],
        vec![
            ("/api/article.json", "application/json", article_json(), false),
            ("/slow.js", "text/javascript", String::new(), true),
        ],
    )
    .await;
    let renderer = renderer(4).await;
    // The article is built, then a script that never arrives keeps the page loading.
    let html = format!(
        "<!doctype html><html><body><div id=\"root\"></div><script>{BUILD_FROM_JSON}</script>\
         <script>setTimeout(() => {{ const s = document.createElement('script'); s.src = '/slow.js'; \
         document.body.appendChild(s); }}, 100);</script></body></html>"
    );
    let url = web.url("/news/tram");
    let started = Instant::now();
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.timed_out, "the page's time ran out");
    assert!(rendered.html.contains(PARAGRAPHS[1]), "what the page had built by then: {}", rendered.html);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the page timeout: {:?}",
        started.elapsed()
    );
    renderer.stop().await;
}

#[tokio::test]
async fn an_endless_script_loop_gives_up_the_page_and_the_next_page_renders() {
    if !chromium_present() {
        return;
    }
    let web =
        Server::start([127, 0, 0, 1], vec![("/api/article.json", "application/json", article_json(), false)])
            .await;
    let renderer = renderer(3).await;
    let html = shell("while (true) {}");
    let url = web.url("/news/loop");
    let started = Instant::now();
    let error = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap_err();
    assert!(
        matches!(error, RenderError::PageTimeout(_) | RenderError::Browser(_)),
        "the loop ends the page: {error}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "bounded: {:?}", started.elapsed());
    let html = shell(BUILD_FROM_JSON);
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains(PARAGRAPHS[2]));
    renderer.stop().await;
}

#[tokio::test]
async fn a_browser_killed_mid_page_fails_that_page_as_a_browser_failure_and_a_new_browser_takes_the_next() {
    if !chromium_present() {
        return;
    }
    let web = Server::start(
        [127, 0, 0, 1],
        vec![
            ("/api/article.json", "application/json", article_json(), false),
            ("/slow.js", "text/javascript", String::new(), true),
        ],
    )
    .await;
    let renderer = Arc::new(renderer(20).await);
    let first = renderer.browser_pid().await.unwrap();
    let html = shell(
        "const s = document.createElement('script'); s.src = '/slow.js'; document.body.appendChild(s);",
    );
    let url = web.url("/news/tram");
    let killer = {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            std::process::Command::new("kill").args(["-9", &first.to_string()]).status().unwrap();
        })
    };
    let error = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap_err();
    killer.await.unwrap();
    assert!(matches!(error, RenderError::Browser(_)), "a browser failure, to be retried: {error}");
    let html = shell(BUILD_FROM_JSON);
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains(PARAGRAPHS[0]), "rendered by a new browser: the first was killed");
    assert!(!std::path::Path::new(&format!("/proc/{first}")).exists(), "the killed browser is gone");
    renderer.stop().await;
}

#[tokio::test]
async fn media_other_methods_frames_downloads_sockets_and_service_workers_never_reach_the_web_and_no_cookie_outlives_a_page()
 {
    if !chromium_present() {
        return;
    }
    // Every path answers on the allowed server, so only the renderer's refusal keeps a request away.
    let ok = |path: &'static str, kind: &'static str| (path, kind, "x".repeat(64), false);
    let web = Server::start(
        [127, 0, 0, 1],
        vec![
            ("/api/article.json", "application/json", article_json(), false),
            ok("/image.png", "image/png"),
            ok("/font.woff2", "font/woff2"),
            ok("/style.css", "text/css"),
            ok("/video.mp4", "video/mp4"),
            ok("/post", "application/json"),
            ok("/frame.html", "text/html"),
            ok("/report.pdf", "application/pdf"),
            ok("/sw.js", "text/javascript"),
            ok("/beacon", "text/plain"),
        ],
    )
    .await;
    let renderer = renderer(10).await;
    let ws = web.url("/socket").replace("http://", "ws://");
    let script = format!(
        "document.cookie = 'session=kept; max-age=3600'; localStorage.setItem('seen', 'yes');\
         const i = new Image(); i.src = '/image.png';\
         new FontFace('F', 'url(/font.woff2)').load().catch(() => {{}});\
         const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = '/style.css'; document.head.appendChild(l);\
         const v = document.createElement('video'); v.src = '/video.mp4'; document.body.appendChild(v);\
         fetch('/post', {{ method: 'POST', body: 'x' }}).catch(() => {{}});\
         const f = document.createElement('iframe'); f.src = '/frame.html'; document.body.appendChild(f);\
         const a = document.createElement('a'); a.href = '/report.pdf'; a.download = 'r.pdf'; document.body.appendChild(a); a.click();\
         if (navigator.serviceWorker) navigator.serviceWorker.register('/sw.js').catch(() => {{}});\
         navigator.sendBeacon && navigator.sendBeacon('/beacon', 'x');\
         try {{ new WebSocket('{ws}'); }} catch (e) {{}}\
         {BUILD_FROM_JSON}"
    );
    let url = web.url("/news/tram");
    let html = shell(&script);
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains(PARAGRAPHS[0]), "the article is still built: {}", rendered.html);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paths = web.paths.lock().unwrap().clone();
    assert_eq!(paths, ["/api/article.json"], "only the article's data was fetched, by GET");
    assert!(rendered.refused >= 5, "image, font, stylesheet, video, POST, frame... refused: {rendered:?}");

    // The next page, on the same site, finds no cookie and no storage.
    let html = shell(
        "const p = document.createElement('p'); p.id = 'state';\
         p.textContent = 'cookie=[' + document.cookie + '] storage=[' + localStorage.getItem('seen') + ']';\
         document.body.appendChild(p);",
    );
    let rendered = renderer
        .render(&PageToRender { url: &url, content_type: "text/html", body: html.as_bytes() })
        .await
        .unwrap();
    assert!(rendered.html.contains("cookie=[] storage=[null]"), "a fresh context: {}", rendered.html);
    renderer.stop().await;
}
