//! The local web: one listener per loopback address, every page request counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The local web: every page request counted, with the times of the first and the last.
pub struct Web {
    pages: Vec<Bytes>,
    pub requests: AtomicU64,
    pub first_last: Mutex<Option<(Instant, Instant)>>,
}

impl Web {
    pub fn new(pages: Vec<Bytes>) -> Self {
        Web { pages, requests: AtomicU64::new(0), first_last: Mutex::new(None) }
    }
}

async fn serve(State(web): State<Arc<Web>>, uri: Uri) -> Response {
    let n = uri
        .path()
        .strip_prefix("/news/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.parse::<usize>().ok());
    let Some(n) = n else { return StatusCode::NOT_FOUND.into_response() };
    web.requests.fetch_add(1, Ordering::Relaxed);
    {
        let now = Instant::now();
        let mut first_last = web.first_last.lock().unwrap();
        let first = first_last.map(|(first, _)| first).unwrap_or(now);
        *first_last = Some((first, now));
    }
    let body = web.pages[n % web.pages.len()].clone();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Binds 127.0.0.1..127.0.0.N, on one port when it is free everywhere; returns each host's base URL.
pub async fn start_web(web: &Arc<Web>, hosts: usize) -> anyhow::Result<Vec<String>> {
    let app = Router::new().fallback(serve).with_state(web.clone());
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for i in 2..=hosts {
        let listener = match tokio::net::TcpListener::bind(format!("127.0.0.{i}:{port}")).await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind(format!("127.0.0.{i}:0"))
                .await
                .with_context(|| format!("bind 127.0.0.{i}"))?,
        };
        listeners.push(listener);
    }
    let mut bases = Vec::new();
    for listener in listeners {
        bases.push(format!("http://{}", listener.local_addr()?));
        let app = app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    Ok(bases)
}
