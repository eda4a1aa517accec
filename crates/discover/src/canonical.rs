//! URL canonicalisation: one spelling per article, so that the same article submitted twice (through a feed,
//! a sitemap, a share link with tracking parameters...) is recognised as already seen.
//!
//! The rules, in order: the input is trimmed and parsed (WHATWG URL rules, the `url` crate); only `http` and
//! `https` with a host are accepted; scheme and host are lower-cased, an internationalised host is turned
//! into punycode, the default port is removed and `.`/`..` path segments are resolved (all by the `url`
//! crate); the fragment is removed; tracking parameters are removed; the remaining query parameters are
//! sorted stably by key (parameters with the same key keep their relative order, as their order may
//! matter to the site); an empty query (a trailing `?`) is dropped. The path keeps its case and a
//! parameter's value keeps its exact encoding.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::excerpt;

/// A URL in canonical form next to the URL it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canonical {
    /// The canonical URL: the key for de-duplication.
    pub url: String,
    /// The URL as it was submitted or found (trimmed of surrounding whitespace).
    pub original: String,
}

/// Why a URL has no canonical form. Each variant names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The input is not a URL at all.
    #[error("invalid URL {input:?}: {reason}")]
    Invalid {
        /// The input (trimmed; an excerpt when long).
        input: String,
        /// The URL parser's message.
        reason: String,
    },
    /// The URL's scheme is not http or https.
    #[error("unsupported URL scheme {scheme:?} in {input:?}: only http and https are fetched")]
    UnsupportedScheme {
        /// The input (trimmed; an excerpt when long).
        input: String,
        /// Its scheme.
        scheme: String,
    },
    /// The URL has no host (for example `http:///path`).
    #[error("URL {input:?} has no host")]
    MissingHost {
        /// The input (trimmed; an excerpt when long).
        input: String,
    },
}

/// Canonicalisation settings (a settings section, `canonical`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanonicalSettings {
    /// Query parameters removed from every URL, compared without regard to ASCII case; a name ending in `*`
    /// removes every parameter starting with what precedes it (`utm_*`). Default: the common click and
    /// campaign trackers (`utm_*`, `fbclid`, `gclid`, `mc_cid`, ...).
    pub tracking_parameters: Vec<String>,
}

/// The tracking parameters removed by default.
pub const DEFAULT_TRACKING_PARAMETERS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "gclsrc",
    "gbraid",
    "wbraid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ref_src",
    "ref_url",
    "cmpid",
    "ncid",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "srsltid",
    "sr_share",
    "__twitter_impression",
];

impl Default for CanonicalSettings {
    fn default() -> Self {
        Self { tracking_parameters: DEFAULT_TRACKING_PARAMETERS.iter().map(|p| p.to_string()).collect() }
    }
}

impl CanonicalSettings {
    /// Whether a (decoded) query parameter name is a tracking parameter.
    pub fn is_tracking_parameter(&self, name: &str) -> bool {
        self.tracking_parameters.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => {
                name.len() >= prefix.len()
                    && name.is_char_boundary(prefix.len())
                    && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            }
            None => name.eq_ignore_ascii_case(pattern),
        })
    }
}

/// Canonicalises `url` (see the module documentation for the rules).
pub fn canonicalize(url: &str, settings: &CanonicalSettings) -> Result<Canonical, CanonicalError> {
    let original = url.trim();
    let mut parsed = Url::parse(original)
        .map_err(|e| CanonicalError::Invalid { input: excerpt(original), reason: e.to_string() })?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(CanonicalError::UnsupportedScheme {
                input: excerpt(original),
                scheme: excerpt(other),
            });
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(CanonicalError::MissingHost { input: excerpt(original) });
    }
    parsed.set_fragment(None);

    let path = normalize_percent_encoding(parsed.path());
    if path != parsed.path() {
        parsed.set_path(&path);
    }
    let query = parsed.query().map(|q| canonical_query(q, settings));
    match query {
        Some(q) if !q.is_empty() => parsed.set_query(Some(&q)),
        _ => parsed.set_query(None),
    }
    Ok(Canonical { url: parsed.into(), original: original.to_string() })
}

/// The query without tracking parameters and empty pieces, sorted stably by decoded key. Each kept
/// parameter keeps its text, but for [`normalize_percent_encoding`].
fn canonical_query(query: &str, settings: &CanonicalSettings) -> String {
    let mut kept: Vec<(String, &str)> = query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let raw_key = piece.split_once('=').map_or(piece, |(k, _)| k);
            (decode_component(raw_key), piece)
        })
        .filter(|(key, _)| !settings.is_tracking_parameter(key))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter().map(|(_, piece)| normalize_percent_encoding(piece)).collect::<Vec<_>>().join("&")
}

