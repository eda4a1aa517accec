//! Following sitemap indexes without looping and no deeper than [`DiscoveryLimits::max_sitemap_depth`]:
//! a pure work list that the caller drives (fetch [`SitemapWalk::next`], parse it with
//! [`parse_sitemap`](crate::parse_sitemap), hand an index's children back to
//! [`SitemapWalk::add_children`]).
//!
//! Depth: a root sitemap (from `--sitemap`, robots.txt or a common path) is at depth 0, the children of a
//! sitemap at depth `d` are at `d + 1`, and a child deeper than `max_sitemap_depth` is not queued (it is
//! counted in [`SitemapWalk::skipped_too_deep`]). Each sitemap URL (compared without its fragment) is
//! queued once, so an index listing itself or two indexes listing each other end the walk.

use std::collections::{HashSet, VecDeque};

use url::Url;

use crate::DiscoveryLimits;

/// One sitemap to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapVisit {
    /// Absolute http(s) URL of the sitemap.
    pub url: String,
    /// 0 for a root sitemap, 1 for a child of a root index, and so on.
    pub depth: u32,
}

/// The sitemaps still to fetch in one discovery run, breadth first.
#[derive(Debug, Clone)]
pub struct SitemapWalk {
    max_depth: u32,
    queue: VecDeque<SitemapVisit>,
    seen: HashSet<String>,
    skipped_too_deep: usize,
}

impl SitemapWalk {
    /// An empty walk bounded by `limits.max_sitemap_depth`.
    pub fn new(limits: &DiscoveryLimits) -> SitemapWalk {
        SitemapWalk {
            max_depth: limits.max_sitemap_depth,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            skipped_too_deep: 0,
        }
    }

    /// Queues a root sitemap (depth 0). Returns false, queueing nothing, when the URL is not an absolute
    /// http(s) URL or was already queued.
    pub fn add_root(&mut self, url: &str) -> bool {
        self.push(url, 0)
    }

    /// Queues the children of an index that was fetched as `parent`; returns how many were queued (new,
    /// valid and not too deep).
    pub fn add_children<I, S>(&mut self, parent: &SitemapVisit, children: I) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let depth = parent.depth.saturating_add(1);
        if depth > self.max_depth {
            self.skipped_too_deep += children.into_iter().count();
            return 0;
        }
        children.into_iter().filter(|child| self.push(child.as_ref(), depth)).count()
    }

    /// The next sitemap to fetch, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<SitemapVisit> {
        self.queue.pop_front()
    }

    /// How many sitemaps are still queued.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// How many child sitemaps were not queued because they were deeper than `max_sitemap_depth`.
    pub fn skipped_too_deep(&self) -> usize {
        self.skipped_too_deep
    }

    fn push(&mut self, url: &str, depth: u32) -> bool {
        let Ok(mut parsed) = Url::parse(url.trim()) else { return false };
        if !matches!(parsed.scheme(), "http" | "https") {
            return false;
        }
        parsed.set_fragment(None);
        let url = String::from(parsed);
        if !self.seen.insert(url.clone()) {
            return false;
        }
        self.queue.push_back(SitemapVisit { url, depth });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(max_sitemap_depth: u32) -> SitemapWalk {
        SitemapWalk::new(&DiscoveryLimits { max_sitemap_depth, ..DiscoveryLimits::default() })
    }

    #[test]
    fn roots_are_visited_first_then_children_breadth_first_with_their_depth() {
        let mut walk = walk(3);
        assert!(walk.add_root("https://x.example/sitemap.xml"));
        assert!(walk.add_root("https://x.example/news-sitemap.xml"));
        let first = walk.next().unwrap();
        assert_eq!(first, SitemapVisit { url: "https://x.example/sitemap.xml".into(), depth: 0 });
        assert_eq!(walk.add_children(&first, ["https://x.example/s1.xml", "https://x.example/s2.xml"]), 2);
        let order: Vec<(String, u32)> =
            std::iter::from_fn(|| walk.next()).map(|v| (v.url, v.depth)).collect();
        assert_eq!(
            order,
            [
                ("https://x.example/news-sitemap.xml".to_string(), 0),
                ("https://x.example/s1.xml".to_string(), 1),
                ("https://x.example/s2.xml".to_string(), 1)
            ]
        );
    }

    #[test]
    fn children_deeper_than_the_limit_are_not_queued_but_counted() {
        let mut walk = walk(1);
        walk.add_root("https://x.example/root.xml");
        let root = walk.next().unwrap();
        assert_eq!(walk.add_children(&root, ["https://x.example/level1.xml"]), 1);
        let level1 = walk.next().unwrap();
        assert_eq!(level1.depth, 1);
        assert_eq!(walk.add_children(&level1, ["https://x.example/a.xml", "https://x.example/b.xml"]), 0);
        assert_eq!(walk.skipped_too_deep(), 2);
        assert_eq!(walk.next(), None);
    }

    #[test]
    fn a_depth_limit_of_zero_fetches_only_the_roots() {
        let mut walk = walk(0);
        walk.add_root("https://x.example/index.xml");
        let root = walk.next().unwrap();
        assert_eq!(walk.add_children(&root, ["https://x.example/child.xml"]), 0);
        assert_eq!(walk.pending(), 0);
    }

    #[test]
    fn a_sitemap_listing_itself_or_a_cycle_is_visited_once() {
        let mut walk = walk(10);
        walk.add_root("https://x.example/a.xml");
        let a = walk.next().unwrap();
        assert_eq!(walk.add_children(&a, ["https://x.example/a.xml", "https://x.example/b.xml#frag"]), 1);
        let b = walk.next().unwrap();
        assert_eq!(b.url, "https://x.example/b.xml");
        assert_eq!(walk.add_children(&b, ["https://x.example/a.xml", "https://x.example/b.xml"]), 0);
        assert_eq!(walk.next(), None);
        assert!(!walk.add_root("https://x.example/a.xml"));
    }

    #[test]
    fn invalid_and_non_http_sitemap_urls_are_refused() {
        let mut walk = walk(3);
        assert!(!walk.add_root("/relative.xml"));
        assert!(!walk.add_root("ftp://x.example/s.xml"));
        assert!(!walk.add_root(""));
        assert_eq!(walk.pending(), 0);
    }
}
