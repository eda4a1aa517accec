//! newspipe's HTTP fetching library: download one URL politely and safely, with every limit
//! enforced (time, size, redirects, addresses), and classify every failure.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use newspipe_fetcher::{FetcherSettings, HttpFetcher};
//! let fetcher = HttpFetcher::new(&FetcherSettings::default())?;
//! match fetcher.fetch("https://example.com/news/1").await {
//!     Ok(page) => println!("{} bytes from {}", page.body.len(), page.final_url),
//!     Err(e) => println!("{} (transient: {}): {e}", e.reason(), e.is_transient()),
//! }
//! # Ok(())
//! # }
//! ```

/// Which addresses the fetcher connects to (shared with the WARC reader's downloads).
pub use newspipe_net as address;
pub mod archive;
/// The fetcher's settings, with the HTTP client in `newspipe-net` (the renderer uses the same client).
pub use newspipe_net::settings as config;
pub mod coordination;
mod events;
pub use newspipe_net::http;
pub mod revisit;
pub mod watch;
pub mod worker;

pub use config::{FetcherSettings, WarcSettings};
pub use http::{
    BuildError, ConnectFailure, Exchange, FetchError, FetchedPage, HttpFetcher, TimeoutPhase, Validators,
    parse_retry_after, parse_url,
};
pub use revisit::RevisitSettings;
pub use worker::{FetchHandler, Settings, run};
