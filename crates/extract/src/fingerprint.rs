//! Fingerprints of the body text: an exact-duplicate hash and a near-duplicate SimHash.

use sha2::{Digest, Sha256};

/// The text as compared for duplicates: lower-cased, whitespace runs collapsed to one space, trimmed.
/// Two copies of an article that differ only in layout or case hash the same.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Hex SHA-256 of [`normalize`]d text.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(normalize(text).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix so that similar shingles spread over all 64 bits.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// 64-bit SimHash over word 3-shingles (single words for very short texts). Near-identical texts differ in
/// few bits; compare with `(a ^ b).count_ones()`.
pub fn simhash(text: &str) -> u64 {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let mut counts = [0i32; 64];
    let mut add = |h: u64| {
        for (bit, count) in counts.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *count += 1;
            } else {
                *count -= 1;
            }
        }
    };
    if words.len() < 3 {
        words.iter().for_each(|w| add(fnv1a(w.as_bytes(), 0)));
    } else {
        for window in words.windows(3) {
            let mut h = fnv1a(window[0].as_bytes(), 0);
            h = fnv1a(window[1].as_bytes(), h);
            h = fnv1a(window[2].as_bytes(), h);
            add(h);
        }
    }
    counts.iter().enumerate().filter(|(_, c)| **c > 0).fold(0u64, |acc, (bit, _)| acc | 1 << bit)
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
