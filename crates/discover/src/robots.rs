//! robots.txt for our user agent: a thin wrapper over `texting_robots` that never fails.
//!
//! - Only the first [`MAX_ROBOTS_BYTES`] (500 KiB) are read, as Google and RFC 9309 do: a larger file is
//!   cut at the last line break before the cap and the rest ignored.
//! - A file that cannot be parsed at all allows everything (the crawler then behaves as if there were no
//!   robots.txt), so does an empty one.
//! - The user agent is matched by its product token (`newspipe/0.3 (+https://…)` matches `User-agent:
//!   newspipe`), case-insensitively; without a group for it the `*` group applies.
//!
//! What an HTTP status means (4xx: allow all; 5xx or unreachable: disallow all for a while) is the
//! fetcher's decision; [`RobotsTxt::allow_all`] and [`RobotsTxt::disallow_all`] build those outcomes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use texting_robots::Robot;

/// The most of a robots.txt that is read (500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;

/// The rules of one host's robots.txt that apply to one user agent.
#[derive(Debug)]
pub struct RobotsTxt {
    rules: Rules,
    sitemaps: Vec<String>,
    crawl_delay: Option<Duration>,
    /// Bytes of robots.txt the rules came from: a measure of their size in memory, for caches.
    source_bytes: usize,
}

#[derive(Debug)]
enum Rules {
    AllowAll,
    DisallowAll,
    Parsed(Robot),
}

impl RobotsTxt {
    /// Parses a robots.txt body for `user_agent` (a full User-Agent header value or just its product
    /// token). Never fails: unparseable input allows everything.
    pub fn parse(bytes: &[u8], user_agent: &str) -> RobotsTxt {
        let bytes = truncate_at_line(bytes, MAX_ROBOTS_BYTES);
        let token = product_token(user_agent);
        // texting_robots is not expected to panic, but robots.txt is hostile input: a panic is treated as
        // an unparseable file rather than taking the worker down.
        let robot = catch_unwind(AssertUnwindSafe(|| Robot::new(token, bytes)));
        match robot {
            Ok(Ok(robot)) => {
                let crawl_delay = robot.delay.and_then(seconds_to_duration);
                let sitemaps = robot.sitemaps.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                let sitemaps = dedup(sitemaps);
                RobotsTxt { rules: Rules::Parsed(robot), sitemaps, crawl_delay, source_bytes: bytes.len() }
            }
            _ => RobotsTxt::allow_all(),
        }
    }

    /// A robots.txt that allows everything (no file, a 4xx answer, or an unparseable file).
    pub fn allow_all() -> RobotsTxt {
        RobotsTxt { rules: Rules::AllowAll, sitemaps: Vec::new(), crawl_delay: None, source_bytes: 0 }
    }

    /// Bytes of robots.txt these rules were parsed from (0 for the built-in answers).
    pub fn source_bytes(&self) -> usize {
        self.source_bytes
    }

    /// A robots.txt that disallows everything (for example while the host answers robots.txt with 5xx).
    pub fn disallow_all() -> RobotsTxt {
        RobotsTxt { rules: Rules::DisallowAll, sitemaps: Vec::new(), crawl_delay: None, source_bytes: 0 }
    }

    /// Whether `url` (absolute, or a path with an optional query) may be fetched.
    pub fn allowed(&self, url: &str) -> bool {
        match &self.rules {
            Rules::AllowAll => true,
            Rules::DisallowAll => false,
            Rules::Parsed(robot) => catch_unwind(AssertUnwindSafe(|| robot.allowed(url))).unwrap_or(true),
        }
    }

    /// The `Crawl-delay` that applies to us, if any (a negative, zero-length or non-finite one is ignored).
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// The `Sitemap:` URLs of the file (they apply to every user agent), in file order, without duplicates.
    pub fn sitemaps(&self) -> Vec<String> {
        self.sitemaps.clone()
    }
}

/// `newspipe/0.3 (+https://example.org/bot)` → `newspipe`.
fn product_token(user_agent: &str) -> &str {
    let token = user_agent.trim().split(|c: char| c == '/' || c.is_whitespace()).next().unwrap_or("");
    if token.is_empty() { "*" } else { token }
}

fn truncate_at_line(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let head = &bytes[..max];
    match head.iter().rposition(|&b| b == b'\n' || b == b'\r') {
        Some(end) => &head[..end],
        None => head,
    }
}