/// RFC 3986 §6.2.2 normalisation that never changes what a URL means: percent-encoded unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) are decoded and the hex digits of the other escapes upper-cased
/// (`%7e` → `~`, `%c3%a9` → `%C3%A9`). Everything else, reserved escapes like `%2F` included, is kept.
fn normalize_percent_encoding(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            let byte = hi * 16 + lo;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push(bytes[i + 1].to_ascii_uppercase() as char);
                out.push(bytes[i + 2].to_ascii_uppercase() as char);
            }
            i += 3;
            continue;
        }
        // Copy the whole (possibly multi-byte) character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|v| v as u8)
}

/// `application/x-www-form-urlencoded` decoding of one key (`+` is a space, `%XX` a byte).
fn decode_component(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes()).next().map(|(k, _)| k.into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(url: &str) -> String {
        canonicalize(url, &CanonicalSettings::default()).unwrap().url
    }

    #[test]
    fn scheme_and_host_are_lower_cased_but_the_path_keeps_its_case() {
        assert_eq!(canon("HTTPS://News.Example.COM/World/Story-A"), "https://news.example.com/World/Story-A");
    }

    #[test]
    fn the_original_url_is_kept_beside_the_canonical_one() {
        let c = canonicalize("  https://Example.com/a?utm_source=x#top \n", &CanonicalSettings::default())
            .unwrap();
        assert_eq!(c.url, "https://example.com/a");
        assert_eq!(c.original, "https://Example.com/a?utm_source=x#top");
    }

    #[test]
    fn internationalised_hosts_become_punycode() {
        assert_eq!(canon("https://Bücher.example/straße"), "https://xn--bcher-kva.example/stra%C3%9Fe");
        assert_eq!(canon("http://例え.テスト/"), "http://xn--r8jz45g.xn--zckzah/");
    }

    #[test]
    fn default_ports_are_removed_and_other_ports_kept() {
        assert_eq!(canon("http://example.com:80/a"), "http://example.com/a");
        assert_eq!(canon("https://example.com:443/a"), "https://example.com/a");
        assert_eq!(canon("https://example.com:8443/a"), "https://example.com:8443/a");
        assert_eq!(canon("http://example.com:443/a"), "http://example.com:443/a");
    }

    #[test]
    fn the_fragment_is_removed() {
        assert_eq!(canon("https://example.com/a#comments"), "https://example.com/a");
        assert_eq!(canon("https://example.com/a?b=1#"), "https://example.com/a?b=1");
    }

    #[test]
    fn tracking_parameters_are_removed_and_the_rest_sorted() {
        assert_eq!(
            canon("https://example.com/a?z=1&utm_source=tw&fbclid=abc&id=7&utm_medium=social&gclid=x&b=2"),
            "https://example.com/a?b=2&id=7&z=1"
        );
    }

    #[test]
    fn every_default_tracking_parameter_is_removed() {
        for name in DEFAULT_TRACKING_PARAMETERS {
            let name = name.replace('*', "campaign");
            let url = format!("https://example.com/a?keep=1&{name}=v");
            assert_eq!(canon(&url), "https://example.com/a?keep=1", "{name} was not removed");
        }
    }

    #[test]
    fn tracking_parameter_names_match_without_regard_to_case() {
        assert_eq!(canon("https://example.com/a?UTM_Source=x&FBCLID=y&q=1"), "https://example.com/a?q=1");
    }

    #[test]
    fn a_wildcard_matches_only_names_with_that_prefix() {
        let settings = CanonicalSettings { tracking_parameters: vec!["utm_*".into()] };
        assert!(settings.is_tracking_parameter("utm_"));
        assert!(settings.is_tracking_parameter("utm_content"));
        assert!(!settings.is_tracking_parameter("utm"));
        assert!(!settings.is_tracking_parameter("xutm_source"));
        assert!(!settings.is_tracking_parameter("fbclid"));
    }

    #[test]
    fn a_percent_encoded_tracking_parameter_name_is_still_recognised() {
        assert_eq!(canon("https://example.com/a?utm%5Fsource=x&q=1"), "https://example.com/a?q=1");
    }

    #[test]
    fn parameters_with_the_same_key_keep_their_relative_order() {
        assert_eq!(
            canon("https://example.com/a?tag=z&b=1&tag=a&tag=m"),
            "https://example.com/a?b=1&tag=z&tag=a&tag=m"
        );
    }

    #[test]
    fn parameter_values_keep_their_exact_encoding() {
        assert_eq!(canon("https://example.com/s?q=a+b%20c&a=%2F"), "https://example.com/s?a=%2F&q=a+b%20c");
    }

    #[test]
    fn an_empty_query_and_a_trailing_question_mark_are_dropped() {
        assert_eq!(canon("https://example.com/a?"), "https://example.com/a");
        assert_eq!(canon("https://example.com/a?&&"), "https://example.com/a");
        assert_eq!(canon("https://example.com/a?utm_source=x&utm_medium=y"), "https://example.com/a");
    }

    #[test]
    fn percent_escapes_of_unreserved_characters_are_decoded_and_the_others_upper_cased() {
        assert_eq!(canon("https://example.com/%7euser/caf%c3%a9"), "https://example.com/~user/caf%C3%A9");
        assert_eq!(canon("https://example.com/a%2fb%2Fc"), "https://example.com/a%2Fb%2Fc");
        assert_eq!(canon("https://example.com/s?q=%41%2b%2B&x=%7E"), "https://example.com/s?q=A%2B%2B&x=~");
        assert_eq!(
            canon("https://example.com/%7Euser"),
            canon("https://example.com/~user"),
            "both spellings are one article"
        );
    }

    #[test]
    fn a_stray_percent_sign_is_kept() {
        assert_eq!(canon("https://example.com/100%25/50%"), "https://example.com/100%25/50%");
        assert_eq!(canon("https://example.com/a?p=5%&q=%zz"), "https://example.com/a?p=5%&q=%zz");
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert_eq!(canon("https://example.com/a/./b/../c"), "https://example.com/a/c");
        assert_eq!(canon("https://example.com/../../a"), "https://example.com/a");
    }

    #[test]
    fn an_empty_path_becomes_a_slash() {
        assert_eq!(canon("https://Example.com"), "https://example.com/");
    }

    #[test]
    fn canonicalisation_is_idempotent() {
        for url in [
            "HTTPS://News.Example.COM:443/World/./x/../Story?b=2&utm_source=x&a=1#frag",
            "http://Bücher.example/?q=a+b",
            "https://example.com/a?tag=z&tag=a",
            "https://example.com/%7euser/caf%c3%a9?q=%c3%a9&utm_id=1",
        ] {
            let once = canon(url);
            assert_eq!(canon(&once), once);
        }
    }

    #[test]
    fn custom_settings_replace_the_default_list() {
        let settings = CanonicalSettings { tracking_parameters: vec!["session".into()] };
        let c = canonicalize("https://example.com/a?session=1&utm_source=x", &settings).unwrap();
        assert_eq!(c.url, "https://example.com/a?utm_source=x");
    }

    #[test]
    fn settings_deserialise_with_defaults_and_reject_unknown_fields() {
        let empty: CanonicalSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, CanonicalSettings::default());
        let custom: CanonicalSettings = serde_json::from_str(r#"{"tracking_parameters": ["x"]}"#).unwrap();
        assert_eq!(custom.tracking_parameters, vec!["x".to_string()]);
        assert!(serde_json::from_str::<CanonicalSettings>(r#"{"tracking": []}"#).is_err());
    }

    #[test]
    fn only_http_and_https_are_accepted_and_the_error_names_the_input() {
        let err = canonicalize("ftp://example.com/file", &CanonicalSettings::default()).unwrap_err();
        assert_eq!(
            err,
            CanonicalError::UnsupportedScheme {
                input: "ftp://example.com/file".into(),
                scheme: "ftp".into()
            }
        );
        assert!(err.to_string().contains("ftp://example.com/file"));
        for url in ["javascript:alert(1)", "file:///etc/passwd", "mailto:a@example.com", "data:text/plain,x"]
        {
            assert!(
                matches!(
                    canonicalize(url, &CanonicalSettings::default()),
                    Err(CanonicalError::UnsupportedScheme { .. })
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn a_relative_or_garbage_url_is_invalid_and_the_error_names_it() {
        for input in ["/just/a/path", "not a url", "", "http://", "https://exa mple.com/"] {
            let err = canonicalize(input, &CanonicalSettings::default()).unwrap_err();
            assert!(
                matches!(err, CanonicalError::Invalid { .. } | CanonicalError::MissingHost { .. }),
                "{input}"
            );
            assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn a_huge_input_is_named_by_an_excerpt_in_the_error() {
        let input = format!("ftp://example.com/{}", "a".repeat(100_000));
        let err = canonicalize(&input, &CanonicalSettings::default()).unwrap_err();
        assert!(err.to_string().len() < 1_000);
        assert!(err.to_string().contains("ftp://example.com/aaa"));
    }

    #[test]
    fn ip_address_hosts_are_normalised() {
        assert_eq!(canon("http://0x7f.1/"), "http://127.0.0.1/");
        assert_eq!(canon("http://[0:0:0:0:0:0:0:1]:80/"), "http://[::1]/");
    }
}
