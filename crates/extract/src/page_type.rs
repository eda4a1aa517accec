//! Whether a page is an article at all: home pages, listings, tag pages, search results, error pages and
//! video-only pages are skipped with that reason.

use crate::content::Body;
use crate::metadata::Metadata;

/// The kind of non-article page this is, if it is one.
pub fn not_an_article(url: &str, meta: &Metadata, body: &Body) -> Option<&'static str> {
    let parsed = url::Url::parse(url).ok();
    let path = parsed.as_ref().map(|u| u.path().to_ascii_lowercase()).unwrap_or_default();
    let query = parsed.as_ref().and_then(|u| u.query().map(str::to_ascii_lowercase)).unwrap_or_default();
    let declared = meta.declared_type.as_deref().unwrap_or("");
    let declared_article = crate::metadata::is_article_type(declared) || declared == "article";
    let chars = body.text.chars().count();
    let title = meta.title.as_deref().unwrap_or("").to_lowercase();
    let html_title = meta.html_title.as_deref().unwrap_or("").to_lowercase();

    let error_title = ["404", "page not found", "not found", "error 500", "server error", "page unavailable"];
    if chars < 1200 && error_title.iter().any(|e| title.contains(e) || html_title.contains(e)) {
        return Some("error page");
    }
    // A page that says what it is: the publisher knows best.
    let weak_body = chars < 500 || body.blocks < 2;
    // Listings and home pages are mostly links: little prose for each link on the page.
    let link_heavy = body.page_links > 40 && body.page_prose_chars < body.page_links * 40;
    if declared == "searchresultspage"
        || (path.contains("/search")
            || query.starts_with("q=")
            || query.contains("&q=")
            || query.starts_with("s="))
            && !declared_article
            && weak_body
    {
        return Some("search page");
    }
    if declared == "videoobject" && chars < 400 {
        return Some("video page");
    }
    if declared_article {
        return None;
    }
    let is_root = matches!(path.as_str(), "" | "/" | "/index.html" | "/index.htm" | "/index.php" | "/home");
    // Listings have little prose anywhere, not only in the part taken for the body.
    let little_prose = body.page_prose_chars < 1500;
    if is_root && weak_body && link_heavy {
        return Some("home page");
    }
    let tag_path =
        ["/tag/", "/tags/", "/topic/", "/topics/", "/category/", "/categories/", "/author/", "/authors/"];
    let listing_declared = matches!(declared, "collectionpage" | "itemlist" | "profilepage");
    if tag_path.iter().any(|t| path.contains(t)) && (weak_body || link_heavy || listing_declared) {
        return Some("tag page");
    }
    if listing_declared && (weak_body || link_heavy) {
        return Some("listing page");
    }
    if weak_body && link_heavy && little_prose && meta.published_at.is_none() {
        return Some("listing page");
    }
    None
}
