//! Whether a page is an article at all: home pages, listings, tag pages, search results, error pages and
//! video-only pages are skipped with that reason.

use crate::content::Body;
use crate::metadata::Metadata;

/// The kind of non-article page this is, if it is one.
pub(crate) fn not_an_article(url: &str, meta: &Metadata, body: &Body) -> Option<&'static str> {
    let parsed = url::Url::parse(url).ok();
    let path = parsed.as_ref().map(|u| u.path().to_ascii_lowercase()).unwrap_or_default();
    let query = parsed.as_ref().and_then(|u| u.query().map(str::to_ascii_lowercase)).unwrap_or_default();
    let declared = meta.declared_type.as_deref().unwrap_or("");
    let declared_article = crate::metadata::json_ld::is_article_type(declared) || declared == "article";
    let chars = body.text.chars().count();
    let title = meta.article.title.as_deref().unwrap_or("").to_lowercase();
    let html_title = meta.html_title.as_deref().unwrap_or("").to_lowercase();

    if chars < 1200 && (error_title(&title) || error_title(&html_title)) {
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
    if weak_body && link_heavy && little_prose && meta.article.published_at.is_none() {
        return Some("listing page");
    }
    None
}

/// Whether a (lower-case) title says the page is an error: "page not found", "server error"..., or a "404"
/// that is the title's point ("404", "Error 404", "404 | Site"), not a number in a headline ("plan number 404
/// for the river district", "plan number 8404").
fn error_title(title: &str) -> bool {
    let phrases = ["page not found", "not found", "error 500", "server error", "page unavailable"];
    if phrases.iter().any(|p| contains_words(title, p)) {
        return true;
    }
    contains_words(title, "404")
        && (["error", "page", "oops", "missing"].iter().any(|w| contains_words(title, w))
            || title
                .split(['|', '-', '\u{2013}', '\u{2014}', ':', '\u{b7}'])
                .any(|part| part.trim() == "404"))
}

/// Whether `phrase` occurs in `text` as whole words: "404" in "error 404 - not found" but not in "plan number
/// 8404" or "4049 homes" (a short article with such a title is not an error page).
fn contains_words(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
