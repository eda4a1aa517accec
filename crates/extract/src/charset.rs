//! Bytes to text: BOM, then the HTTP charset, then `<meta charset>`/`http-equiv`, then detection.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the page to look for a `<meta charset>` (browsers look at 1024 bytes; real pages put
/// long `<script>` blocks first, so we look further).
const META_PRESCAN: usize = 8 * 1024;

/// The encoding chosen for a page and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Bom,
    Http,
    Meta,
    Detected,
}

/// Decodes a page to UTF-8 text. Invalid sequences become U+FFFD; nothing panics.
pub fn decode<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    url: &str,
) -> (Cow<'a, str>, &'static Encoding, Source) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        let (text, _) = encoding.decode_without_bom_handling(&body[bom_len..]);
        return (text, encoding, Source::Bom);
    }
    if let Some(encoding) = content_type.and_then(charset_param).and_then(label_to_encoding) {
        if is_misdeclared_utf8(encoding, body) {
            return (decode_with(UTF_8, body), UTF_8, Source::Detected);
        }
        return (decode_with(encoding, body), encoding, Source::Http);
    }
    if let Some(encoding) = prescan_meta(&body[..body.len().min(META_PRESCAN)]) {
        if is_misdeclared_utf8(encoding, body) {
            return (decode_with(UTF_8, body), UTF_8, Source::Detected);
        }
        return (decode_with(encoding, body), encoding, Source::Meta);
    }
    let encoding = detect(body, url);
    (decode_with(encoding, body), encoding, Source::Detected)
}

/// A page declared in a legacy encoding whose bytes are valid UTF-8 with multi-byte sequences is UTF-8:
/// legacy text almost never forms valid UTF-8 by chance, while servers and templates often keep a stale
/// `charset=ISO-8859-1` or `gb2312` after the content moved to UTF-8. Decoding it as declared would be
/// mojibake.
fn is_misdeclared_utf8(declared: &'static Encoding, body: &[u8]) -> bool {
    declared != UTF_8
        && declared.is_ascii_compatible()
        && !body.is_ascii()
        && (std::str::from_utf8(body).is_ok() || valid_utf8_prefix(body))
}

fn decode_with<'a>(encoding: &'static Encoding, body: &'a [u8]) -> Cow<'a, str> {
    encoding.decode_without_bom_handling(body).0
}

/// A `charset=` label to an encoding. A page that says UTF-16 in a meta tag is in fact ASCII-compatible
/// (otherwise the tag could not have been read), so that label means UTF-8, as the HTML spec says.
fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'');
    Encoding::for_label(label.as_bytes())
}

/// The `charset` parameter of a `Content-Type` value.
pub(crate) fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(|c| c == '"' || c == '\''))
    })
}

/// Finds `<meta charset=...>` or `<meta http-equiv="Content-Type" content="...; charset=...">` in the
/// first bytes. Works on bytes, so it runs before any decoding.
fn prescan_meta(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos + 5;
        let end = lower[start..].iter().position(|&b| b == b'>').map_or(lower.len(), |p| start + p);
        let tag = &lower[start..end];
        if let Some(p) = find(tag, b"charset") {
            let mut rest = &tag[p + 7..];
            while let Some((&b, tail)) = rest.split_first() {
                if b == b' ' || b == b'=' || b == b'"' || b == b'\'' {
                    rest = tail;
                } else {
                    break;
                }
            }
            let label_end = rest
                .iter()
                .position(|&b| matches!(b, b'"' | b'\'' | b' ' | b';' | b'/' | b'>'))
                .unwrap_or(rest.len());
            if let Some(encoding) = Encoding::for_label(&rest[..label_end]) {
                // The spec maps a declared UTF-16 to UTF-8 and x-user-defined to windows-1252.
                if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
                    return Some(UTF_8);
                }
                if encoding == encoding_rs::X_USER_DEFINED {
                    return Some(WINDOWS_1252);
                }
                return Some(encoding);
            }
        }
        from = end.min(lower.len());
        if from >= lower.len() {
            break;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Guesses the encoding of undeclared bytes. Valid UTF-8 is taken as such; otherwise chardetng decides,
/// with the URL's top-level domain as a hint (a `.ru` page is more likely windows-1251 than Latin-1).
fn detect(body: &[u8], url: &str) -> &'static Encoding {
    if let Some(utf16) = sniff_utf16(body) {
        return utf16;
    }
    let sample = &body[..body.len().min(64 * 1024)];
    if std::str::from_utf8(sample).is_ok() || valid_utf8_prefix(sample) {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(sample, sample.len() == body.len());
    let tld = url::Url::parse(url).ok().and_then(|u| {
        let host = u.host_str()?.to_string();
        host.rsplit('.').next().map(|t| t.to_ascii_lowercase())
    });
    detector.guess(tld.as_deref().map(str::as_bytes), true)
}

/// A sample cut at an arbitrary byte may end mid-character: valid up to the last few bytes still counts.
fn valid_utf8_prefix(sample: &[u8]) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    }
}

/// UTF-16 without a BOM: many zero bytes in alternate positions of ASCII-heavy markup.
fn sniff_utf16(body: &[u8]) -> Option<&'static Encoding> {
    let sample = &body[..body.len().min(4096) & !1];
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even_zero = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_zero = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    // Text in 8-bit encodings has no NUL bytes; UTF-16 has one in every ASCII character (all the markup),
    // always on the same side of the pair.
    if odd_zero * 10 > pairs && even_zero * 100 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if even_zero * 10 > pairs && odd_zero * 100 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}
