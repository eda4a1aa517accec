//! The headline: chosen among JSON-LD, Open Graph, `<h1>` and `<title>`, with the site name cut off.

use crate::dom::{Document, Tag};
use crate::util::html_unescape;

use super::Metas;
use super::json_ld::JsonLd;

/// Lower-cased word characters only: how titles are compared.
pub(crate) fn title_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

const TITLE_SEPARATORS: &[&str] =
    &[" | ", " - ", " – ", " — ", " :: ", " · ", " • ", " » ", " « ", " / ", " : ", " ~ "];

/// Drops a " - Site Name" suffix (or "Site Name | " prefix) from a title.
pub(crate) fn strip_site_suffix(title: &str, site_name: Option<&str>, host: Option<&str>) -> String {
    let title = title.trim();
    let site_key = site_name.map(title_key).unwrap_or_default();
    let host_key = host
        .map(|h| title_key(h.trim_start_matches("www.").split('.').next().unwrap_or("")))
        .unwrap_or_default();
    let is_site = |part: &str| {
        let k = title_key(part);
        !k.is_empty()
            && ((!site_key.is_empty() && (k == site_key || site_key.contains(&k) || k.contains(&site_key)))
                || (!host_key.is_empty() && (k == host_key || k.contains(&host_key))))
    };
    for sep in TITLE_SEPARATORS {
        if let Some((head, tail)) = title.rsplit_once(sep)
            && is_site(tail)
            && !head.trim().is_empty()
        {
            return strip_site_suffix(head, site_name, host);
        }
        if let Some((head, tail)) = title.split_once(sep)
            && is_site(head)
            && !tail.trim().is_empty()
        {
            return tail.trim().to_string();
        }
    }
    // An unknown suffix: only the strong separators, and only if what is left still reads like a headline.
    for sep in [" | ", " - ", " – ", " — ", " :: ", " » "] {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let head_words = head.split_whitespace().count();
            let tail_words = tail.split_whitespace().count();
            if tail_words <= 4 && head_words >= 3 && head_words > tail_words {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}

pub(super) fn choose_title(
    doc: &Document,
    ld: &JsonLd,
    metas: &Metas,
    html_title: Option<&str>,
    site: Option<&str>,
    host: Option<&str>,
) -> Option<String> {
    let meta_titles: Vec<String> = [
        ld.headline.clone(),
        metas.first(&["og:title"]).map(str::to_string),
        metas
            .first(&["twitter:title", "parsely-title", "sailthru.title", "dc.title", "headline"])
            .map(str::to_string),
        html_title.map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .map(|t| html_unescape(&t))
    .collect();
    // The page's visible headline wins when it agrees with what the metadata says.
    let keys: Vec<String> = meta_titles.iter().map(|t| title_key(t)).collect();
    let mut first_h1 = None;
    for (id, e) in doc.elements() {
        if !matches!(e.tag, Tag::H(1) | Tag::H(2)) {
            continue;
        }
        let text = doc.text(id);
        let key = title_key(&text);
        if key.len() < 4 {
            continue;
        }
        if e.tag == Tag::H(1) && first_h1.is_none() {
            first_h1 = Some(text.clone());
        }
        if keys.iter().any(|k| *k == key || (k.contains(&key) && key.len() * 10 >= k.len() * 4)) {
            return Some(text);
        }
    }
    if let Some(t) = meta_titles.first() {
        let stripped = strip_site_suffix(t, site, host);
        if !stripped.is_empty() {
            return Some(stripped);
        }
    }
    first_h1.or_else(|| meta_titles.first().cloned())
}
