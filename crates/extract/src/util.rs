//! Small text helpers shared by the rooms of the crate.

pub(crate) fn absolutize(base: &str, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with("data:") || href.starts_with("javascript:") {
        return None;
    }
    match url::Url::parse(base) {
        Ok(base) => base.join(href).ok().map(|u| u.to_string()),
        Err(_) => url::Url::parse(href).ok().map(|u| u.to_string()),
    }
}

pub(crate) fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}
