//! Fingerprints of the body text: an exact-duplicate hash and a near-duplicate SimHash.

use sha2::{Digest, Sha256};

/// The text as compared for duplicates: lower-cased, whitespace runs collapsed to one space, trimmed.
/// Two copies of an article that differ only in layout or case hash the same.
pub(crate) fn normalize(text: &str) -> String {
    // One lower-casing of the whole text (std has an ASCII fast path), then the whitespace.
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Hex SHA-256 of [`normalize`]d text.
pub(crate) fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(normalize(text).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// 64-bit SimHash over word 3-shingles (single words for very short texts). Near-identical texts differ in
/// few bits; compare with `(a ^ b).count_ones()`.
pub(crate) fn simhash(text: &str) -> u64 {
    let lower = text.to_lowercase();
    let words: Vec<u64> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for &b in w.as_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h
        })
        .collect();
    let mut counts = [0i32; 64];
    let mut add = |h: u64| {
        for (bit, count) in counts.iter_mut().enumerate() {
            *count += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    };
    if words.len() < 3 {
        words.iter().for_each(|&w| add(mix(w)));
    } else {
        for window in words.windows(3) {
            add(mix(window[0] ^ window[1].rotate_left(21) ^ window[2].rotate_left(42)));
        }
    }
    counts.iter().enumerate().filter(|(_, c)| **c > 0).fold(0u64, |acc, (bit, _)| acc | 1 << bit)
}

/// A finaliser (from MurmurHash3) so that similar inputs spread over all 64 bits.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_case_and_whitespace_layout() {
        assert_eq!(content_hash("Hello   World\n\nAgain"), content_hash("hello world again"));
        assert_ne!(content_hash("hello world"), content_hash("hello there"));
        assert_eq!(content_hash("").len(), 64);
    }

    #[test]
    fn near_duplicates_have_close_simhashes_and_different_texts_do_not() {
        let a = "The president of Kyrgyzstan has advised election authorities to investigate the results of a \
                 disputed parliament race that has stoked chaotic unrest in the capital of Bishkek, where \
                 protesters stormed government headquarters on Monday night after the vote.";
        let b = a.replace("Monday", "Tuesday");
        let c = "Oil prices jumped as a hurricane shut most of the output in the Gulf of Mexico, traders said, \
                 while stocks fell on worries about the economy and a stronger dollar weighed on commodities.";
        let near = (simhash(a) ^ simhash(&b)).count_ones();
        let far = (simhash(a) ^ simhash(c)).count_ones();
        assert!(near < 16, "near duplicates differ in {near} bits");
        assert!(far > near + 8, "different texts differ in {far} bits, near ones in {near}");
    }
}