fn seconds_to_duration(seconds: f32) -> Option<Duration> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return None;
    }
    Duration::try_from_secs_f32(seconds).ok()
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &str = "newspipe/0.1 (+https://example.org/newspipe)";

    #[test]
    fn disallowed_paths_are_refused_and_others_allowed() {
        let robots = RobotsTxt::parse(b"User-agent: *\nDisallow: /private/\n", UA);
        assert!(!robots.allowed("https://example.com/private/a"));
        assert!(!robots.allowed("/private/"));
        assert!(robots.allowed("https://example.com/public/a"));
        assert!(robots.allowed("https://example.com/privatex"));
    }

    #[test]
    fn the_longest_match_wins_and_allow_wins_a_tie() {
        let robots = RobotsTxt::parse(b"User-agent: *\nDisallow: /news/\nAllow: /news/public/\n", UA);
        assert!(!robots.allowed("/news/secret"));
        assert!(robots.allowed("/news/public/story"));
        let tie = RobotsTxt::parse(b"User-agent: *\nDisallow: /a\nAllow: /a\n", UA);
        assert!(tie.allowed("/a"));
    }

    #[test]
    fn wildcards_and_end_anchors_are_understood() {
        let robots = RobotsTxt::parse(b"User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?print=\n", UA);
        assert!(!robots.allowed("/files/report.pdf"));
        assert!(robots.allowed("/files/report.pdf.html"));
        assert!(!robots.allowed("/story?print=1"));
        assert!(robots.allowed("/story?page=2"));
    }

    #[test]
    fn our_own_group_is_chosen_by_product_token_over_the_star_group() {
        let txt = b"User-agent: *\nDisallow: /\n\nUser-agent: NewsPipe\nDisallow: /drafts/\nCrawl-delay: 4\n";
        let robots = RobotsTxt::parse(txt, UA);
        assert!(robots.allowed("/world/story"));
        assert!(!robots.allowed("/drafts/x"));
        assert_eq!(robots.crawl_delay(), Some(Duration::from_secs(4)));
        let other = RobotsTxt::parse(txt, "otherbot/2.0");
        assert!(!other.allowed("/world/story"));
        assert_eq!(other.crawl_delay(), None);
    }

    #[test]
    fn a_fractional_crawl_delay_is_kept_and_a_nonsense_one_ignored() {
        let robots = RobotsTxt::parse(b"User-agent: *\nCrawl-delay: 0.5\n", UA);
        assert_eq!(robots.crawl_delay(), Some(Duration::from_millis(500)));
        for txt in [&b"User-agent: *\nCrawl-delay: -3\n"[..], b"User-agent: *\nCrawl-delay: soon\n"] {
            assert_eq!(RobotsTxt::parse(txt, UA).crawl_delay(), None);
        }
        assert_eq!(RobotsTxt::parse(b"User-agent: *\nCrawl-delay: 1e39\n", UA).crawl_delay(), None);
    }

    #[test]
    fn sitemap_lines_are_collected_from_anywhere_in_the_file_without_duplicates() {
        let txt = b"Sitemap: https://example.com/sitemap.xml\nUser-agent: otherbot\nDisallow: /\n\
                    Sitemap: https://example.com/news-sitemap.xml\nsitemap: https://example.com/sitemap.xml\n";
        let robots = RobotsTxt::parse(txt, UA);
        assert_eq!(
            robots.sitemaps(),
            vec![
                "https://example.com/sitemap.xml".to_string(),
                "https://example.com/news-sitemap.xml".to_string()
            ]
        );
        assert!(robots.allowed("/anything"));
    }

    #[test]
    fn an_empty_robots_txt_allows_everything() {
        let robots = RobotsTxt::parse(b"", UA);
        assert!(robots.allowed("/anything"));
        assert!(robots.sitemaps().is_empty());
        assert_eq!(robots.crawl_delay(), None);
    }

    #[test]
    fn binary_garbage_never_panics_and_allows_everything_it_cannot_read() {
        let mut garbage = Vec::new();
        let mut x: u32 = 12345;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            garbage.push((x >> 16) as u8);
        }
        let robots = RobotsTxt::parse(&garbage, UA);
        assert!(robots.allowed("/anything"));
        let html = RobotsTxt::parse(b"<html><body>Not found</body></html>", UA);
        assert!(html.allowed("/anything"));
    }

    #[test]
    fn a_huge_robots_txt_is_read_only_up_to_500_kibibytes() {
        let mut txt = b"User-agent: *\nDisallow: /early/\n".to_vec();
        while txt.len() < MAX_ROBOTS_BYTES + 10 {
            txt.extend_from_slice(b"# padding padding padding padding padding padding padding\n");
        }
        txt.extend_from_slice(b"Disallow: /late/\n");
        let robots = RobotsTxt::parse(&txt, UA);
        assert!(!robots.allowed("/early/a"));
        assert!(robots.allowed("/late/a"), "a rule past 500 KiB must be ignored");
    }

    #[test]
    fn a_file_cut_at_the_cap_loses_its_partial_last_line() {
        let head = b"Disallow: /x\n";
        let mut txt = head.to_vec();
        txt.resize(MAX_ROBOTS_BYTES - 5, b'#');
        txt.extend_from_slice(b"\nDisallow: /");
        assert_eq!(truncate_at_line(&txt, MAX_ROBOTS_BYTES).len(), MAX_ROBOTS_BYTES - 5);
        let robots = RobotsTxt::parse(&txt, UA);
        assert!(robots.allowed("/y"), "the cut line `Disallow: /` must not apply");
        assert!(!robots.allowed("/x"));
    }

    #[test]
    fn robots_txt_itself_is_always_allowed() {
        let robots = RobotsTxt::parse(b"User-agent: *\nDisallow: /\n", UA);
        assert!(!robots.allowed("/index.html"));
        assert!(robots.allowed("https://example.com/robots.txt"));
    }

    #[test]
    fn allow_all_and_disallow_all_say_what_they_mean() {
        assert!(RobotsTxt::allow_all().allowed("/x"));
        assert!(!RobotsTxt::disallow_all().allowed("/x"));
        assert!(RobotsTxt::disallow_all().sitemaps().is_empty());
    }

    #[test]
    fn the_product_token_is_the_user_agent_up_to_its_version() {
        assert_eq!(product_token("newspipe/0.1 (+https://x)"), "newspipe");
        assert_eq!(product_token("  NewsPipe "), "NewsPipe");
        assert_eq!(product_token(""), "*");
    }
}
