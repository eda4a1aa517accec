//! Message bodies compressed on the wire (AMQP `content-encoding: gzip`). Pages are large and compress
//! several times over; the broker stores and copies fewer bytes. The consume loop decodes before the handler
//! sees a message, so handlers only ever see plain bytes.

use std::io::{Read, Write};

/// The largest body a compressed message may decode to: above every page limit, below anything that could
/// exhaust a worker's memory (a gzip bomb in a message stops here).
pub const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;

/// Gzip at the fastest level: most of the gain for little CPU.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

/// Decodes a body by its content encoding; the error says why it cannot be.
pub fn decode(bytes: &[u8], content_encoding: Option<&str>) -> Result<Vec<u8>, String> {
    match content_encoding {
        None | Some("") | Some("identity") => Ok(bytes.to_vec()),
        Some("gzip") => {
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .take(MAX_DECODED_BYTES + 1)
                .read_to_end(&mut decoded)
                .map_err(|e| format!("undecodable gzip body: {e}"))?;
            if decoded.len() as u64 > MAX_DECODED_BYTES {
                return Err(format!("gzip body decodes to more than {MAX_DECODED_BYTES} bytes"));
            }
            Ok(decoded)
        }
        Some(other) => Err(format!("unknown content-encoding {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gzipped_body_decodes_to_the_original_bytes() {
        let page = b"<html>\n\x00\xff".repeat(1000);
        let encoded = gzip(&page);
        assert!(encoded.len() < page.len() / 10, "{} bytes", encoded.len());
        assert_eq!(decode(&encoded, Some("gzip")).unwrap(), page);
        assert_eq!(decode(&page, None).unwrap(), page);
    }

    #[test]
    fn bad_gzip_a_bomb_and_unknown_encodings_are_refused_with_a_reason() {
        assert!(decode(b"\x1f\x8b not gzip", Some("gzip")).unwrap_err().starts_with("undecodable gzip body"));
        let bomb = gzip(&vec![0u8; (MAX_DECODED_BYTES + 1) as usize]);
        assert!(decode(&bomb, Some("gzip")).unwrap_err().contains("more than"));
        assert_eq!(decode(b"x", Some("br")).unwrap_err(), "unknown content-encoding \"br\"");
    }
}
