//! Character references: `&amp;`, `&#8217;`, `&#x2019;` and the legacy names without `;` (`&copy`), with
//! the WHATWG table of 2,231 names (`htmlize::ENTITIES`).

use std::borrow::Cow;

/// `text` with its character references decoded (borrowed when it has none).
pub fn decode_entities(text: &str, in_attribute: bool) -> Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    decode_entities_into(&mut out, text, in_attribute);
    out.into()
}

/// Decodes character references (`&amp;`, `&#8217;`, `&#x2019;`, legacy `&copy` without `;`) into `out`.
/// In attribute values a legacy name followed by a letter, digit or `=` is left alone, as browsers do
/// (`?a=1&copy=2` is a URL, not a copyright sign).
pub fn decode_entities_into(out: &mut String, text: &str, in_attribute: bool) {
    let bytes = text.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'&', &bytes[i..]) {
        let amp = i + p;
        i = amp + 1;
        let Some((decoded, consumed)) = entity_at(&text[amp..], in_attribute) else { continue };
        out.push_str(&text[last..amp]);
        out.push_str(decoded.as_str());
        i = amp + 1 + consumed;
        last = i;
    }
    out.push_str(&text[last..]);
}

/// A decoded reference: at most two characters.
struct Decoded {
    buf: [u8; 8],
    len: usize,
}

impl Decoded {
    fn new(chars: &[char]) -> Self {
        let mut d = Decoded { buf: [0; 8], len: 0 };
        for c in chars {
            let s = c.encode_utf8(&mut d.buf[d.len..]);
            d.len += s.len();
        }
        d
    }

    fn from_bytes(s: &[u8]) -> Self {
        let mut d = Decoded { buf: [0; 8], len: s.len().min(8) };
        d.buf[..d.len].copy_from_slice(&s[..d.len]);
        d
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

fn numeric_char(code: u32) -> char {
    // The spec's replacements: NUL, surrogates and out-of-range to U+FFFD; C1 controls as windows-1252.
    const C1: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
        0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
        0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let code = if (0x80..0xA0).contains(&code) { C1[(code - 0x80) as usize] } else { code };
    if code == 0 {
        return '\u{FFFD}';
    }
    char::from_u32(code).unwrap_or('\u{FFFD}')
}

/// The named reference `key` (with its `&`, and its `;` if any) in the WHATWG table.
fn named(key: &str) -> Option<Decoded> {
    htmlize::ENTITIES.get(key.as_bytes()).map(|v| Decoded::from_bytes(v))
}

/// The reference at the start of `at` (which begins with `&`): what it decodes to and how many bytes
/// after the `&` it used.
fn entity_at(at: &str, in_attribute: bool) -> Option<(Decoded, usize)> {
    let rest = &at[1..];
    let b = rest.as_bytes();
    if b.first() == Some(&b'#') {
        let (hex, start) = if matches!(b.get(1), Some(b'x' | b'X')) { (true, 2) } else { (false, 1) };
        let digits = b[start..]
            .iter()
            .take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() })
            .count();
        if digits == 0 {
            return None;
        }
        let code = u32::from_str_radix(&rest[start..start + digits.min(8)], if hex { 16 } else { 10 })
            .unwrap_or(0x110000);
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((Decoded::new(&[numeric_char(code)]), used));
    }
    let name_len = b.iter().take(32).take_while(|c| c.is_ascii_alphanumeric()).count();
    if name_len == 0 {
        return None;
    }
    if b.get(name_len) == Some(&b';')
        && let Some(decoded) = named(&at[..name_len + 2])
    {
        return Some((decoded, name_len + 1));
    }
    // Legacy references without `;`: the longest known prefix.
    for len in (2..=name_len.min(8)).rev() {
        if let Some(decoded) = named(&at[..len + 1]) {
            let next = b.get(len).copied();
            if in_attribute && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == b'=') {
                return None;
            }
            return Some((decoded, len));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is the one html5ever has (which extraction used before): the same 2,231 names, the 106
    /// legacy ones without `;` among them, each decoding to the same characters.
    #[test]
    fn the_entity_table_is_html5evers() {
        let mut theirs = 0;
        for (name, &(c1, c2)) in html5ever::data::NAMED_ENTITIES.entries() {
            if c1 == 0 {
                continue; // html5ever also lists every prefix of a name, with no characters
            }
            theirs += 1;
            let expected: String = [c1, c2]
                .into_iter()
                .filter(|&c| c != 0)
                .map(|c| char::from_u32(c).expect("a scalar value"))
                .collect();
            let ours = htmlize::ENTITIES.get(format!("&{name}").as_bytes()).copied();
            assert_eq!(ours, Some(expected.as_bytes()), "&{name}");
        }
        assert_eq!(theirs, 2231);
        assert_eq!(htmlize::ENTITIES.len(), 2231);
        assert_eq!(htmlize::ENTITIES.keys().filter(|k| !k.ends_with(b";")).count(), 106);
    }

    #[test]
    fn every_decoded_reference_fits_the_buffer() {
        assert!(htmlize::ENTITIES.values().all(|v| v.len() <= 8));
    }

    #[test]
    fn references_decode_in_text_and_attributes() {
        let text =
            "caf&eacute; &#8217;x&#x2019; &copy 2020 &nosuch; &amp &#0; &#x110000; &#150; &notit; &notin;";
        assert_eq!(decode_entities(text, false), "café ’x’ © 2020 &nosuch; & \u{FFFD} \u{FFFD} – ¬it; ∉");
        assert_eq!(decode_entities("/x?a=1&copy=2&amp;b=3&copyx", true), "/x?a=1&copy=2&b=3&copyx");
        assert_eq!(decode_entities("a&b", true), "a&b");
        assert!(matches!(decode_entities("plain", false), Cow::Borrowed("plain")));
    }
}
